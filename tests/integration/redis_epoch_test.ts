/**
 * Redis loses a room while it has members (FLUSHALL here; an empty restart, eviction or expiry
 * behave alike): the room starts a new epoch, and real clients (`FanoutClient`, which drop
 * `(epoch, offset)` pairs they have seen) still receive every message sent after the loss,
 * because the instances close the old epoch's sockets with 1012 and the clients rejoin.
 */

import assert from "node:assert/strict";
import type { ChatMessage } from "../../lib/protocol/frames.ts";
import { redisBinary, startRedis } from "../helpers/redis.ts";
import { type RedisPair, redisPair } from "../helpers/redis_pair.ts";
import { eventually } from "../helpers/redis_peer.ts";

const ignore = redisBinary.ignore;

Deno.test({
  name: "redis FLUSHALL under members: every later message reaches a real client",
  ignore,
}, async () => {
  const redis = await startRedis();
  let pair: RedisPair | null = null;
  try {
    pair = await redisPair(redis, "flushed");
    const { ann, bob } = pair;
    const got: ChatMessage[] = [];
    const gaps: string[] = [];
    const closes: number[] = [];
    bob.on("message", (m) => got.push(m));
    bob.on("gap", (g) => gaps.push(`${g.previousEpoch}->${g.epoch}`));
    bob.on("state", (s) => s.state === "reconnecting" && closes.push(s.closeCode ?? 0));

    for (let i = 1; i <= 5; i++) ann.send(`one-${i}`);
    await eventually("first batch acked", () => ann.outbox.length === 0);
    await eventually("first batch delivered", () => got.length === 5);

    await redis.command("FLUSHALL");
    for (let i = 1; i <= 5; i++) ann.send(`two-${i}`);
    await eventually("second batch acked", () => ann.outbox.length === 0);
    const want = [1, 2, 3, 4, 5].flatMap((i) => [`one-${i}`, `two-${i}`]).sort();
    await eventually("second batch delivered", () => got.length >= 10, 8000);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(got.map((m) => m.text).sort(), want, "every message once");
    assert.ok(closes.includes(1012), `Bob was told to rejoin (closes: ${closes})`);
    assert.equal(gaps.length, 1, "Bob learned that the old epoch's history is gone");
  } finally {
    await pair?.close();
    await redis.stop();
  }
});
