/**
 * Redis loses a room while it has members (FLUSHALL here; an empty restart, eviction or expiry
 * behave alike): the room starts a new epoch, and real clients (`FanoutClient`, which drop
 * `(epoch, offset)` pairs they have seen) still receive every message sent after the loss,
 * because the instances close the old epoch's sockets with 1012 and the clients rejoin.
 */

import assert from "node:assert/strict";
import { FanoutClient } from "../lib/client.ts";
import type { ChatMessage } from "../lib/protocol.ts";
import { redisBinary, startRedis } from "./helpers/redis.ts";
import { eventually } from "./helpers/redis_peer.ts";
import { startTestServer, type TestServer } from "./helpers/server.ts";

const ignore = redisBinary.ignore;

function client(server: TestServer, name: string): FanoutClient {
  return new FanoutClient({
    url: server.wsUrl().split("?")[0],
    room: "flushed",
    name,
    backoff: { baseMs: 50, capMs: 200 },
  });
}

Deno.test({
  name: "redis FLUSHALL under members: every later message reaches a real client",
  ignore,
}, async () => {
  const redis = await startRedis();
  const servers: TestServer[] = [];
  const clients: FanoutClient[] = [];
  try {
    const env = { REDIS_URL: redis.url, PRESENCE_TTL_MS: "900" };
    servers.push(await startTestServer(env), await startTestServer(env));
    const [ann, bob] = [client(servers[0], "Ann"), client(servers[1], "Bob")];
    clients.push(ann, bob);
    const got: ChatMessage[] = [];
    const gaps: string[] = [];
    const closes: number[] = [];
    bob.on("message", (m) => got.push(m));
    bob.on("gap", (g) => gaps.push(`${g.previousEpoch}->${g.epoch}`));
    bob.on("state", (s) => s.state === "reconnecting" && closes.push(s.closeCode ?? 0));
    for (const c of clients) c.connect();
    await eventually("both online", () => clients.every((c) => c.state === "online"));

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
    for (const c of clients) c.disconnect();
    await Promise.all(clients.map((c) => c.whenClosed()));
    await Promise.all(servers.map((s) => s.stop()));
    await redis.stop();
  }
});
