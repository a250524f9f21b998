import assert from "node:assert/strict";
import { loadConfig } from "../../lib/shared/config.ts";
import { createEngine } from "../../lib/server/fanout.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { roomKeys } from "../../lib/engine/redis/keys.ts";
import { REDIS_BACKOFF } from "../../lib/engine/redis/redis_client.ts";
import { backoffDelay } from "../../lib/shared/backoff.ts";

Deno.test("Redis settings have defaults and are validated", () => {
  const c = loadConfig({});
  assert.deepEqual([c.redisKeyPrefix, c.redisTimeoutMs, c.presenceTtlMs], ["fanout", 2000, 6000]);
  const set = loadConfig({
    REDIS_KEY_PREFIX: "app:chat",
    REDIS_TIMEOUT_MS: "500",
    PRESENCE_TTL_MS: "3000",
  });
  assert.deepEqual([set.redisKeyPrefix, set.redisTimeoutMs, set.presenceTtlMs], [
    "app:chat",
    500,
    3000,
  ]);
  assert.throws(() => loadConfig({ REDIS_KEY_PREFIX: "a b" }), /REDIS_KEY_PREFIX.*"a b"/);
  assert.throws(() => loadConfig({ REDIS_TIMEOUT_MS: "10" }), /REDIS_TIMEOUT_MS/);
  assert.throws(() => loadConfig({ PRESENCE_TTL_MS: "x" }), /PRESENCE_TTL_MS/);
});

Deno.test("createEngine picks Redis when REDIS_URL is set, memory otherwise", async () => {
  assert.equal(createEngine(loadConfig({}), { logger: silentLogger }).name, "memory");
  const redis = createEngine(loadConfig({ REDIS_URL: "redis://127.0.0.1:1" }), {
    logger: silentLogger,
  });
  assert.equal(redis.name, "redis");
  assert.equal(redis.healthy, false);
  await redis.close();
});

Deno.test("room keys share one hash tag; backoff grows to 2 s", () => {
  const k = roomKeys("fanout", "lobby");
  for (const key of [k.epoch, k.offset, k.stream, k.presence, k.ref("c\u0000r")]) {
    assert.match(key, /^fanout:\{lobby\}:/);
  }
  assert.equal(k.channel, "fanout:ch:lobby");
  assert.deepEqual([0, 1, 2, 10].map((n) => backoffDelay(n, REDIS_BACKOFF, () => 0)), [
    50,
    100,
    200,
    2000,
  ]);
  assert.equal(backoffDelay(10, REDIS_BACKOFF, () => 1), 2400);
});
