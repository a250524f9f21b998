import assert from "node:assert/strict";
import { fakeClient, welcomeFrame } from "../helpers/fake_socket.ts";

Deno.test("outbox: send while online goes out at once with a unique ref; ack removes it", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  const a = t.client.send("hello");
  const b = t.client.send("again");
  assert.notEqual(a, b);
  assert.match(a, /^myclient1-/);
  assert.deepEqual(socket.frames("message"), [
    { type: "message", text: "hello", ref: a },
    { type: "message", text: "again", ref: b },
  ]);
  assert.deepEqual(t.client.outbox.map((i) => [i.ref, i.status]), [[a, "sent"], [b, "sent"]]);
  socket.receive({ type: "ack", ref: a, offset: 7, ts: 123 });
  assert.deepEqual(t.of("ack"), [{ ref: a, offset: 7, ts: 123, text: "hello" }]);
  assert.deepEqual(t.client.outbox.map((i) => i.ref), [b]);
  assert.deepEqual(t.of("outbox").at(-1)?.items.map((i) => i.ref), [b]);
  socket.receive({ type: "ack", ref: a, offset: 7, ts: 123 });
  assert.equal(t.of("ack").length, 1, "a repeated ack is ignored");
  t.client.disconnect();
});

Deno.test("outbox: two clients with the same client id never share refs", () => {
  let n = 0;
  const random = () => (n++ % 7) / 7;
  const one = fakeClient({ random }).client.send("x");
  const two = fakeClient({ random }).client.send("x");
  assert.notEqual(one, two);
});

Deno.test("outbox: messages written offline wait queued and go out in order on connect", () => {
  const t = fakeClient();
  const refs = ["one", "two", "three"].map((text) => t.client.send(text));
  assert.deepEqual(t.client.outbox.map((i) => i.status), ["queued", "queued", "queued"]);
  assert.equal(t.net.sockets.length, 0);
  t.client.connect();
  t.net.last.open();
  assert.equal(t.net.last.frames("message").length, 0, "nothing before the welcome");
  const socket = t.goOnline();
  assert.deepEqual(socket.frames("message").map((f) => [f.text, f.ref]), [
    ["one", refs[0]],
    ["two", refs[1]],
    ["three", refs[2]],
  ]);
  t.client.disconnect();
});

Deno.test("outbox: unacknowledged messages are resent with the same ref after a reconnect", () => {
  const t = fakeClient();
  const first = t.goOnline();
  const a = t.client.send("a");
  const b = t.client.send("b");
  first.receive({ type: "ack", ref: a, offset: 1, ts: 1 });
  first.serverClose(1006);
  assert.deepEqual(t.client.outbox.map((i) => [i.ref, i.status]), [[b, "queued"]]);
  const c = t.client.send("c");
  t.clock.advance(1000);
  const second = t.net.last;
  second.open();
  second.receive(welcomeFrame({ offset: 2, recovered: true }));
  assert.deepEqual(second.frames("message").map((f) => f.ref), [b, c]);
  second.receive({ type: "ack", ref: b, offset: 2, ts: 2 }, {
    type: "ack",
    ref: c,
    offset: 3,
    ts: 3,
  });
  assert.deepEqual(t.client.outbox, []);
  t.client.disconnect();
});

Deno.test("outbox: a final error removes the message and reports it", () => {
  for (const code of ["too_large", "empty_message", "invalid_message"]) {
    const t = fakeClient();
    const socket = t.goOnline();
    const ref = t.client.send("x");
    socket.receive({ type: "error", code, message: "no", ref });
    assert.deepEqual(t.client.outbox, [], code);
    assert.deepEqual(t.of("error"), [{ code, message: "no", ref }]);
    t.client.disconnect();
  }
});

Deno.test("outbox: rate_limited and unavailable keep the message and resend it later", () => {
  for (const code of ["rate_limited", "unavailable"]) {
    const t = fakeClient({ retrySendMs: 1000 });
    const socket = t.goOnline();
    const ref = t.client.send("x");
    socket.receive({ type: "error", code, message: "later", ref });
    assert.deepEqual(t.client.outbox.map((i) => [i.ref, i.status]), [[ref, "queued"]]);
    assert.equal(t.of("error")[0].retrying, true);
    t.clock.advance(999);
    assert.equal(socket.frames("message").length, 1);
    t.clock.advance(1);
    assert.deepEqual(socket.frames("message").map((f) => f.ref), [ref, ref], code);
    t.client.disconnect();
  }
});

