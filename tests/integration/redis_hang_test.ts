/**
 * A hung Redis (SIGSTOP: its sockets stay open, nothing answers) must not mean silence: commands
 * fail after `REDIS_TIMEOUT_MS`, the link counts as down (health and metrics say so, logged once)
 * even without traffic, and everything resumes by itself after SIGCONT.
 */

import assert from "node:assert/strict";
import { FanoutClient } from "../../lib/client/client.ts";
import { createLogger } from "../../lib/shared/log.ts";
import type { RedisEngine } from "../../lib/engine/redis/redis_engine.ts";
import { redisBinary, startEngine, startRedis, type TestRedis } from "../helpers/redis.ts";
import { eventually } from "../helpers/redis_peer.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const ignore = redisBinary.ignore;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const draft = (text: string) => ({
  room: "h",
  from: "c1",
  client: null,
  name: null,
  text,
  ref: null,
});

/** An engine in room "h" that keeps its log lines; every one shares the key prefix "hang". */
async function engine(redis: TestRedis) {
  const lines: string[] = [];
  const started = await startEngine(redis, {
    keyPrefix: "hang",
    logger: createLogger({ level: "info", write: (line) => lines.push(line) }),
    commandTimeoutMs: 400,
    pingIntervalMs: 300,
  });
  await started.e.join("h");
  return {
    ...started,
    lines,
    count: (event: string) => lines.filter((l) => l.includes(event)).length,
  };
}

/** How a promise ends within `ms`: "resolved", "rejected" or "silence". */
function outcome(p: Promise<unknown>, ms: number): Promise<string> {
  return Promise.race([
    p.then(() => "resolved", () => "rejected"),
    sleep(ms).then(() => "silence"),
  ]);
}

Deno.test(
  { name: "redis hung (SIGSTOP): commands fail in time, link down, then back", ignore },
  async () => {
    const redis = await startRedis();
    const engines: RedisEngine[] = [];
    try {
      const a = await engine(redis);
      const b = await engine(redis);
      engines.push(a.e, b.e);
      await a.e.publish(draft("before"));
      await eventually("b got before", () => b.received.length === 1);

      redis.pause();
      const started = Date.now();
      assert.equal(await outcome(a.e.publish(draft("during")), 3000), "rejected", "not silence");
      assert.ok(Date.now() - started < 1500, `rejected after ${Date.now() - started} ms`);
      await eventually(
        "both unhealthy, b without any traffic",
        () => !a.e.healthy && !b.e.healthy,
        3000,
      );
      await sleep(1000);
      assert.equal(await outcome(a.e.publish(draft("still")), 3000), "rejected");
      assert.ok(!a.e.healthy && !b.e.healthy, "still down while Redis is stopped");

      redis.resume();
      await eventually("both healthy again", () => a.e.healthy && b.e.healthy, 8000);
      const after = await a.e.publish(draft("after"));
      assert.equal(after.status, "accepted");
      await eventually("b got after", () => b.received.some((m) => m.text === "after"));
      const texts = b.received.map((m) => m.text);
      assert.equal(texts[0], "before");
      assert.equal(texts.at(-1), "after");
      for (const x of [a, b]) {
        assert.equal(x.count("redis.down"), 1, x.lines.join("\n"));
        assert.equal(x.count("redis.up"), 1, x.lines.join("\n"));
      }
    } finally {
      redis.resume();
      await Promise.all(engines.map((e) => e.close()));
      await redis.stop();
    }
  },
);

async function health(server: TestServer): Promise<[number, string | undefined]> {
  const res = await fetch(server.httpUrl("/healthz"));
  await res.body?.cancel();
  const metrics = await (await fetch(server.httpUrl("/metrics"))).text();
  return [res.status, metrics.match(/^fanout_engine_up (\d)/m)?.[1]];
}

Deno.test({
  name: "redis hung: the sender hears unavailable, /healthz and the metric say down",
  ignore,
}, async () => {
  const redis = await startRedis();
  let server: TestServer | null = null;
  const ann = { client: null as FanoutClient | null };
  try {
    server = await startTestServer({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: "500" });
    const client = new FanoutClient({
      url: server.wsUrl().split("?")[0],
      room: "hung",
      retrySendMs: 300,
      backoff: { baseMs: 50, capMs: 200 },
    });
    ann.client = client;
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.code));
    client.connect();
    await eventually("online", () => client.state === "online");
    assert.deepEqual(await health(server), [200, "1"]);

    redis.pause();
    const started = Date.now();
    client.send("into the void");
    await eventually("told unavailable", () => errors.includes("unavailable"), 3000);
    assert.ok(Date.now() - started < 2000, `after ${Date.now() - started} ms`);
    const srv = server;
    let seen: [number, string | undefined] = [0, ""];
    await eventually("health says down", () => {
      health(srv).then((h) => seen = h);
      return seen[0] === 503 && seen[1] === "0";
    }, 5000);
    assert.equal(client.state, "online", "the WebSocket stays open");

    redis.resume();
    await eventually("acknowledged after Redis resumed", () => client.outbox.length === 0, 10_000);
    assert.deepEqual(await health(server), [200, "1"]);
  } finally {
    redis.resume();
    ann.client?.disconnect();
    await ann.client?.whenClosed();
    await server?.stop();
    await redis.stop();
  }
});
