/**
 * The accept loop over a fake listener and manual timers: the total and per-address caps at
 * their boundaries (and slots freed for reuse), Nagle's algorithm off on every connection, accept
 * failing like EMFILE without the loop exiting, WebSocket heartbeats, and close(): drained, then
 * what is left closed after the grace.
 */

import assert from "node:assert/strict";
import { addressKey } from "../../lib/transport/client_address.ts";
import type { FetchHandler, HttpLimits } from "../../lib/transport/http_connection.ts";
import { upgradeWebSocket } from "../../lib/transport/http_connection.ts";
import {
  type ConnectionRefusal,
  HttpServer,
  type HttpServerOptions,
} from "../../lib/transport/http_server.ts";
import { emfile, type FakeConn, FakeListener, tick, until } from "../helpers/fake_conn.ts";
import { ManualTimers } from "../helpers/manual_timers.ts";
import { serverFrames } from "../helpers/masked_frames.ts";

const LIMITS: HttpLimits = {
  maxHeadBytes: 4096,
  maxBodyBytes: 1000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 60_000,
  maxWsMessageBytes: 1000,
  wsCloseTimeoutMs: 2000,
  inbound: { held: 0, max: 1 << 20 },
};
const HEARTBEAT_MS = 500; // idleTimeoutMs / 4

function setup(options: Partial<HttpServerOptions> = {}) {
  const timers = new ManualTimers();
  const listener = new FakeListener();
  const refused: [ConnectionRefusal, string][] = [];
  const acceptErrors: [unknown, number][] = [];
  const handler: FetchHandler = (req, info) =>
    new Response(`ok ${new URL(req.url).pathname} from ${info.remoteAddr.hostname}`);
  const server = new HttpServer({
    handler,
    limits: LIMITS,
    origin: "http://127.0.0.1:8000",
    maxConnections: 3,
    maxConnectionsPerAddress: 2,
    idleTimeoutMs: 4 * HEARTBEAT_MS,
    onRefused: (reason, address) => refused.push([reason, address]),
    onAcceptError: (err, open) => acceptErrors.push([err, open]),
    now: timers.now,
    timers: timers,
    ...options,
  });
  const state = { served: false };
  const served = server.serve(listener).then(() => {
    state.served = true;
  });
  const connect = async (hostname: string) => {
    const conn = listener.connect(hostname);
    await until(() => listener.accepting, "the next accept");
    return conn;
  };
  return { timers, listener, server, refused, acceptErrors, state, served, connect };
}

async function refusedWith(conn: FakeConn, status: number, reason: string): Promise<void> {
  await until(() => conn.closed, "the refusal");
  const text = conn.text();
  assert.ok(text.startsWith(`HTTP/1.1 ${status} `), text);
  assert.ok(text.endsWith(`\r\n\r\n${reason}\n`), text);
  assert.match(text, /\r\nconnection: close\r\n/);
  assert.equal(conn.readCalls, 0, "a refused connection is not read");
}

