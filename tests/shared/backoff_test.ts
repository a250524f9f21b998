import assert from "node:assert/strict";
import { DEFAULT_BACKOFF } from "../../lib/client/socket_loop.ts";
import { backoffDelay } from "../../lib/shared/backoff.ts";
import { fakeClient, welcomeFrame } from "../helpers/fake_socket.ts";

Deno.test("backoffDelay: full jitter below min(cap, base * 2^attempt)", () => {
  assert.equal(backoffDelay(0, DEFAULT_BACKOFF, () => 1), 500);
  assert.equal(backoffDelay(0, DEFAULT_BACKOFF, () => 0.5), 250);
  assert.equal(backoffDelay(3, DEFAULT_BACKOFF, () => 1), 4000);
  assert.equal(backoffDelay(5, DEFAULT_BACKOFF, () => 1), 15_000, "capped");
  assert.equal(backoffDelay(60, DEFAULT_BACKOFF, () => 0.5), 7500, "huge attempts stay capped");
  assert.equal(backoffDelay(4, DEFAULT_BACKOFF, () => 0), 0, "full jitter reaches zero");
});

Deno.test("backoffDelay: a 1008 close waits at least the cap", () => {
  assert.equal(backoffDelay(0, DEFAULT_BACKOFF, () => 0, true), 15_000);
  assert.ok(backoffDelay(0, DEFAULT_BACKOFF, () => 0.99, true) >= 15_000);
});

Deno.test("client: delays grow per failed attempt and follow random()", () => {
  let r = 1;
  const t = fakeClient({ random: () => r });
  t.client.connect();
  const expected = [500, 1000, 2000, 4000, 8000, 15_000, 15_000];
  for (const delay of expected) {
    t.net.last.fail();
    assert.equal(t.client.state, "reconnecting");
    assert.equal(t.of("state").at(-1)?.retryInMs, delay);
    t.clock.advance(delay - 1);
    const before = t.net.sockets.length;
    t.clock.advance(1);
    assert.equal(t.net.sockets.length, before + 1, `a new attempt after ${delay} ms`);
  }
  r = 0.25;
  t.net.last.fail();
  assert.equal(t.of("state").at(-1)?.retryInMs, 3750, "jitter scales the capped ceiling");
});

Deno.test("client: attempts reset only after a connection stayed up stableMs", () => {
  const t = fakeClient({ random: () => 1, backoff: { stableMs: 10_000 } });
  t.client.connect();
  t.net.last.fail(); // attempt 0 -> 500
  t.clock.advance(500);
  t.net.last.fail(); // attempt 1 -> 1000
  t.clock.advance(1000);
  t.goOnline();
  t.clock.advance(9_999);
  t.net.last.serverClose(1006);
  assert.equal(t.of("state").at(-1)?.retryInMs, 2000, "short-lived connection does not reset");
  t.clock.advance(2000);
  t.goOnline();
  t.clock.advance(10_000);
  t.net.last.serverClose(1012, "server restarting");
  assert.equal(t.of("state").at(-1)?.retryInMs, 500, "stable connection resets the backoff");
  t.client.disconnect();
});

Deno.test("client: 4008, 1012 and 1006 reconnect normally; 1008 waits at least the cap", () => {
  for (const code of [4008, 1012, 1006]) {
    const t = fakeClient({ random: () => 1 });
    const socket = t.goOnline();
    socket.serverClose(code);
    const last = t.of("state").at(-1)!;
    assert.deepEqual(
      [last.state, last.retryInMs, last.closeCode],
      ["reconnecting", 500, code],
    );
    t.clock.advance(500);
    assert.equal(t.net.sockets.length, 2, `reconnected after ${code}`);
    t.client.disconnect();
  }
  const t = fakeClient({ random: () => 0 });
  t.goOnline().serverClose(1008, "rate limit exceeded");
  assert.ok(t.of("state").at(-1)!.retryInMs! >= 15_000);
  t.clock.advance(14_999);
  assert.equal(t.net.sockets.length, 1, "no reconnect before the cap");
  t.clock.advance(1);
  assert.equal(t.net.sockets.length, 2);
  t.client.disconnect();
});

Deno.test("client: disconnect closes with 1000 and never reconnects", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  t.client.disconnect();
  assert.deepEqual(socket.closedWith, { code: 1000, reason: "bye" });
  assert.equal(t.client.state, "offline");
  socket.finishClose();
  t.clock.advance(60_000);
  assert.equal(t.net.sockets.length, 1);
  assert.deepEqual(t.clock.remaining(), [], "no timer left behind");
  assert.equal(t.client.state, "offline");
});

