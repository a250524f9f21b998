import assert from "node:assert/strict";
import type { ChatMessage } from "../../../lib/protocol/frames.ts";
import { MemoryEngine } from "../../../lib/engine/memory/memory_engine.ts";

function engine(historySize = 5, roomTtlMs = 1000) {
  let now = 0;
  let epochs = 0;
  const delivered: ChatMessage[] = [];
  const e = new MemoryEngine({
    historySize,
    dedupTtlMs: 500,
    roomTtlMs,
    now: () => now,
    newEpoch: () => `e${++epochs}`,
  });
  e.start({ message: (m) => delivered.push(m) });
  const publish = (text: string, ref: string | null = null) =>
    e.publish({ room: "r", from: "c1", client: "client01", name: null, text, ref });
  return { e, delivered, publish, advance: (ms: number) => now += ms };
}

Deno.test("memory engine: offsets, delivery and duplicate refs", async () => {
  const t = engine();
  const first = await t.publish("a", "ref-a");
  assert.equal(first.status, "accepted");
  const again = await t.publish("a", "ref-a");
  assert.deepEqual(again, { status: "duplicate", offset: 1, ts: 0 });
  await t.publish("b");
  assert.deepEqual(t.delivered.map((m) => [m.offset, m.text, m.id]), [[1, "a", "e1-1"], [
    2,
    "b",
    "e1-2",
  ]]);
  t.advance(501);
  assert.equal(
    (await t.publish("a", "ref-a")).status,
    "accepted",
    "the ref is forgotten after the TTL",
  );
});

Deno.test("memory engine: HISTORY_SIZE is the recovery boundary", async () => {
  const t = engine(5);
  for (let i = 1; i <= 8; i++) await t.publish(`m${i}`);
  const atEdge = await t.e.recover("r", { since: 3, epoch: "e1" }, 2);
  assert.equal(atEdge.recovered, true);
  assert.deepEqual(atEdge.history.map((m) => m.offset), [4, 5, 6, 7, 8]);
  const past = await t.e.recover("r", { since: 2, epoch: "e1" }, 2);
  assert.equal(past.recovered, false);
  assert.deepEqual(past.history.map((m) => m.offset), [7, 8], "recent history instead");
  const otherEpoch = await t.e.recover("r", { since: 8, epoch: "e0" }, 1);
  assert.equal(otherEpoch.recovered, false);
  assert.equal(otherEpoch.epoch, "e1");
});

Deno.test("memory engine: an empty room is forgotten after ROOM_TTL_MS, and comes back with a new epoch", async () => {
  const t = engine(5, 1000);
  await t.e.join("r");
  await t.publish("kept");
  t.e.leave("r");
  t.advance(1000);
  t.e.maintain(1000);
  assert.equal(t.e.position("r")?.offset, 1, "kept until the TTL has passed");
  t.advance(1);
  t.e.maintain(1001);
  assert.equal(t.e.position("r"), null);
  assert.equal(t.e.roomCount(), 0);
  const fresh = await t.e.recover("r", { since: 1, epoch: "e1" }, 10);
  assert.equal(fresh.recovered, false);
  assert.equal(fresh.epoch, "e2");
  assert.equal(fresh.offset, 0);
});

Deno.test("memory engine: a room with members is never expired", async () => {
  const t = engine(5, 10);
  await t.e.join("r");
  await t.publish("x");
  t.advance(10_000);
  t.e.maintain(10_000);
  assert.equal(t.e.position("r")?.offset, 1);
});

Deno.test("memory engine: maxRefs bounds the refs of every room together; a forgotten ref is published again", async () => {
  const e = new MemoryEngine({ historySize: 5, dedupTtlMs: 60_000, roomTtlMs: 60_000, maxRefs: 4 });
  const delivered: ChatMessage[] = [];
  await e.start({ message: (m) => delivered.push(m) });
  const publish = (room: string, ref: string) =>
    e.publish({ room, from: "c1", client: "client01", name: null, text: ref, ref });
  for (let i = 0; i < 50; i++) {
    assert.equal((await publish(`room-${i % 7}`, `r${i}`)).status, "accepted");
    assert.ok(e.refs.held <= 4, `at most 4 refs held, got ${e.refs.held}`);
  }
  assert.deepEqual(e.refs, { held: 4, forgotten: 46 });
  assert.equal((await publish("room-0", "r49")).status, "duplicate", "the newest are still known");
  assert.equal((await publish("room-0", "r0")).status, "accepted", "r0 was forgotten early");
  assert.equal(delivered.length, 51);
});
