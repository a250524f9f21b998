import assert from "node:assert/strict";
import { fakeClient, welcomeFrame } from "../helpers/fake_socket.ts";

const ping = { intervalMs: 20_000, timeoutMs: 10_000 };

Deno.test("liveness: pings every intervalMs while online and measures the RTT from the pong", () => {
  const t = fakeClient({ ping });
  const socket = t.goOnline();
  t.clock.advance(19_999);
  assert.equal(socket.frames("ping").length, 0);
  t.clock.advance(1);
  const [first] = socket.frames("ping");
  assert.deepEqual(first, { type: "ping", t: 20_000 });
  t.clock.advance(42);
  socket.receive({ type: "pong", t: first.t });
  assert.deepEqual(t.of("rtt"), [{ ms: 42 }]);
  assert.equal(t.client.rttMs, 42);
  t.clock.advance(20_000);
  assert.equal(socket.frames("ping").length, 2);
  assert.equal(t.client.state, "online");
  t.client.disconnect();
});

Deno.test("liveness: no answer within timeoutMs closes the socket and reconnects", () => {
  const t = fakeClient({ ping, random: () => 1 });
  const socket = t.goOnline();
  t.clock.advance(20_000); // ping sent
  t.clock.advance(9_999);
  assert.equal(t.client.state, "online");
  t.clock.advance(1);
  assert.equal(socket.closedWith?.code, 4000, "the dead socket is closed by the client");
  const state = t.of("state").at(-1)!;
  assert.deepEqual([state.state, state.closeCode], ["reconnecting", 4000]);
  t.clock.advance(500);
  assert.equal(t.net.sockets.length, 2);
  socket.finishClose(); // a late close of the old socket changes nothing
  assert.equal(t.client.state, "connecting");
  t.client.disconnect();
});

Deno.test("liveness: any frame within the deadline counts as alive", () => {
  const t = fakeClient({ ping });
  const socket = t.goOnline();
  t.clock.advance(20_000);
  t.clock.advance(5_000);
  socket.receive({ type: "presence", online: 3 });
  t.clock.advance(5_000);
  assert.equal(t.client.state, "online");
  assert.equal(socket.closedWith, null);
  t.client.disconnect();
});

Deno.test("liveness: no pings before the welcome nor after a disconnect", () => {
  const t = fakeClient({ ping, connectTimeoutMs: 100_000 });
  t.client.connect();
  t.net.last.open();
  t.clock.advance(50_000);
  assert.equal(t.net.last.frames("ping").length, 0);
  t.net.last.receive(welcomeFrame());
  t.client.disconnect();
  t.clock.advance(50_000);
  assert.equal(t.net.last.frames("ping").length, 0);
  assert.deepEqual(t.clock.remaining(), []);
});

Deno.test("liveness: notifyVisible after a long sleep pings at once; a short one does not", () => {
  const t = fakeClient({ ping });
  const socket = t.goOnline();
  t.client.notifyVisible(1000);
  assert.equal(socket.frames("ping").length, 0);
  t.client.notifyVisible(60_000);
  assert.equal(socket.frames("ping").length, 1);
  t.client.notifyVisible(60_000);
  assert.equal(socket.frames("ping").length, 1, "one check at a time");
  t.clock.advance(10_000);
  assert.equal(t.client.state, "reconnecting", "the check found the socket dead");
  t.client.disconnect();
});
