/**
 * `GET /api/stats`: a JSON snapshot of the server. Its size is bounded: the rooms are a count and
 * the `STATS_TOP_ROOMS` busiest, picked in one pass with a bounded heap ({@linkcode topRooms}):
 * `limit` entries at most are held, whatever the number of rooms, and a room that does not make
 * the cut allocates nothing.
 *
 * @module
 */

import type { Engine } from "../../lib/engine/engine.ts";
import type { Hub } from "../../lib/hub/hub.ts";
import type { Config } from "../../lib/shared/config.ts";

/** One of the busiest rooms: its name, how many are online, its last offset (never its epoch). */
export interface RoomStat {
  room: string;
  online: number;
  offset: number;
}

/** What `/api/stats` reads. */
export interface StatsDeps {
  config: Pick<Config, "statsTopRooms">;
  hub: Hub;
  engine: Engine;
  /** Wall clock in epoch ms, and when the server started on it. */
  now: () => number;
  startedAt: number;
}

/** Shape of the `/api/stats` body. */
export interface Stats {
  uptimeSeconds: number;
  engine: string;
  connections: number;
  /** Rooms this process knows, and the busiest of them (most online first, ties by name). */
  rooms: { count: number; top: RoomStat[] };
  messages: { in: number; out: number };
  frames: { out: number };
  errors: Record<string, number>;
}

/**
 * Collects the stats.
 *
 * @example
 * ```ts
 * collectStats(deps).connections; // 3
 * ```
 */
function collectStats(deps: StatsDeps): Stats {
  const { hub, engine } = deps;
  const online = (room: string) => engine.online(room, hub.localSize(room));
  const top = topRooms(engine.roomNames(), online, deps.config.statsTopRooms).map((r) => ({
    ...r,
    offset: engine.position(r.room)?.offset ?? 0,
  }));
  return {
    uptimeSeconds: Math.round((deps.now() - deps.startedAt) / 1000),
    engine: engine.name,
    connections: hub.size,
    rooms: { count: engine.roomCount(), top },
    messages: { in: hub.metrics.messagesIn, out: hub.metrics.messagesOut },
    frames: { out: hub.metrics.framesOut },
    errors: Object.fromEntries(hub.metrics.rejected),
  };
}

/**
 * Answers `/api/stats`.
 *
 * @example
 * ```ts
 * app.get("/api/stats", () => handleStats(deps));
 * ```
 */
export function handleStats(deps: StatsDeps): Response {
  return Response.json(collectStats(deps), { headers: { "cache-control": "no-store" } });
}

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
