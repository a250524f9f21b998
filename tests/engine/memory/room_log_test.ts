import assert from "node:assert/strict";
import { DedupCache, refKey, RefLedger } from "../../../lib/engine/dedup_cache.ts";
import type { ChatMessage } from "../../../lib/protocol/frames.ts";
import { messageCost, RoomLog } from "../../../lib/engine/memory/room_log.ts";

function fill(log: RoomLog, n: number): void {
  for (let i = 0; i < n; i++) {
    log.append((offset) => ({ offset, text: `m${offset}` } as ChatMessage));
  }
}
const offsets = (list: ChatMessage[] | null) => list?.map((m) => m.offset) ?? null;

Deno.test("RoomLog assigns consecutive offsets and replays after an offset", () => {
  const log = new RoomLog("e", 5);
  fill(log, 3);
  assert.equal(log.offset, 3);
  assert.deepEqual(offsets(log.after(0)), [1, 2, 3]);
  assert.deepEqual(offsets(log.after(2)), [3]);
  assert.deepEqual(offsets(log.after(3)), []);
  assert.equal(log.after(4), null, "an offset from the future is not recoverable");
});

Deno.test("RoomLog keeps only the last capacity messages and reports gaps", () => {
  const log = new RoomLog("e", 5);
  fill(log, 12);
  assert.equal(log.oldest, 8);
  assert.deepEqual(offsets(log.after(7)), [8, 9, 10, 11, 12], "the whole gap is still kept");
  assert.equal(log.after(6), null, "offset 7 is gone");
  assert.deepEqual(offsets(log.recent(3)), [10, 11, 12]);
  assert.deepEqual(offsets(log.recent(50)), [8, 9, 10, 11, 12]);
});

Deno.test("RoomLog counts the bytes of exactly the messages it keeps, through drops, compactions and trims", () => {
  const log = new RoomLog("e", 100);
  const kept = () => log.recent(1000).reduce((sum, m) => sum + messageCost(m), 0);
  for (let i = 1; i <= 1000; i++) {
    // Texts of varied lengths, so that a cost counted against the wrong message shows.
    log.append((offset) => ({ offset, text: "x".repeat((offset * 37) % 101) } as ChatMessage));
    if (i % 97 === 0 || i === 150) assert.equal(log.bytes, kept(), `after ${i} appends`);
  }
  assert.equal(log.size, 100);
  const freed = log.trimTo(log.bytes / 3);
  assert.equal(log.bytes, kept(), "after a trim");
  assert.ok(freed > 0 && log.size < 100);
  log.trimTo(0);
  assert.deepEqual([log.bytes, log.size], [0, 0]);
  log.append((offset) => ({ offset, text: "again" } as ChatMessage));
  assert.equal(log.bytes, messageCost({ text: "again", name: null }));
});

Deno.test("RoomLog with no history still counts offsets", () => {
  const log = new RoomLog("e", 0);
  fill(log, 4);
  assert.equal(log.offset, 4);
  assert.deepEqual(offsets(log.after(4)), []);
  assert.equal(log.after(3), null);
  assert.deepEqual(offsets(log.recent(10)), []);
});

Deno.test("DedupCache remembers refs for the TTL, then forgets them", () => {
  const cache = new DedupCache(1000);
  cache.set(refKey("client01", "c1", "r1"), { offset: 7, ts: 5, hash: 42 }, 0);
  assert.deepEqual(
    cache.get(refKey("client01", "c2", "r1"), 999),
    { offset: 7, ts: 5, hash: 42 },
    "scoped by client id",
  );
  assert.equal(
    cache.get(refKey(null, "c1", "r1"), 999),
    undefined,
    "no client id: scoped by connection",
  );
  assert.equal(cache.get(refKey("client01", "c1", "r1"), 1001), undefined);
  cache.set("other", { offset: 8, ts: 6, hash: 43 }, 1500);
  assert.equal(cache.size, 1, "expired entries are swept on insert");
});

Deno.test("DedupCache: a ref set again before it expired lives from its last set (a peer's copy of a commit)", () => {
  const ledger = new RefLedger(1000);
  const cache = new DedupCache(1000, ledger);
  cache.set("k", { offset: 1, ts: 0, hash: 1 }, 0);
  cache.set("j", { offset: 2, ts: 100, hash: 2 }, 100);
  cache.set("k", { offset: 1, ts: 0, hash: 1 }, 900);
  ledger.sweep(1050);
  assert.deepEqual(
    cache.get("k", 1050),
    { offset: 1, ts: 0, hash: 1 },
    "k's first time is not its last",
  );
  assert.deepEqual(cache.get("j", 1050), { offset: 2, ts: 100, hash: 2 });
  ledger.sweep(1101);
  assert.equal(cache.size, 1, "j expired");
  ledger.sweep(1901);
  assert.equal(cache.size, 0, "k expired 1000 ms after its last set");
});

Deno.test("RefLedger: rooms sharing it hold at most maxRefs together, the oldest of any room going first", () => {
  const ledger = new RefLedger(60_000, 3);
  const a = new DedupCache(60_000, ledger);
  const b = new DedupCache(60_000, ledger);
  a.set("a1", { offset: 1, ts: 0, hash: 1 }, 0);
  b.set("b1", { offset: 1, ts: 1, hash: 2 }, 1);
  a.set("a2", { offset: 2, ts: 2, hash: 3 }, 2);
  assert.equal(ledger.size, 3);
  assert.equal(ledger.forgotten, 0, "at the bound, nothing forgotten");
  b.set("b2", { offset: 2, ts: 3, hash: 4 }, 3);
  assert.equal(ledger.size, 3, "one past the bound: the oldest went");
  assert.equal(ledger.forgotten, 1);
  assert.equal(a.get("a1", 3), undefined, "a's first ref, the oldest of both rooms");
  assert.equal(a.forgottenUntil, 60_000, "a1 would have lived until 0 + 60 s");
  assert.equal(b.forgottenUntil, 0);
  assert.deepEqual(b.get("b1", 3), { offset: 1, ts: 1, hash: 2 });
  assert.deepEqual([a.size, b.size], [1, 2]);
  // Many more, spread over both rooms: the bound holds.
  for (let i = 0; i < 1000; i++) (i % 2 ? a : b).set(`k${i}`, { offset: i, ts: 4, hash: i }, 4);
  assert.equal(ledger.size, 3);
  assert.equal(a.size + b.size, 3);
  assert.equal(ledger.forgotten, 1001);
  // The TTL still applies, and what it removes is not counted as forgotten early.
  ledger.sweep(60_005);
  assert.deepEqual([ledger.size, a.size + b.size, ledger.forgotten], [0, 0, 1001]);
});
