import assert from "node:assert/strict";
import { MessageJsonCache } from "../../lib/hub/message_json_cache.ts";
import type { ChatMessage } from "../../lib/protocol/frames.ts";

const message = (offset: number, text: string): ChatMessage => ({
  type: "message",
  room: "r",
  offset,
  id: `e-${offset}`,
  from: "c1",
  client: null,
  name: null,
  text,
  ts: 0,
});

Deno.test("MessageJsonCache: one string per message, the oldest evicted past the byte bound", () => {
  const a = message(1, "a".repeat(100));
  const b = message(2, "b".repeat(100));
  const size = JSON.stringify(a).length;
  const cache = new MessageJsonCache(2 * size);
  assert.equal(cache.of(a), JSON.stringify(a));
  assert.equal(cache.of(a), cache.of(a));
  cache.of(b);
  assert.deepEqual(cache.size, { entries: 2, bytes: 2 * size });
  const c = message(3, "c".repeat(100));
  cache.of(c);
  assert.deepEqual(cache.size, { entries: 2, bytes: 2 * size }, "a went");
  const big = message(4, "x".repeat(10 * size));
  assert.equal(cache.of(big), JSON.stringify(big), "too big to keep, still answered");
  assert.equal(cache.size.entries, 2);
});
