import assert from "node:assert/strict";
import { KvTail, tailCost } from "../../../lib/engine/kv/kv_tail.ts";
import type { ChatMessage } from "../../../lib/protocol/frames.ts";

function msg(room: string, epoch: string, offset: number, text = "x"): ChatMessage {
  return {
    type: "message",
    room,
    offset,
    id: `${epoch}-${offset}`,
    from: "c1",
    client: null,
    name: null,
    text,
    ts: offset,
  };
}

const offsets = (list: ChatMessage[] | null) => list?.map((m) => m.offset) ?? null;
const ONE = tailCost({ text: "x", name: null });

Deno.test("kv tail: consecutive messages are kept; a range is all there or null", () => {
  const tail = new KvTail({ budget: 100 * ONE, perRoom: 100 * ONE, maxCount: 100 });
  for (let o = 1; o <= 5; o++) tail.add(msg("r", "e-1", o));
  assert.deepEqual(offsets(tail.range("r", "e-1", 2, 4)), [2, 3, 4]);
  assert.deepEqual(offsets(tail.range("r", "e-1", 1, 5)), [1, 2, 3, 4, 5]);
  assert.equal(tail.range("r", "e-1", 0, 5), null, "offset 0 was never kept");
  assert.equal(tail.range("r", "e-1", 4, 6), null, "offset 6 is not there yet");
  assert.equal(tail.range("r", "other", 2, 4), null, "another epoch");
  assert.equal(tail.range("s", "e-1", 2, 4), null, "another room");
  const same = tail.range("r", "e-1", 5, 5)![0];
  assert.equal(same, tail.range("r", "e-1", 5, 5)![0], "joiners share the message objects");
  tail.add(msg("r", "e-1", 7)); // a gap: start again
  assert.equal(tail.range("r", "e-1", 5, 5), null);
  assert.deepEqual(offsets(tail.range("r", "e-1", 7, 7)), [7]);
  tail.add(msg("r", "e2", 8)); // another epoch: start again
  assert.equal(tail.range("r", "e-1", 7, 7), null);
  assert.equal(tail.bytes, ONE);
});

Deno.test("kv tail: per room at most perRoom bytes and maxCount messages, at the boundary", () => {
  const bytes = new KvTail({ budget: 100 * ONE, perRoom: 3 * ONE, maxCount: 100 });
  for (let o = 1; o <= 3; o++) bytes.add(msg("r", "e", o));
  assert.deepEqual(offsets(bytes.range("r", "e", 1, 3)), [1, 2, 3], "exactly perRoom");
  bytes.add(msg("r", "e", 4));
  assert.equal(bytes.range("r", "e", 1, 4), null, "one over: the oldest goes");
  assert.deepEqual(offsets(bytes.range("r", "e", 2, 4)), [2, 3, 4]);
  const count = new KvTail({ budget: 100 * ONE, perRoom: 100 * ONE, maxCount: 2 });
  for (let o = 1; o <= 3; o++) count.add(msg("r", "e", o));
  assert.deepEqual(offsets(count.range("r", "e", 2, 3)), [2, 3]);
  assert.equal(count.range("r", "e", 1, 3), null);
  assert.equal(count.bytes, 2 * ONE);
});

Deno.test("kv tail: every room together within the budget, the least recently written first", () => {
  const tail = new KvTail({ budget: 4 * ONE, perRoom: 10 * ONE, maxCount: 100 });
  tail.add(msg("a", "e", 1));
  tail.add(msg("b", "e", 1));
  tail.add(msg("c", "e", 1));
  tail.add(msg("a", "e", 2)); // a is now the most recent
  assert.equal(tail.bytes, 4 * ONE, "exactly the budget: all kept");
  tail.add(msg("d", "e", 1));
  assert.equal(tail.range("b", "e", 1, 1), null, "b was written least recently");
  assert.deepEqual(offsets(tail.range("a", "e", 1, 2)), [1, 2]);
  assert.equal(tail.bytes, 4 * ONE);
  const big = msg("e", "e", 1, "y".repeat(10 * ONE));
  tail.add(big); // alone over its room's bound: not kept, and the others stay
  assert.equal(tail.range("e", "e", 1, 1), null);
  assert.equal(tail.bytes, 4 * ONE);
  tail.forget("a");
  assert.equal(tail.range("a", "e", 1, 1), null);
});