Deno.test("client: disconnect while waiting cancels the retry; connect starts again", () => {
  const t = fakeClient();
  t.goOnline().serverClose(1006);
  t.client.disconnect();
  t.clock.advance(60_000);
  assert.equal(t.net.sockets.length, 1);
  t.client.connect();
  assert.equal(t.net.sockets.length, 2);
  assert.equal(t.client.state, "connecting");
  t.client.connect();
  assert.equal(t.net.sockets.length, 2, "connect is idempotent");
  t.client.disconnect();
});

Deno.test("client: whenClosed resolves after the close handshake finishes", async () => {
  const t = fakeClient();
  const socket = t.goOnline();
  t.client.disconnect();
  let done = false;
  const closed = t.client.whenClosed().then(() => done = true);
  await Promise.resolve();
  assert.equal(done, false);
  socket.finishClose();
  await closed;
  assert.equal(done, true);
});

Deno.test("client: a socket that never gets a welcome is dropped after connectTimeoutMs", () => {
  const t = fakeClient({ connectTimeoutMs: 3000, random: () => 1 });
  t.client.connect();
  t.net.last.open();
  t.clock.advance(3000);
  assert.equal(t.net.last.closedWith?.code, 4000);
  assert.equal(t.client.state, "reconnecting");
  t.clock.advance(500);
  assert.equal(t.net.sockets.length, 2);
  t.client.disconnect();
});

Deno.test("client: notifyOnline during the backoff wait reconnects at once", () => {
  const t = fakeClient({
    random: () => 1,
    backoff: { baseMs: 10_000, capMs: 10_000 },
    connectTimeoutMs: 7_000,
  });
  t.goOnline().serverClose(1006);
  assert.equal(t.client.state, "reconnecting");
  assert.deepEqual(t.clock.remaining(), [10_000]);
  t.client.notifyOnline();
  assert.equal(t.net.sockets.length, 2, "no wait for the timer");
  assert.equal(t.client.state, "connecting");
  assert.deepEqual(t.clock.remaining(), [7_000], "only the connect timeout is left");
  t.net.last.open();
  t.clock.advance(6_999);
  assert.equal(t.net.sockets.length, 2, "the old retry timer was cancelled");
  t.client.disconnect();
});

Deno.test("client: notifyVisible during the backoff wait reconnects at once after a long sleep", () => {
  const t = fakeClient({ random: () => 1, backoff: { baseMs: 10_000, capMs: 10_000 } });
  t.goOnline().serverClose(1006);
  t.client.notifyVisible(4_999);
  assert.equal(t.net.sockets.length, 1, "a short hide changes nothing");
  assert.equal(t.client.state, "reconnecting");
  t.client.notifyVisible(5_000);
  assert.equal(t.net.sockets.length, 2);
  assert.equal(t.client.state, "connecting");
  t.net.last.open();
  t.net.last.receive(welcomeFrame({ recovered: true }));
  assert.equal(t.client.state, "online");
  t.client.notifyVisible(60_000); // online: a liveness check, not a new socket
  assert.equal(t.net.sockets.length, 2);
  assert.equal(t.net.last.frames("ping").length, 1);
  t.client.disconnect();
});

Deno.test("client: notifyOnline and notifyVisible do nothing while offline or idle", () => {
  const t = fakeClient();
  t.client.notifyOnline();
  t.client.notifyVisible(60_000);
  assert.equal(t.net.sockets.length, 0);
  t.goOnline();
  t.client.disconnect();
  t.client.notifyOnline();
  t.client.notifyVisible(60_000);
  assert.equal(t.net.sockets.length, 1);
  assert.equal(t.client.state, "offline");
});

Deno.test("client: ping() pings only when online and never cuts a backoff wait short", () => {
  const t = fakeClient({ random: () => 1, backoff: { baseMs: 10_000, capMs: 10_000 } });
  t.client.ping();
  assert.equal(t.net.sockets.length, 0, "idle: nothing");
  const socket = t.goOnline();
  t.client.ping();
  t.client.ping();
  assert.equal(socket.frames("ping").length, 1, "online: one ping, until it is answered");
  socket.serverClose(1006);
  t.client.ping();
  assert.equal(t.net.sockets.length, 1, "reconnecting: no new socket");
  assert.deepEqual(t.clock.remaining(), [10_000], "the backoff wait is kept");
  t.client.disconnect();
  t.client.ping();
  assert.equal(t.net.sockets.length, 1);
});
