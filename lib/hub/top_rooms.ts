/**
 * Selects the busiest rooms in one pass with a bounded heap: `limit` entries at most are held,
 * whatever the number of rooms, and a room that does not make the cut allocates nothing.
 *
 * @module
 */

/** A room and how many are online in it. */
export interface RoomRank {
  room: string;
  online: number;
}

/** True when (`online`, `room`) ranks above `b`: more online, or as many and an earlier name. */
function above(online: number, room: string, b: RoomRank): boolean {
  return online > b.online || (online === b.online && room < b.room);
}

/** True when `a` ranks below `b`. */
function worse(a: RoomRank, b: RoomRank): boolean {
  return above(b.online, b.room, a);
}

/** Restores the heap (worst entry at the root) after the entry at `i` was replaced. */
function siftDown(heap: RoomRank[], i: number): void {
  const n = heap.length;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) return;
    const right = left + 1;
    const child = right < n && worse(heap[right], heap[left]) ? right : left;
    if (!worse(heap[child], heap[i])) return;
    [heap[i], heap[child]] = [heap[child], heap[i]];
    i = child;
  }
}

/** Restores the heap after an entry was appended at `i`. */
function siftUp(heap: RoomRank[], i: number): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(heap[i], heap[parent])) return;
    [heap[i], heap[parent]] = [heap[parent], heap[i]];
    i = parent;
  }
}

/**
 * The `limit` rooms with the most online, most first, ties by name (ascending). Reads `names`
 * once and calls `online` once per name; holds at most `limit` entries. Names must be distinct.
 *
 * @example
 * ```ts
 * const sizes = new Map([["a", 1], ["b", 3], ["c", 3]]);
 * topRooms(sizes.keys(), (room) => sizes.get(room)!, 2);
 * // [{ room: "b", online: 3 }, { room: "c", online: 3 }]
 * ```
 */
export function topRooms(
  names: Iterable<string>,
  online: (room: string) => number,
  limit: number,
): RoomRank[] {
  const heap: RoomRank[] = [];
  if (limit <= 0) return heap;
  for (const room of names) {
    const count = online(room);
    if (heap.length < limit) {
      heap.push({ room, online: count });
      siftUp(heap, heap.length - 1);
    } else if (above(count, room, heap[0])) {
      heap[0] = { room, online: count };
      siftDown(heap, 0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
