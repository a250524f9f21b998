/**
 * Auth mode across two instances sharing Redis: a message carries its sender's verified user and
 * info to the other instance, its history too, and each instance applies the grants itself.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { hsToken, TEST_SECRET } from "../helpers/tokens.ts";
import { redisBinary, startRedis } from "../helpers/redis.ts";

Deno.test({
  name: "redis, auth mode: user, info and grants hold across two instances",
  ignore: redisBinary.ignore,
}, async () => {
  const redis = await startRedis();
  const env = { AUTH_SECRET: TEST_SECRET, REDIS_URL: redis.url };
  const a = await startTestServer(env);
  const b = await startTestServer(env);
  const clients: TestClient[] = [];
  try {
    const ann = await hsToken({ sub: "ann", info: { team: 42 }, rooms: { "team-*": "rw" } });
    const bob = await hsToken({ sub: "bob", rooms: { "team-1": "r" } });
    const onA = await TestClient.join(a.wsUrl({ room: "team-1", token: ann }));
    const onB = await TestClient.join(b.wsUrl({ room: "team-1", token: bob }));
    clients.push(onA.client, onB.client);
    onA.client.send({ type: "message", text: "across", ref: "x1" });
    await onA.client.next((f) => f.type === "ack");
    const m = await onB.client.next((f) => f.type === "message");
    assert.deepEqual([m.user, m.info, m.text], ["ann", { team: 42 }, "across"]);
    onB.client.send({ type: "message", text: "read-only", ref: "y1" });
    assert.equal((await onB.client.next((f) => f.type === "error")).code, "forbidden");
    assert.deepEqual((await onA.client.quietFor(200)).filter((f) => f.type === "message"), []);
    // The other instance's history keeps them too, and its grants still refuse team-2 to bob.
    const late = await TestClient.join(b.wsUrl({ room: "team-1", token: bob }));
    clients.push(late.client);
    assert.deepEqual(late.welcome.history.map((h: { user: string }) => h.user), ["ann"]);
    const refused = await fetch(b.httpUrl(`/ws?room=team-2&token=${bob}`));
    assert.equal(refused.status, 403);
    await refused.body?.cancel();
  } finally {
    for (const c of clients) await c.close();
    await a.stop();
    await b.stop();
    await redis.stop();
  }
});
