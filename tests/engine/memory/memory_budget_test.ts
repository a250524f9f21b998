/**
 * The memory engine's budgets: the history of one room and of every room in bytes (idle rooms
 * forgotten first, least recently used first, then the largest rooms trimmed to one size), and
 * the number of rooms (an idle room makes way for a new one; none can: `full`).
 */

import assert from "node:assert/strict";
import { MemoryEngine } from "../../../lib/engine/memory/memory_engine.ts";
import { messageCost, RoomLog } from "../../../lib/engine/memory/room_log.ts";
import type { ChatMessage } from "../../../lib/protocol/frames.ts";

/** Text whose message costs exactly `bytes` (see messageCost). */
const sized = (bytes: number) => "x".repeat((bytes - 200) / 2);
const COST = 1000;

function engine(options: Partial<ConstructorParameters<typeof MemoryEngine>[0]> = {}) {
  let epochs = 0;
  const e = new MemoryEngine({
    historySize: 1000,
    dedupTtlMs: 1000,
    roomTtlMs: 60_000,
    now: () => 0,
    newEpoch: () => `e${++epochs}`,
    ...options,
  });
  e.start({ message: () => {} });
  const say = (room: string, n = 1) => {
    for (let i = 0; i < n; i++) {
      e.publish({ room, from: "c", client: null, name: null, text: sized(COST), ref: null });
    }
  };
  const kept = async (room: string) =>
    (await e.recover(room, null, 1000)).history.map((m) => m.offset);
  return { e, say, kept };
}

Deno.test("room log: trimTo drops the oldest messages and keeps counting offsets", () => {
  const log = new RoomLog("e", 10);
  for (let i = 0; i < 5; i++) {
    log.append((offset) => ({ offset, text: sized(COST), name: null } as ChatMessage));
  }
  assert.equal(log.bytes, 5 * COST);
  assert.equal(log.trimTo(3 * COST), 2 * COST);
  assert.deepEqual([log.size, log.oldest, log.offset], [3, 3, 5]);
  assert.equal(log.after(1), null, "a resume from before the trim is no longer recoverable");
  assert.deepEqual(log.after(2)!.map((m) => m.offset), [3, 4, 5]);
  assert.equal(messageCost({ text: "ab", name: "c" }), 2 * 2 + 2 + 200);
});

Deno.test("memory budget: one room's history stays within ROOM_HISTORY_MB", async () => {
  const { e, say, kept } = engine({ roomHistoryBytes: 3 * COST });
  await e.join("r");
  say("r", 5);
  assert.deepEqual(await kept("r"), [3, 4, 5], "exactly three messages fit");
  assert.equal(e.historyBytes, 3 * COST);
});

Deno.test("memory budget: over HISTORY_MEMORY_MB idle rooms go first, least recently used first", async () => {
  const { e, say, kept } = engine({ historyBytes: 10 * COST });
  for (const room of ["old", "newer", "live"]) await e.join(room);
  say("old", 3);
  say("newer", 3);
  say("live", 3);
  e.leave("old");
  e.leave("newer");
  assert.equal(e.historyBytes, 9 * COST, "under the budget: nothing is dropped");
  say("live", 2); // 11 > 10: reclaim down to 90 %, i.e. 9 messages
  assert.equal(e.position("old"), null, "the least recently used idle room is forgotten");
  assert.notEqual(e.position("newer"), null, "the next one was not needed");
  assert.deepEqual(await kept("live"), [1, 2, 3, 4, 5], "a room with members keeps its history");
  assert.equal(e.historyBytes, 8 * COST);
  // The forgotten room comes back with a new epoch, so its next joiner sees recovered:false.
  const back = await e.recover("old", { since: 3, epoch: "e1" }, 10);
  assert.deepEqual([back.recovered, back.epoch === "e1", back.offset], [false, false, 0]);
});

