/**
 * Redis comes back with OLDER data in the same epoch (restored from a snapshot, an AOF written
 * every second, a lagging replica promoted): its offset went back, so new messages would get
 * offsets already used. Instances pass what they know of the room to the scripts, which rename the
 * epoch; the feeds reset the room, and clients rejoin and receive every new message.
 */

import assert from "node:assert/strict";
import { epochOf } from "../../lib/engine/engine.ts";
import type { RedisEngine } from "../../lib/engine/redis/redis_engine.ts";
import { redisBinary, startEngine, startRedis, type TestRedis } from "../helpers/redis.ts";
import { eventually } from "../helpers/redis_peer.ts";
import { type RedisPair, redisPair } from "../helpers/redis_pair.ts";

const ignore = redisBinary.ignore;

const engine = (redis: TestRedis, keyPrefix: string) =>
  startEngine(redis, { keyPrefix, presenceTtlMs: 600 });

const draft = (text: string) => ({
  room: "r",
  from: "c1",
  client: null,
  name: null,
  text,
  ref: null,
});

/** Keeps a copy of the room's offset and stream, as a snapshot would. */
async function snapshot(redis: TestRedis, prefix: string): Promise<void> {
  for (const key of ["offset", "stream"]) {
    await redis.command("COPY", `${prefix}:{r}:${key}`, `${prefix}:{r}:${key}:saved`, "REPLACE");
  }
}

/** Puts the copy back: what a restore from that older snapshot leaves (same epoch, older data). */
async function restore(redis: TestRedis, prefix: string): Promise<void> {
  for (const key of ["offset", "stream"]) {
    await redis.command("COPY", `${prefix}:{r}:${key}:saved`, `${prefix}:{r}:${key}`, "REPLACE");
  }
}

Deno.test({ name: "redis rollback (simulated)", ignore }, async (t) => {
  const redis = await startRedis();
  const open: RedisEngine[] = [];
  const three = async () => {
    const prefix = "rb" + crypto.randomUUID().slice(0, 6);
    const all = [await engine(redis, prefix), await engine(redis, prefix)];
    open.push(...all.map((x) => x.e));
    for (const x of all) await x.e.join("r");
    for (let i = 1; i <= 6; i++) {
      await all[0].e.publish(draft(`m${i}`));
      if (i === 3) await snapshot(redis, prefix);
    }
    await eventually("b got 6", () => all[1].received.length === 6);
    return { prefix, a: all[0], b: all[1], epoch: epochOf(all[1].received[0]) };
  };
  try {
    await t.step("the next publish renames the epoch; the other instance resets", async () => {
      const { prefix, a, b, epoch } = await three();
      await restore(redis, prefix);
      const after = await a.e.publish(draft("after"));
      assert.equal(after.status, "accepted");
      if (after.status !== "accepted") return;
      assert.notEqual(epochOf(after.message), epoch, "offset 4 of the old epoch was given already");
      assert.equal(after.message.offset, 4);
      await eventually("b delivers it", () => b.received.some((m) => m.text === "after"));
      assert.deepEqual(b.resets, [epochOf(after.message)]);
      assert.equal(b.received.at(-1)!.id, after.message.id);
    });

    await t.step("an instance that knew nothing publishes over it: others notice", async () => {
      const { prefix, b, epoch } = await three();
      await restore(redis, prefix);
      const c = await engine(redis, prefix);
      open.push(c.e);
      for (let i = 4; i <= 7; i++) await c.e.publish(draft(`x${i}`));
      await eventually("b resets", () => b.resets.length === 1);
      await eventually("b delivers x4..x7", () => b.received.some((m) => m.text === "x7"));
      assert.notEqual(b.resets[0], epoch);
      const renamed = b.received.filter((m) => m.text?.startsWith("x"));
      assert.deepEqual(renamed.map((m) => m.id), [4, 5, 6, 7].map((o) => `${b.resets[0]}-${o}`));
    });

    await t.step("without traffic, the presence tick notices", async () => {
      const { prefix, a, b, epoch } = await three();
      a.e.online("r", 1);
      b.e.online("r", 1);
      await restore(redis, prefix);
      await eventually("b resets", () => b.resets.length === 1, 5000);
      assert.notEqual(b.resets[0], epoch);
      const after = await a.e.publish(draft("after"));
      assert.ok(after.status === "accepted" && epochOf(after.message) === b.resets[0]);
    });
  } finally {
    await Promise.all(open.map((e) => e.close()));
    await redis.stop();
  }
});

Deno.test({
  name: "redis restarted from an older snapshot: real clients get every new message",
  ignore,
}, async () => {
  const redis = await startRedis();
  let pair: RedisPair | null = null;
  try {
    pair = await redisPair(redis, "snap", { REDIS_TIMEOUT_MS: "500" }, { retrySendMs: 200 });
    const { ann, bob } = pair;
    const got: string[] = [];
    const gaps: string[] = [];
    bob.on("message", (m) => got.push(m.text ?? ""));
    bob.on("gap", (g) => gaps.push(g.epoch));
    const batch = async (name: string) => {
      for (let i = 1; i <= 3; i++) ann.send(`${name}-${i}`);
      await eventually(`${name} acked`, () => ann.outbox.length === 0, 15_000);
      await eventually(`${name} delivered`, () => got.includes(`${name}-3`), 15_000);
    };
    await batch("saved");
    await redis.command("SAVE");
    await batch("lost");
    await redis.kill();
    await redis.start();
    assert.equal(await redis.command("GET", "fanout:{snap}:offset"), "3", "restored: back to 3");
    await batch("new");
    await new Promise((r) => setTimeout(r, 300));
    for (const text of ["new-1", "new-2", "new-3"]) {
      assert.equal(got.filter((x) => x === text).length, 1, `${text} once (got ${got})`);
    }
    assert.ok(gaps.length >= 1, "Bob learned that history was rolled back");
  } finally {
    await pair?.close();
    await redis.stop();
  }
});
