import assert from "node:assert/strict";
import fc from "fast-check";
import { type RoomRank, topRooms } from "../../../routes/api/stats.ts";

/** What the selection must equal: every room sorted, then cut. */
function bruteForce(rooms: RoomRank[], limit: number): RoomRank[] {
  const sorted = [...rooms].sort((a, b) =>
    b.online - a.online || (a.room < b.room ? -1 : a.room > b.room ? 1 : 0)
  );
  return sorted.slice(0, limit).map(({ room, online }) => ({ room, online }));
}

function select(rooms: RoomRank[], limit: number): RoomRank[] {
  const online = new Map(rooms.map((r) => [r.room, r.online]));
  return topRooms(online.keys(), (room) => online.get(room)!, limit);
}

Deno.test("topRooms: most online first, ties by name, cut at the limit", () => {
  const rooms = [
    { room: "c", online: 2 },
    { room: "a", online: 0 },
    { room: "d", online: 5 },
    { room: "b", online: 2 },
    { room: "e", online: 0 },
  ];
  assert.deepEqual(select(rooms, 3), [
    { room: "d", online: 5 },
    { room: "b", online: 2 },
    { room: "c", online: 2 },
  ]);
  assert.deepEqual(select(rooms, 10).map((r) => r.room), ["d", "b", "c", "a", "e"]);
  assert.deepEqual(select(rooms, 0), []);
  assert.deepEqual(select([], 5), []);
});

Deno.test("topRooms: reads each name once and asks its count once", () => {
  const counts = new Map<string, number>();
  const names = Array.from({ length: 500 }, (_, i) => `r${i}`);
  let reads = 0;
  const iterated = {
    *[Symbol.iterator]() {
      for (const name of names) {
        reads++;
        yield name;
      }
    },
  };
  const top = topRooms(iterated, (room) => {
    counts.set(room, (counts.get(room) ?? 0) + 1);
    return Number(room.slice(1)) % 7;
  }, 4);
  assert.equal(reads, 500);
  assert.equal(counts.size, 500);
  assert.ok([...counts.values()].every((n) => n === 1), "one count per room");
  assert.deepEqual(top.map((r) => r.room), ["r104", "r111", "r118", "r125"]);
});

Deno.test("topRooms equals a brute-force sort on random rooms", () => {
  const room = fc.record({
    room: fc.string({ minLength: 1, maxLength: 6 }),
    online: fc.oneof(fc.nat(3), fc.nat(1_000_000)),
  });
  fc.assert(
    fc.property(
      fc.uniqueArray(room, { selector: (r) => r.room, maxLength: 300 }),
      fc.nat(40),
      (rooms, limit) => {
        assert.deepEqual(select(rooms, limit), bruteForce(rooms, limit));
      },
    ),
    { numRuns: 300 },
  );
});