Deno.test("memory budget: without idle rooms the largest rooms are trimmed to one size", async () => {
  const { e, say, kept } = engine({ historyBytes: 20 * COST });
  for (const room of ["big", "mid", "small"]) await e.join(room);
  say("big", 10);
  say("mid", 9);
  say("small", 2); // 21 > 20: free down to 18 (90 %)
  assert.equal(e.historyBytes, 18 * COST);
  assert.deepEqual(await kept("small"), [1, 2], "the smallest room is untouched");
  assert.deepEqual(await kept("big"), [3, 4, 5, 6, 7, 8, 9, 10], "cut to 8, oldest first");
  assert.deepEqual(await kept("mid"), [2, 3, 4, 5, 6, 7, 8, 9], "cut to the same size");
  say("big", 3); // 21 again: only the largest room needs cutting
  assert.deepEqual(await kept("big"), [6, 7, 8, 9, 10, 11, 12, 13], "back to the size of the next");
  assert.equal((await kept("mid")).length, 8);
  const accepted = await e.publish({
    room: "big",
    from: "c",
    client: null,
    name: null,
    text: "still accepted",
    ref: null,
  });
  assert.equal(accepted.status, "accepted", "a live message is never refused for history");
});

Deno.test("memory budget: MAX_ROOMS: an idle room makes way, else the engine is full", async () => {
  const { e } = engine({ maxRooms: 2 });
  await e.join("a");
  await e.join("b");
  assert.equal(e.admission("a"), "known");
  assert.equal(e.admission("c"), "full", "two rooms with members: no room for a third");
  e.leave("a");
  assert.equal(e.admission("c"), "new", "an idle room can make way");
  await e.join("c");
  assert.equal(e.roomCount(), 2);
  assert.equal(e.position("a"), null, "the idle room was forgotten for the new one");
});

Deno.test("memory budget: rooms nobody wrote in are cheap and expire", async () => {
  const { e } = engine({ roomTtlMs: 100, now: () => 0 });
  for (let i = 0; i < 1000; i++) await e.recover(`empty-${i}`, null, 10);
  assert.equal(e.roomCount(), 1000);
  assert.equal(e.historyBytes, 0);
  e.maintain(101);
  assert.equal(e.roomCount(), 0, "idle rooms past ROOM_TTL_MS are forgotten");
});

Deno.test("memory budget: MAX_ROOMS and ROOM_TTL_MS take the room idle the longest, by when it went idle last", async () => {
  let now = 0;
  const { e } = engine({ maxRooms: 3, roomTtlMs: 100, now: () => now });
  for (const name of ["a", "b", "c"]) {
    await e.join(name);
    e.leave(name);
    now += 10;
  }
  await e.join("a"); // a is busy again, then idle again: now the newest idle room
  e.leave("a");
  await e.join("d"); // full: the room idle the longest (b) makes way
  assert.equal(e.position("b"), null, "b was idle the longest");
  assert.notEqual(e.position("a"), null);
  assert.notEqual(e.position("c"), null);
  now = 125; // c went idle at 20, a at 30, d is joined
  e.maintain(now);
  assert.equal(e.position("c"), null, "past ROOM_TTL_MS since it went idle");
  assert.notEqual(e.position("a"), null, "a went idle at 30: 90 ms ago");
  assert.notEqual(e.position("d"), null, "d has a member");
  // Many rooms going idle again and again keep the order right and the engine within MAX_ROOMS.
  for (let i = 0; i < 5000; i++) {
    const name = `r${i % 7}`;
    await e.join(name);
    e.leave(name);
    assert.ok(e.roomCount() <= 3, `rooms ${e.roomCount()} at ${i}`);
  }
  assert.notEqual(e.position("d"), null, "the room with a member stays throughout");
});

Deno.test("memory budget: a room busy while the idle order is made again is still forgotten once idle", async () => {
  let now = 0;
  const { e } = engine({ maxRooms: 5000, roomTtlMs: 100, now: () => now });
  await e.join("busy");
  e.leave("busy");
  await e.join("busy"); // its first idle place is now stale
  // Enough rooms going idle again to make the order be made again (past 2 × rooms + 1024).
  for (let i = 0; i < 4000; i++) {
    await e.join(`r${i % 3}`);
    e.leave(`r${i % 3}`);
  }
  e.leave("busy");
  now = 1000;
  e.maintain(now);
  assert.equal(e.position("busy"), null, "idle past ROOM_TTL_MS: forgotten");
  assert.equal(e.roomCount(), 0);
});