async function answered(conn: FakeConn, path = "/"): Promise<void> {
  conn.feed(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
  await until(() => conn.text().includes(`ok ${path}`), `the response to ${path}`);
}

// --- caps ----------------------------------------------------------------------------------------

Deno.test("HttpServer: exactly maxConnections are held; one more gets 503 unread", async () => {
  const t = setup({ maxConnections: 3, maxConnectionsPerAddress: 100 });
  const held = [
    await t.connect("10.0.0.1"),
    await t.connect("10.0.0.2"),
    await t.connect("10.0.0.3"),
  ];
  assert.equal(t.server.connections, 3);
  for (const conn of held) assert.equal(conn.closed, false);
  const fourth = await t.connect("10.0.0.4");
  await refusedWith(fourth, 503, "server is full; retry later");
  assert.deepEqual(t.refused, [["connections_full", "10.0.0.4"]]);
  assert.equal(t.server.connections, 3, "the refused one is not counted");
  // The held ones still work.
  await answered(held[0], "/still");
});

Deno.test("HttpServer: a freed slot is reused", async () => {
  const t = setup({ maxConnections: 2, maxConnectionsPerAddress: 100 });
  const a = await t.connect("10.0.0.1");
  await t.connect("10.0.0.2");
  a.end(); // the peer leaves
  await until(() => t.server.connections === 1, "the slot freed");
  const c = await t.connect("10.0.0.3");
  assert.equal(t.server.connections, 2);
  await answered(c);
  await refusedWith(await t.connect("10.0.0.4"), 503, "server is full; retry later");
});

Deno.test("HttpServer: exactly maxConnectionsPerAddress per address; one more gets 429", async () => {
  const t = setup({ maxConnections: 100, maxConnectionsPerAddress: 2 });
  const first = await t.connect("10.0.0.1");
  await t.connect("10.0.0.1");
  const third = await t.connect("10.0.0.1");
  await refusedWith(third, 429, "too many connections from your address (at most 2)");
  assert.deepEqual(t.refused, [["connections_per_address", "10.0.0.1"]]);
  // Another address is not affected.
  const other = await t.connect("10.0.0.9");
  await answered(other);
  // A slot freed by the first address is its again.
  first.end();
  await until(() => t.server.connections === 2, "the slot freed");
  const again = await t.connect("10.0.0.1");
  await answered(again, "/again");
  assert.equal(t.server.connections, 3);
});

Deno.test("HttpServer: a connection closed by the server frees its slot too", async () => {
  const t = setup({ maxConnections: 100, maxConnectionsPerAddress: 1 });
  const a = await t.connect("10.0.0.1");
  a.feed("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  await until(() => a.closed, "the close after the response");
  await until(() => t.server.connections === 0, "the slot freed");
  await answered(await t.connect("10.0.0.1"));
});

Deno.test("HttpServer: addresses are counted by addressKey: one IPv6 /64, IPv4-mapped as IPv4", async () => {
  const t = setup({ maxConnections: 100, maxConnectionsPerAddress: 2, addressKey });
  await t.connect("2001:db8:1:2::1");
  await t.connect("2001:db8:1:2:ffff::9");
  const third = await t.connect("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
  await refusedWith(third, 429, "too many connections from your address (at most 2)");
  assert.deepEqual(t.refused, [["connections_per_address", "2001:db8:1:2::/64"]]);
  await answered(await t.connect("2001:db8:1:3::1"), "/other-64");
  await t.connect("192.0.2.1");
  await t.connect("::ffff:192.0.2.1");
  await refusedWith(
    await t.connect("192.0.2.1"),
    429,
    "too many connections from your address (at most 2)",
  );
  assert.deepEqual(t.refused.at(-1), ["connections_per_address", "192.0.2.1"]);
});

Deno.test("HttpServer: the handler gets the peer's address", async () => {
  const t = setup();
  const conn = await t.connect("198.51.100.4");
  await answered(conn, "/who");
  assert.ok(conn.text().endsWith("ok /who from 198.51.100.4"));
});

// --- Nagle's algorithm -------------------------------------------------------------------------

Deno.test("HttpServer: every accepted connection gets setNoDelay(true) once, refused ones too", async () => {
  const t = setup({ maxConnections: 100, maxConnectionsPerAddress: 1 });
  const served = await t.connect("10.0.0.1");
  assert.deepEqual(served.noDelayCalls, [true], "set at accept, before any request");
  await answered(served);
  assert.deepEqual(served.noDelayCalls, [true], "once per connection, not per request");
  const refused = await t.connect("10.0.0.1"); // over the per-address cap
  await refusedWith(refused, 429, "too many connections from your address (at most 1)");
  assert.deepEqual(refused.noDelayCalls, [true]);
});

Deno.test("HttpServer: a connection without setNoDelay, or whose setNoDelay throws, is served", async () => {
  const t = setup({ maxConnections: 100, maxConnectionsPerAddress: 100 });
  // The server takes the connection a turn after accept resolves: patched before that.
  const unix = t.listener.connect("10.0.0.1");
  Object.assign(unix, { setNoDelay: undefined });
  await until(() => t.listener.accepting, "the next accept");
  await answered(unix, "/unix");
  const reset = t.listener.connect("10.0.0.2");
  reset.setNoDelay = () => {
    throw Object.assign(new Error("Bad resource ID"), { name: "BadResource" });
  };
  await until(() => t.listener.accepting, "the next accept");
  await answered(reset, "/reset");
  assert.equal(t.state.served, false, "the accept loop goes on");
});

// --- accept errors -----------------------------------------------------------------------------

Deno.test("HttpServer: accept failing with EMFILE several times backs off and keeps serving", async () => {
  const t = setup();
  const backoff = () => t.timers.delays().filter((d) => d !== HEARTBEAT_MS && d <= 1000);
  for (const expected of [10, 20, 40, 80]) {
    t.listener.failAccept(emfile());
    await until(() => backoff().length === 1, `the backoff of ${expected} ms`);
    assert.deepEqual(backoff(), [expected]);
    t.timers.advance(expected);
    await until(() => t.listener.accepting, "the accept after the backoff");
  }
  assert.equal(t.acceptErrors.length, 4);
  assert.match(String(t.acceptErrors[0][0]), /Too many open files/);
  assert.equal(t.state.served, false, "the accept loop did not exit");
  const conn = await t.connect("10.0.0.1");
  await answered(conn, "/after-emfile");
  conn.end(); // no connection waits for a request: nothing can make way, so the loop waits
  await until(() => t.server.connections === 0, "the connection gone");
  // Success resets the backoff.
  t.listener.failAccept(emfile());
  await until(() => backoff().length === 1, "the backoff");
  assert.deepEqual(backoff(), [10]);
});

Deno.test("HttpServer: the backoff doubles up to 1000 ms", async () => {
  const t = setup();
  const backoff = () => t.timers.delays().filter((d) => d !== HEARTBEAT_MS && d <= 1000);
  const seen: number[] = [];
  for (let i = 0; i < 9; i++) {
    t.listener.failAccept(emfile());
    await until(() => backoff().length === 1, "the backoff");
    seen.push(backoff()[0]);
    t.timers.advance(backoff()[0]);
    await until(() => t.listener.accepting, "the accept after the backoff");
  }
  assert.deepEqual(seen, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
  assert.equal(t.state.served, false);
});

Deno.test("HttpServer: the open count is reported with an accept error", async () => {
  const t = setup();
  await t.connect("10.0.0.1");
  await t.connect("10.0.0.2");
  t.listener.failAccept(new Error("Too many open files in system (os error 23)"));
  await until(() => t.acceptErrors.length === 1, "the error");
  assert.equal(t.acceptErrors[0][1], 2);
});

Deno.test("HttpServer: a closed listener ends the accept loop", async () => {
  const t = setup();
  t.listener.failAccept(Object.assign(new Error("Bad resource ID"), { name: "BadResource" }));
  await t.served;
  assert.equal(t.acceptErrors.length, 0);
});

// --- heartbeats ----------------------------------------------------------------------------------

Deno.test("HttpServer: silent WebSockets are pinged at half the idle time and closed at idle", async () => {
  const handler: FetchHandler = (req) => upgradeWebSocket(req).response;
  const t = setup({ handler });
  const conn = await t.connect("10.0.0.1");
  conn.feed(
    "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await until(() => t.server.webSockets === 1, "the upgrade");
  const frames = () => serverFrames(conn.bytes().subarray(conn.text().indexOf("\r\n\r\n") + 4));
  t.timers.advance(2 * HEARTBEAT_MS - 1);
  await tick();
  assert.deepEqual(frames(), [], "no ping before half the idle time");
  t.timers.advance(1); // 1000 ms of silence: half of 2000
  await until(() => frames().length === 1, "the ping");
  assert.equal(frames()[0].opcode, 9);
  t.timers.advance(2 * HEARTBEAT_MS); // 2000 ms: closed 1001
  await until(() => frames().length === 2, "the close");
  assert.equal(frames()[1].code, 1001);
  t.timers.advance(LIMITS.wsCloseTimeoutMs); // the peer never answers
  await until(() => t.server.webSockets === 0, "the socket gone");
  assert.equal(conn.closed, true);
  await until(() => t.server.connections === 0, "the connection gone");
});

// --- close ---------------------------------------------------------------------------------------

Deno.test("HttpServer: close() with nothing open returns at once and ends the accept loop", async () => {
  const t = setup();
  await t.server.close(5000);
  await t.served;
  assert.equal(t.listener.closed, true);
  assert.equal(t.timers.pending, 0, "no heartbeat and no grace timer left");
});

Deno.test("HttpServer: close() lets a request in progress finish, then closes its connection", async () => {
  const gate = Promise.withResolvers<void>();
  const t = setup({
    handler: async () => {
      await gate.promise;
      return new Response("finished");
    },
  });
  const conn = await t.connect("10.0.0.1");
  conn.feed("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
  await tick();
  let closed = false;
  const closing = t.server.close(5000).then(() => closed = true);
  await tick();
  assert.equal(t.listener.closed, true, "no more accepts");
  assert.equal(closed, false, "waits for the request");
  gate.resolve();
  await closing;
  assert.ok(conn.text().endsWith("finished"));
  assert.match(conn.text(), /\r\nconnection: close\r\n/);
  assert.equal(conn.closed, true);
  assert.ok(t.timers.time < 5000, "before the grace ran out");
  assert.equal(t.timers.pending, 0);
});

Deno.test("HttpServer: close() closes what is still open after the grace", async () => {
  const gate = Promise.withResolvers<void>();
  const t = setup({
    handler: async () => {
      await gate.promise;
      return new Response("too late");
    },
  });
  const busy = await t.connect("10.0.0.1");
  busy.feed("GET /stuck HTTP/1.1\r\nHost: a\r\n\r\n");
  const idle = await t.connect("10.0.0.2"); // never sends a byte
  await tick();
  let closed = false;
  const closing = t.server.close(5000).then(() => closed = true);
  await tick();
  assert.equal(idle.closed, true, "a connection waiting for a request is closed at once");
  t.timers.advance(4999);
  await tick();
  assert.equal(closed, false);
  assert.equal(busy.closed, false, "a request in progress gets the grace");
  t.timers.advance(1);
  await closing;
  assert.equal(busy.closed, true);
  gate.resolve();
  await until(() => t.server.connections === 0, "the connections gone");
  assert.equal(busy.text(), "", "nothing written after the grace");
  await t.served;
});

Deno.test("HttpServer: close() twice is harmless; the second waits the same way", async () => {
  const t = setup();
  await t.connect("10.0.0.1");
  const one = t.server.close(100);
  const two = t.server.close(100);
  t.timers.advance(100);
  await Promise.all([one, two]);
  await until(() => t.server.connections === 0, "the connection gone");
  await t.server.close(100);
});

Deno.test("HttpServer: close() closes kept-alive connections waiting for a request at once", async () => {
  const t = setup();
  const idle = await t.connect("192.0.2.1");
  idle.feed("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  await until(() => idle.text().includes("ok /a"), "the first response");
  await tick();
  const closing = t.server.close(60_000);
  await until(() => idle.closed, "the idle connection closed without waiting for the grace");
  await closing;
  assert.equal(t.server.connections, 0);
});

Deno.test("HttpServer: out of descriptors, a connection that waited again after many requests is not the oldest", async () => {
  const t = setup({ maxConnections: 10, maxConnectionsPerAddress: 10 });
  const busy = await t.connect("10.0.0.1");
  const idle = await t.connect("10.0.0.2"); // waits for its first request from here on
  const later = await t.connect("10.0.0.3");
  // The first connection leaves the wait and comes back 300 times (keep-alive requests).
  for (let i = 0; i < 300; i++) await answered(busy, `/r${i}`);
  await tick();
  t.listener.failAccept(emfile());
  await until(() => idle.closed, "the connection waiting since it connected makes way");
  assert.deepEqual([busy.closed, later.closed], [false, false]);
  t.listener.failAccept(emfile());
  await until(() => later.closed, "then the next one by when it began to wait");
  assert.equal(busy.closed, false, "the busy one began to wait last");
  await t.server.close(100);
});

Deno.test("HttpServer: out of descriptors, the connection waiting longest for a request makes way", async () => {
  const t = setup({ maxConnections: 10, maxConnectionsPerAddress: 10 });
  const slowest = await t.connect("10.0.0.1"); // sends nothing: waits for its first request
  const slow = await t.connect("10.0.0.2");
  slow.feed("GET /half"); // a request head that never ends
  await tick();
  t.listener.failAccept(emfile());
  await until(() => slowest.closed, "the longest waiting connection is closed");
  assert.equal(slow.closed, false, "only one makes way per failed accept");
  assert.deepEqual(t.refused.at(-1), ["descriptors_exhausted", ""]);
  assert.equal(
    t.timers.delays().filter((d) => d !== HEARTBEAT_MS && d <= 1000).length,
    0,
    "accepting again at once, no backoff",
  );
  await until(() => t.listener.accepting, "the next accept");
  const newcomer = await t.connect("10.0.0.3");
  await answered(newcomer, "/served");
});
