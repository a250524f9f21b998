import assert from "node:assert/strict";
import { loadConfig } from "../../lib/shared/config.ts";
import { createEngine } from "../../lib/server/fanout.ts";
import type { KvEngine } from "../../lib/engine/kv/kv_engine.ts";
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

Deno.test("ENGINE chooses the engine; unset, REDIS_URL decides as before", async () => {
  assert.equal(loadConfig({}).engine, "memory");
  assert.equal(loadConfig({ REDIS_URL: "redis://127.0.0.1:1" }).engine, "redis");
  assert.equal(loadConfig({ ENGINE: "memory" }).engine, "memory");
  assert.equal(loadConfig({ ENGINE: "KV" }).engine, "kv");
  assert.throws(() => loadConfig({ ENGINE: "disk" }), /ENGINE must be one of memory, kv, redis/);
  assert.throws(() => loadConfig({ ENGINE: "redis" }), /ENGINE=redis needs REDIS_URL/);
  assert.throws(
    () => loadConfig({ ENGINE: "kv", REDIS_URL: "redis://127.0.0.1:1" }),
    /ENGINE=kv but REDIS_URL is set/,
  );
  const opened: string[] = [];
  const kv = createEngine(loadConfig({ ENGINE: "kv", KV_PATH: ":memory:" }), {
    logger: silentLogger,
    openKv: (path) => (opened.push(path), Deno.openKv(path)),
  });
  assert.equal(kv.name, "kv");
  assert.equal(kv.healthy, false, "opened only by start");
  await kv.start({ message: () => {} });
  assert.deepEqual(opened, [":memory:"]);
  assert.equal(kv.healthy, true);
  await kv.close();
  assert.throws(
    () => createEngine(loadConfig({ ENGINE: "kv" }), { logger: silentLogger }),
    /ENGINE=kv needs a way to open Deno KV/,
  );
});

Deno.test("KV_PATH and KV_HISTORY_MB: defaults, bounds, and MAX_MESSAGE_BYTES under KV", () => {
  const c = loadConfig({});
  assert.equal(c.kvPath, "data/fanout.sqlite3");
  assert.equal(c.kvHistoryBytes, 1024 * 1024 * 1024);
  assert.equal(loadConfig({ KV_PATH: " /tmp/x.db " }).kvPath, "/tmp/x.db");
  assert.equal(loadConfig({ KV_HISTORY_MB: "1" }).kvHistoryBytes, 1024 * 1024);
  assert.equal(loadConfig({ KV_HISTORY_MB: "1048576" }).kvHistoryBytes, 1024 ** 4);
  assert.throws(() => loadConfig({ KV_HISTORY_MB: "0" }), /KV_HISTORY_MB must be an integer/);
  assert.throws(() => loadConfig({ KV_HISTORY_MB: "1048577" }), /KV_HISTORY_MB/);
  assert.equal(
    loadConfig({ ENGINE: "kv", MAX_MESSAGE_BYTES: "262144" }).maxMessageBytes,
    262144,
  );
  assert.throws(
    () => loadConfig({ ENGINE: "kv", MAX_MESSAGE_BYTES: "262145" }),
    /ENGINE=kv needs MAX_MESSAGE_BYTES of at most 262144, got 262145/,
  );
  assert.equal(loadConfig({ MAX_MESSAGE_BYTES: "262145" }).maxMessageBytes, 262145);
});

Deno.test("KV_MAX_ROOMS: default 4 × MAX_ROOMS, at least MAX_ROOMS", () => {
  assert.equal(loadConfig({}).kvMaxRooms, 4 * loadConfig({}).maxRooms);
  assert.equal(loadConfig({ MAX_ROOMS: "10" }).kvMaxRooms, 40);
  assert.equal(loadConfig({ MAX_ROOMS: "10", KV_MAX_ROOMS: "10" }).kvMaxRooms, 10);
  assert.throws(
    () => loadConfig({ MAX_ROOMS: "10", KV_MAX_ROOMS: "9" }),
    /KV_MAX_ROOMS must be an integer from 10 to 400000000, got "9"/,
  );
});

Deno.test("KV_MAX_REFS: default 4 × DEDUP_MAX_REFS, from 1 to 400000000", () => {
  assert.equal(loadConfig({}).kvMaxRefs, 4 * 204_800);
  assert.equal(loadConfig({ DEDUP_MAX_REFS: "10" }).kvMaxRefs, 40);
  assert.equal(loadConfig({ KV_MAX_REFS: "1" }).kvMaxRefs, 1);
  assert.equal(loadConfig({ KV_MAX_REFS: "400000000" }).kvMaxRefs, 400_000_000);
  for (const bad of ["0", "400000001", "1.5"]) {
    assert.throws(
      () => loadConfig({ KV_MAX_REFS: bad }),
      new RegExp(`KV_MAX_REFS must be an integer from 1 to 400000000, got "${bad}"`),
    );
  }
});

Deno.test("KV_MAX_REFS reaches the KV engine", async () => {
  const engine = createEngine(loadConfig({ ENGINE: "kv", KV_MAX_REFS: "3" }), {
    logger: silentLogger,
    openKv: () => Deno.openKv(":memory:"),
  });
  await engine.start({ message: () => {} });
  try {
    for (let i = 0; i < 4; i++) {
      await engine.publish({
        room: "r",
        from: "c1",
        client: null,
        name: null,
        text: "x",
        ref: `r${i}`,
      });
    }
    await (engine as KvEngine).settled();
    assert.deepEqual(engine.diskRefs, { held: 2, forgotten: 2 });
  } finally {
    await engine.close();
  }
});
