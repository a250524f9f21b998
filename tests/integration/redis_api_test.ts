/**
 * The server API across two instances sharing Redis: a publish on A reaches members on B,
 * presence lists the members of both, and a disconnect on A closes the user's sockets on B.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { hsToken, TEST_SECRET } from "../helpers/tokens.ts";
import { redisBinary, startRedis } from "../helpers/redis.ts";

const KEY = "redis-api-key-0123456789";

async function call(srv: TestServer, method: string, path: string, body?: unknown) {
  const res = await fetch(srv.httpUrl(path), {
    method,
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

Deno.test({
  name: "redis, server API: publish, presence and disconnect span both instances",
  ignore: redisBinary.ignore,
}, async () => {
  const redis = await startRedis();
  const env = { API_KEYS: KEY, AUTH_SECRET: TEST_SECRET, REDIS_URL: redis.url };
  const a = await startTestServer(env);
  const b = await startTestServer(env);
  const clients: TestClient[] = [];
  try {
    const token = (sub: string) => hsToken({ sub, rooms: { ops: "rw" } });
    const onA = await TestClient.join(a.wsUrl({ room: "ops", token: await token("ann") }));
    const onB = await TestClient.join(b.wsUrl({ room: "ops", token: await token("ann") }));
    const bob = await TestClient.join(b.wsUrl({ room: "ops", token: await token("bob") }));
    clients.push(onA.client, onB.client, bob.client);
    const published = await call(a, "POST", "/api/rooms/ops/messages", { data: { alert: 1 } });
    assert.equal(published.status, 201);
    for (const c of [onB.client, bob.client]) {
      const m = await c.next((f) => f.type === "message");
      assert.deepEqual([m.from, m.data], ["api", { alert: 1 }]);
    }
    const deadline = Date.now() + 5000;
    while (true) {
      const p = await call(a, "GET", "/api/rooms/ops/presence");
      if (p.body.online === 3 && p.body.members.length === 3) break;
      if (Date.now() > deadline) throw new Error(`presence: ${JSON.stringify(p.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const users = (await call(a, "GET", "/api/rooms/ops/presence")).body.members
      .map((m: { user: string }) => m.user).sort();
    assert.deepEqual(users, ["ann", "ann", "bob"]);
    const closed = await call(a, "POST", "/api/disconnect", { user: "ann", reason: "banned" });
    assert.deepEqual(closed.body, { closed: 1 }, "one of ann's sockets is on A");
    for (const c of [onA.client, onB.client]) {
      const event = await c.closed;
      assert.deepEqual([event.code, event.reason], [4403, "banned"]);
    }
    assert.equal(bob.client.ws.readyState, WebSocket.OPEN, "bob stays");
  } finally {
    for (const c of clients) await c.close();
    await a.stop();
    await b.stop();
    await redis.stop();
  }
});