Deno.test("outbox: a long queue is paced below the server's rate limit", () => {
  const t = fakeClient();
  for (let i = 0; i < 30; i++) t.client.send(`m${i}`);
  const socket = t.goOnline({ limits: { maxMessageBytes: 1000, rateLimit: 10, rateBurst: 12 } });
  assert.equal(socket.frames("message").length, 10, "burst minus two kept for pings");
  t.clock.advance(1000);
  const after1s = socket.frames("message").length;
  assert.ok(after1s >= 18 && after1s <= 19, `about 9 more per second, got ${after1s}`);
  t.clock.advance(3000);
  assert.deepEqual(
    socket.frames("message").map((f) => f.text),
    Array.from({ length: 30 }, (_, i) => `m${i}`),
    "all, in order",
  );
  t.client.disconnect();
});

Deno.test("outbox: empty and oversized texts are refused locally with an error event", () => {
  const t = fakeClient();
  const socket = t.goOnline({ limits: { maxMessageBytes: 100, rateLimit: 20, rateBurst: 40 } });
  const empty = t.client.send("   ");
  const big = t.client.send("x".repeat(200));
  assert.deepEqual(t.of("error").map((e) => [e.code, e.ref]), [
    ["empty_message", empty],
    ["too_large", big],
  ]);
  assert.deepEqual(t.client.outbox, []);
  assert.equal(socket.frames("message").length, 0);
  t.client.disconnect();
});

Deno.test("outbox: errors without a known ref are passed on as they are", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  socket.receive({ type: "error", code: "invalid_json", message: "bad" });
  socket.receive({ type: "error", code: "too_large", message: "big", ref: "unknown-1" });
  assert.deepEqual(t.of("error"), [
    { code: "invalid_json", message: "bad" },
    { code: "too_large", message: "big", ref: "unknown-1" },
  ]);
  t.client.disconnect();
});

Deno.test("outbox: text queued before the first welcome is checked against its limits", () => {
  const t = fakeClient();
  const frame = (text: string, ref: string) => JSON.stringify({ type: "message", text, ref });
  const fits = t.client.send("x".repeat(50));
  // Same length as `fits`, but the newline travels as `\n`: one byte over the limit.
  const escaped = t.client.send("y".repeat(49) + "\n");
  const small = t.client.send("z");
  const limit = frame("x".repeat(50), fits).length;
  assert.equal(frame("y".repeat(49) + "\n", escaped).length, limit + 1);
  assert.deepEqual(t.of("error"), [], "unknown limits: nothing refused yet");

  const socket = t.goOnline({ limits: { maxMessageBytes: limit, rateLimit: 20, rateBurst: 40 } });
  assert.deepEqual(t.of("error").map((e) => [e.code, e.ref, e.retrying]), [
    ["too_large", escaped, undefined],
  ]);
  assert.match(t.of("error")[0].message, new RegExp(`limit of ${limit} bytes`));
  assert.deepEqual(socket.frames("message").map((f) => f.ref), [fits, small]);
  assert.deepEqual(t.client.outbox.map((i) => [i.ref, i.status]), [[fits, "sent"], [
    small,
    "sent",
  ]]);
  assert.ok(
    !t.of("outbox").at(-1)?.items.some((i) => i.ref === escaped),
    "the outbox event no longer lists it",
  );

  socket.serverClose(1006);
  t.clock.advance(1000);
  const second = t.goOnline({ limits: { maxMessageBytes: limit, rateLimit: 20, rateBurst: 40 } });
  assert.deepEqual(second.frames("message").map((f) => f.ref), [fits, small], "never resent");
  assert.equal(t.of("error").length, 1);
  t.client.disconnect();
});

Deno.test("outbox: only oversized items dropped at a welcome emit an outbox event", () => {
  const t = fakeClient();
  const big = t.client.send("x".repeat(300));
  const before = t.of("outbox").length;
  t.goOnline({ limits: { maxMessageBytes: 100, rateLimit: 20, rateBurst: 40 } });
  assert.deepEqual(t.of("error").map((e) => [e.code, e.ref]), [["too_large", big]]);
  assert.deepEqual(t.of("outbox").slice(before).map((e) => e.items.length), [0]);
  assert.deepEqual(t.net.last.frames("message"), []);
  t.client.disconnect();
});
