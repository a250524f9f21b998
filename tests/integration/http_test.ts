import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

async function status(url: string, headers: HeadersInit = {}): Promise<[number, string]> {
  const res = await fetch(url, { headers });
  return [res.status, await res.text()];
}
const upgrade = { upgrade: "websocket", connection: "Upgrade" };

testWithPermissions("http: /healthz, /api/stats and /metrics describe the server", async () => {
  const srv = await startTestServer();
  try {
    assert.deepEqual(await (await fetch(srv.httpUrl("/healthz"))).json(), { status: "ok" });
    const { client: a, welcome } = await TestClient.join(srv.wsUrl({ room: "stats" }));
    const { client: b } = await TestClient.join(srv.wsUrl({ room: "stats" }));
    a.send({ type: "message", text: "counted" });
    await b.next((f) => f.type === "message");
    a.send("{bad");
    await a.next((f) => f.type === "error");

    const body = await (await fetch(srv.httpUrl("/api/stats"))).text();
    const stats = JSON.parse(body);
    assert.equal(stats.connections, 2);
    assert.deepEqual(stats.rooms, { count: 1, top: [{ room: "stats", online: 2, offset: 1 }] });
    assert.equal(body.includes(welcome.epoch), false, "epochs are not public");
    assert.deepEqual(stats.messages, { in: 1, out: 1 });
    assert.equal(stats.errors.invalid_json, 1);
    assert.equal(typeof stats.uptimeSeconds, "number");

    const res = await fetch(srv.httpUrl("/metrics"));
    assert.match(res.headers.get("content-type")!, /^text\/plain; version=0.0.4/);
    const text = await res.text();
    assert.match(text, /^fanout_connections 2$/m);
    assert.match(text, /^fanout_rooms 1$/m);
    assert.match(text, /^fanout_messages_received_total 1$/m);
    assert.match(text, /^fanout_messages_delivered_total 1$/m);
    assert.match(text, /^fanout_rejected_total\{reason="invalid_json"\} 1$/m);
    assert.match(text, /^process_resident_memory_bytes [1-9]\d*$/m);
    assert.match(text, /^# TYPE fanout_send_queue_bytes gauge$/m);
    await Promise.all([a.close(), b.close()]);
  } finally {
    await srv.stop();
  }
});

testWithPermissions("http: the handshake answers 426, 400, 403 and 503 with a reason", async () => {
  const srv = await startTestServer({ MAX_CONNECTIONS: "1" });
  try {
    const [plainGet, why] = await status(srv.httpUrl("/ws"));
    assert.equal(plainGet, 426);
    assert.match(why, /WebSocket/);
    const [bad, badWhy] = await status(srv.httpUrl("/ws?room=No%20Spaces"), upgrade);
    assert.equal(bad, 400);
    assert.match(badWhy, /^bad request: room must be/);
    const [foreign, foreignWhy] = await status(srv.httpUrl("/ws"), {
      ...upgrade,
      origin: "http://evil.example",
    });
    assert.equal(foreign, 403);
    assert.match(foreignWhy, /origin http:\/\/evil.example is not allowed/);
    await assert.rejects(
      TestClient.connect(srv.wsUrl(), { headers: { origin: "http://evil.example" } }),
      /could not connect/,
    );

    const { client } = await TestClient.join(srv.wsUrl({ room: "full" }));
    const [full, fullWhy] = await status(srv.httpUrl("/ws"), upgrade);
    assert.equal(full, 503);
    assert.match(fullWhy, /server is full \(1 connections\)/);
    await client.close();
    const [missing] = await status(srv.httpUrl("/nope"));
    assert.equal(missing, 404);
  } finally {
    await srv.stop();
  }
});

testWithPermissions("http: same-origin browsers and allow-listed origins may connect", async () => {
  const srv = await startTestServer({ ALLOWED_ORIGINS: "http://app.example" });
  try {
    const c = await TestClient.connect(srv.wsUrl(), { headers: { origin: "http://app.example" } });
    await c.next((f) => f.type === "welcome");
    await c.close();
  } finally {
    await srv.stop();
  }
  const same = await startTestServer();
  try {
    const host = new URL(same.httpUrl("/")).host;
    const c = await TestClient.connect(same.wsUrl(), { headers: { origin: `http://${host}` } });
    await c.next((f) => f.type === "welcome");
    await c.close();
  } finally {
    await same.stop();
  }
});

testWithPermissions(
  "http: while draining /healthz is 503 and new sockets are refused",
  async () => {
    const srv = await startTestServer();
    try {
      srv.server.fanout.deps.lifecycle.draining = true;
      const res = await fetch(srv.httpUrl("/healthz"));
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: "draining", engine: "memory" });
      const [code] = await status(srv.httpUrl("/ws"), upgrade);
      assert.equal(code, 503);
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions("http: / renders a page", async () => {
  const srv = await startTestServer();
  try {
    const res = await fetch(srv.httpUrl("/?room=dev"));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /text\/html/);
    assert.match(await res.text(), /Fanout/);
  } finally {
    await srv.stop();
  }
});
