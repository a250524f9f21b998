/**
 * `ref` deduplication of the Redis engine across two instances, by the same rules as the memory
 * engine: a ref only matches the same sender's (public client id, or connection without one)
 * earlier message with the same text; the same ref with another text is a conflict.
 */

import assert from "node:assert/strict";
import type { Draft } from "../../../lib/engine/engine.ts";
import { refKey } from "../../../lib/engine/dedup_cache.ts";
import { publicClientId } from "../../../lib/hub/public_id.ts";
import { roomKeys } from "../../../lib/engine/redis/keys.ts";
import { redisBinary, startEngine, startRedis } from "../../helpers/redis.ts";
import { eventually } from "../../helpers/redis_peer.ts";

function draft(text: string, extra: Partial<Draft> = {}): Draft {
  return { room: "r", from: "c1", client: null, name: null, text, ref: null, ...extra };
}

Deno.test(
  { name: "redis engine: ref dedupe rules across instances", ignore: redisBinary.ignore },
  async (t) => {
    const redis = await startRedis();
    const keyPrefix = "d" + crypto.randomUUID().slice(0, 6);
    const a = await startEngine(redis, { keyPrefix });
    const b = await startEngine(redis, { keyPrefix });
    try {
      await a.e.join("r");
      const victim = await publicClientId("victim-key-0001");
      const attacker = await publicClientId(victim);

      await t.step("same sender, same ref, same text: the original ack", async () => {
        const first = await a.e.publish(draft("hello", { client: victim, ref: "r1" }));
        const again = await b.e.publish(draft("hello", { client: victim, from: "c9", ref: "r1" }));
        assert.ok(first.status === "accepted");
        assert.deepEqual(again, {
          status: "duplicate",
          offset: first.message.offset,
          ts: first.message.ts,
        });
      });

      await t.step("same sender, same ref, another text: a conflict, nothing stored", async () => {
        const clash = await b.e.publish(draft("changed", { client: victim, ref: "r1" }));
        assert.deepEqual(clash, { status: "conflict" });
        const again = await a.e.publish(draft("hello", { client: victim, ref: "r1" }));
        assert.equal(again.status, "duplicate", "the conflict did not replace the remembered ref");
      });

      await t.step("refs pre-sent by an attacker under the victim's public id as key", async () => {
        for (const ref of ["p1", "p2", "p3"]) {
          const trap = await b.e.publish(draft(`trap ${ref}`, { client: attacker, ref }));
          assert.equal(trap.status, "accepted");
        }
        const offsets = [];
        for (const ref of ["p1", "p2", "p3"]) {
          const real = await a.e.publish(draft(`real ${ref}`, { client: victim, ref }));
          assert.ok(real.status === "accepted", `the victim's ${ref} was ${real.status}`);
          offsets.push(real.message.offset);
        }
        assert.deepEqual(offsets, [5, 6, 7]);
      });

      await t.step("without a client id, refs are scoped by connection", async () => {
        const one = await a.e.publish(draft("mine", { from: "c1", ref: "k1" }));
        const other = await b.e.publish(draft("theirs", { from: "c2", ref: "k1" }));
        assert.deepEqual([one.status, other.status], ["accepted", "accepted"]);
        assert.deepEqual(await a.e.publish(draft("edited", { from: "c1", ref: "k1" })), {
          status: "conflict",
        });
      });

      await eventually("a received every accepted message", () => a.received.length === 9);
      assert.deepEqual(a.received.map((m) => m.text), [
        "hello",
        "trap p1",
        "trap p2",
        "trap p3",
        "real p1",
        "real p2",
        "real p3",
        "mine",
        "theirs",
      ]);
      const refName = roomKeys(keyPrefix, "r").ref(refKey(victim, "c1", "r1"));
      const stored = await redis.command("GET", refName);
      assert.match(String(stored), /^1:\d+:\d+$/, "the ref key holds offset:ts:hash");
    } finally {
      await Promise.all([a.e.close(), b.e.close()]);
      await redis.stop();
    }
  },
);
