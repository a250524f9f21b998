import assert from "node:assert/strict";
import { fakeHub } from "../helpers/fake_hub.ts";

const msg = (text: string, ref?: string) => JSON.stringify({ type: "message", text, ref });

Deno.test("hub: a message reaches every other connection of the room, never the sender", async () => {
  const t = fakeHub();
  const a = await t.connect({ name: "Ann" });
  const b = await t.connect();
  const c = await t.connect();
  const other = await t.connect({ room: "elsewhere" });
  for (const s of [a, b, c, other]) s.socket.sent.length = 0;
  t.hub.receive(a.conn, msg("hello", "r1"));
  await t.turn();
  for (const peer of [b, c]) {
    const [m] = peer.socket.objects();
    assert.equal(m.type, "message");
    assert.equal(m.text, "hello");
    assert.equal(m.from, a.conn.id);
    assert.equal(m.name, "Ann");
    assert.equal(m.offset, 1);
  }
  assert.deepEqual(a.socket.objects(), [{ type: "ack", ref: "r1", offset: 1, ts: 1_000_000 }]);
  assert.deepEqual(other.socket.sent, [], "another room sees nothing");
  assert.equal(t.hub.metrics.messagesOut, 2);
});

Deno.test("hub: everything queued in one turn leaves as one NDJSON frame per connection", async () => {
  const t = fakeHub();
  const a = await t.connect();
  const b = await t.connect();
  b.socket.sent.length = 0;
  for (let i = 1; i <= 3; i++) t.hub.receive(a.conn, msg(`m${i}`));
  await t.turn();
  assert.equal(b.socket.sent.length, 1);
  assert.deepEqual(b.socket.objects().map((m) => m.text), ["m1", "m2", "m3"]);
});

Deno.test("hub: plain clients get bare texts, one frame each, and plain errors", async () => {
  const t = fakeHub();
  const a = await t.connect();
  const p = await t.connect({}, false);
  assert.deepEqual(p.socket.sent, [], "plain mode gets no welcome or presence");
  t.hub.receive(a.conn, msg("one"));
  t.hub.receive(a.conn, msg("two"));
  await t.turn();
  assert.deepEqual(p.socket.sent, ["one", "two"]);
  t.hub.receive(p.conn, "   ");
  t.hub.receive(p.conn, "from plain");
  await t.tick();
  assert.match(p.socket.sent[2], /^error: text is empty/);
  assert.equal(a.socket.objects().filter((m) => m.type === "message").at(-1).text, "from plain");
});

Deno.test("hub: the welcome comes first and carries recent history", async () => {
  const t = fakeHub({ HISTORY_ON_JOIN: "2" });
  const a = await t.connect();
  for (const text of ["x", "y", "z"]) t.hub.receive(a.conn, msg(text));
  await t.turn();
  const b = await t.connect();
  const [welcome] = b.socket.objects();
  assert.equal(welcome.type, "welcome");
  assert.equal(welcome.offset, 3);
  assert.equal(welcome.epoch, "epoch1");
  assert.equal(welcome.online, 2);
  assert.equal(welcome.recovered, false);
  assert.deepEqual(welcome.history.map((m: { text: string }) => m.text), ["y", "z"]);
  assert.equal(welcome.limits.maxMessageBytes, 65536);
});

Deno.test("hub: resume replays what was missed, without the client's own messages", async () => {
  const t = fakeHub();
  const mine = await t.connect({ client: "client-0001" });
  const other = await t.connect();
  t.hub.receive(mine.conn, msg("own"));
  t.hub.receive(other.conn, msg("theirs"));
  t.hub.receive(other.conn, msg("later"));
  await t.turn();
  t.hub.remove(mine.conn);
  const back = await t.connect({ client: "client-0001", resume: { since: 0, epoch: "epoch1" } });
  const [welcome] = back.socket.objects();
  assert.equal(welcome.recovered, true);
  assert.deepEqual(welcome.history.map((m: { text: string }) => m.text), ["theirs", "later"]);
  const stale = await t.connect({ resume: { since: 1, epoch: "old-epoch" } });
  assert.equal(stale.socket.objects()[0].recovered, false);
});

Deno.test("hub: a resent ref is acknowledged with the original offset and not broadcast again", async () => {
  const t = fakeHub();
  const a = await t.connect({ client: "client-0001" });
  const b = await t.connect();
  t.hub.receive(a.conn, msg("once", "ref-1"));
  await t.turn();
  t.hub.remove(a.conn);
  const again = await t.connect({ client: "client-0001" });
  again.socket.sent.length = 0;
  t.advance(60_000);
  t.hub.receive(again.conn, msg("once", "ref-1"));
  await t.turn();
  assert.deepEqual(again.socket.objects(), [{
    type: "ack",
    ref: "ref-1",
    offset: 1,
    ts: 1_000_000,
  }]);
  assert.equal(b.socket.objects().filter((m) => m.type === "message").length, 1);
  t.advance(300_000);
  t.hub.receive(again.conn, msg("once", "ref-1"));
  await t.turn();
  assert.equal(
    b.socket.objects().filter((m) => m.type === "message").length,
    2,
    "after the TTL it is new",
  );
});

Deno.test("hub: joins within the presence window cost one frame per member", async () => {
  const t = fakeHub();
  const first = await t.connect({ name: "Ann" });
  await t.tick();
  assert.deepEqual(first.socket.objects().at(-1), {
    type: "presence",
    room: "lobby",
    online: 1,
    joined: { id: first.conn.id, name: "Ann" },
  });
  const frames = t.hub.metrics.presenceFrames;
  const n = 1000;
  for (let i = 0; i < n; i++) await t.connect();
  await t.tick();
  assert.equal(
    t.hub.metrics.presenceFrames - frames,
    n + 1,
    "one presence frame per member, not per join",
  );
  assert.deepEqual(first.socket.objects().at(-1), {
    type: "presence",
    room: "lobby",
    online: n + 1,
    joins: n,
    leaves: 0,
  });
  t.hub.remove(first.conn);
  await t.tick();
});

Deno.test("hub: a slow consumer is closed with 4008 and the others still get messages", async () => {
  const t = fakeHub({ MAX_BUFFERED_BYTES: "2048" });
  const a = await t.connect();
  const slow = await t.connect();
  const ok = await t.connect();
  slow.socket.bufferedAmount = 4096;
  t.hub.receive(a.conn, msg("x"));
  await t.turn();
  await t.tick(); // the limit is judged one grace period later
  assert.equal(slow.socket.closeCode, 4008);
  assert.equal(t.hub.size, 2);
  assert.equal(t.hub.metrics.slowConsumers, 1);
  t.hub.receive(a.conn, msg("y"));
  await t.turn();
  assert.deepEqual(ok.socket.objects().filter((m) => m.type === "message").map((m) => m.text), [
    "x",
    "y",
  ]);
});

Deno.test("hub: one failing socket never stops a broadcast", async () => {
  const t = fakeHub();
  const a = await t.connect();
  const broken = await t.connect();
  const fine = await t.connect();
  broken.socket.failSend = true;
  t.hub.receive(a.conn, msg("through"));
  await t.turn();
  assert.equal(fine.socket.objects().filter((m) => m.type === "message")[0].text, "through");
  assert.equal(t.hub.size, 2, "the broken connection is dropped");
});

Deno.test("hub: nothing is sent to a socket that is no longer open", async () => {
  const t = fakeHub();
  const a = await t.connect();
  const b = await t.connect();
  b.socket.sent.length = 0;
  b.socket.readyState = 2;
  t.hub.receive(a.conn, msg("late"));
  await t.turn();
  assert.deepEqual(b.socket.sent, []);
});

Deno.test("hub: rate limit errors carry the ref; sustained abuse closes 1008", async () => {
  const t = fakeHub({ RATE_LIMIT: "1", RATE_BURST: "2", RATE_LIMIT_CLOSE_AFTER: "3" });
  const a = await t.connect();
  a.socket.sent.length = 0;
  for (let i = 0; i < 3; i++) t.hub.receive(a.conn, msg("m", `r${i}`));
  await t.turn();
  const errors = a.socket.objects().filter((m) => m.type === "error");
  assert.deepEqual(errors.map((e) => [e.code, e.ref]), [["rate_limited", "r2"]]);
  t.hub.receive(a.conn, msg("m"));
  assert.equal(a.socket.closeCode, null, "two rejections: still connected");
  t.hub.receive(a.conn, msg("m"));
  assert.equal(a.socket.closeCode, 1008);
  assert.equal(t.hub.size, 0);
});

Deno.test("hub: frame size limit at the boundary; far over closes 1009; binary is refused", async () => {
  const t = fakeHub({ MAX_MESSAGE_BYTES: "100" });
  const a = await t.connect();
  a.socket.sent.length = 0;
  const exact = msg("a".repeat(100 - msg("").length));
  assert.equal(exact.length, 100);
  t.hub.receive(a.conn, exact);
  t.hub.receive(a.conn, exact.replace('"a', '"aa'));
  t.hub.receive(a.conn, new Uint8Array([1, 2]).buffer);
  await t.turn();
  const replies = a.socket.objects().map((m) => m.code ?? m.type).sort();
  assert.deepEqual(
    replies,
    ["ack", "too_large", "unsupported_binary"],
    "replies are matched by ref, not order",
  );
  t.hub.receive(a.conn, "x".repeat(401));
  assert.equal(a.socket.closeCode, 1009);
});

Deno.test("hub: maxConnections refuses the next socket", async () => {
  const t = fakeHub({ MAX_CONNECTIONS: "2" });
  await t.connect();
  await t.connect();
  const entry = t.hub.handshake("127.0.0.9");
  assert.ok(entry.ok);
  const refused = t.hub.admit("lobby", entry.entry);
  assert.equal(refused?.status, 503);
  assert.match(refused!.reason, /server is full \(2 connections\)/);
});

Deno.test("hub: drain closes every socket with 1012", async () => {
  const t = fakeHub();
  const a = await t.connect();
  const b = await t.connect({}, false);
  t.hub.drain();
  assert.equal(a.socket.closeCode, 1012);
  assert.equal(b.socket.closeCode, 1012);
});

Deno.test("hub: FLUSH_BYTES sends a frame early once that many bytes are queued", async () => {
  const t = fakeHub({ FLUSH_BYTES: "1024" });
  const a = await t.connect();
  const b = await t.connect();
  b.socket.sent.length = 0;
  const text = "x".repeat(300); // each delivered message is about 450 bytes
  for (let i = 0; i < 4; i++) t.hub.receive(a.conn, msg(text));
  assert.equal(b.socket.sent.length, 1, "the third message crossed the budget: one early frame");
  assert.equal(b.socket.sent[0].split("\n").length, 3);
  await t.turn();
  assert.equal(b.socket.sent.length, 2, "the fourth leaves at the end of the turn");
  assert.equal(b.socket.objects().length, 4, "no message lost across the two frames");
});

Deno.test("hub: a count changed on other instances reaches members as a presence frame", async () => {
  const t = fakeHub();
  const a = await t.connect();
  const plain = await t.connect({}, false);
  await t.tick();
  a.socket.sent.length = 0;
  t.hub.remotePresence("lobby");
  t.hub.remotePresence("nobody-here");
  await t.tick();
  assert.deepEqual(a.socket.objects(), [{ type: "presence", room: "lobby", online: 2 }]);
  assert.deepEqual(plain.socket.sent, [], "plain clients get texts only");
});

Deno.test("hub: data reaches JSON members as sent, plain members as compact JSON", async () => {
  const t = fakeHub();
  const a = await t.connect();
  const b = await t.connect();
  const p = await t.connect({}, false);
  b.socket.sent.length = 0;
  const data = { order: 42, items: [{ sku: "x", qty: 2 }], note: null };
  t.hub.receive(a.conn, JSON.stringify({ type: "message", data, ref: "d1" }));
  t.hub.receive(a.conn, JSON.stringify({ type: "message", text: "with", data: [1] }));
  await t.turn();
  const got = b.socket.objects().filter((f) => f.type === "message");
  assert.deepEqual(got[0].data, data);
  assert.equal("text" in got[0], false);
  assert.deepEqual([got[1].text, got[1].data], ["with", [1]]);
  assert.deepEqual(p.socket.sent, [JSON.stringify(data), "with"]);
  assert.deepEqual(a.socket.objects().find((f) => f.type === "ack").ref, "d1");
});

Deno.test("hub: an engine that answers at once (recoverNow, membersNow) welcomes as the socket opens once it joined the room; a throw there is unavailable", async () => {
  const t = fakeHub();
  const a = await t.connect();
  t.hub.receive(a.conn, msg("before", "r0"));
  await t.turn();
  const first = t.start({ room: "other" });
  assert.equal(first.conn.queuedBytes, 0, "a room's first joiner waits for the engine's join");
  await first.open;
  assert.ok(first.conn.queuedBytes > 0);
  const b = t.start();
  assert.ok(b.conn.queuedBytes > 0, "the welcome is queued before any promise settles");
  await t.turn();
  const welcome = b.socket.objects()[0];
  assert.deepEqual(
    [welcome.type, welcome.online, welcome.members.map((m: { id: string }) => m.id)],
    ["welcome", 2, ["c3", "c1"]],
  );
  assert.deepEqual(welcome.history.map((m: { text: string }) => m.text), ["before"]);
  t.engine.membersNow = () => {
    throw new Error("broken");
  };
  const c = t.start();
  await c.open;
  await t.turn();
  assert.deepEqual(c.socket.objects().map((f) => [f.type, f.code]), [["error", "unavailable"]]);
  assert.equal(c.socket.closeCode, 1011);
});

Deno.test("hub: an engine that answers at once (publishNow) acks in the same turn; a throw there is unavailable", async () => {
  const t = fakeHub();
  const a = await t.connect();
  const b = await t.connect();
  for (const s of [a, b]) s.socket.sent.length = 0;
  const engine = t.engine;
  t.hub.receive(a.conn, msg("hi", "r1"));
  assert.ok(a.conn.queuedBytes > 0, "the ack is queued before any promise settles");
  await t.turn();
  assert.deepEqual(a.socket.objects().map((f) => [f.type, f.ref, f.offset]), [["ack", "r1", 1]]);
  assert.deepEqual(b.socket.objects().map((f) => [f.type, f.text]), [["message", "hi"]]);
  a.socket.sent.length = 0;
  engine.publishNow = () => {
    throw new Error("broken");
  };
  t.hub.receive(a.conn, msg("again", "r2"));
  await t.turn();
  assert.deepEqual(a.socket.objects(), [{
    type: "error",
    code: "unavailable",
    message: "the message could not be stored; it was not sent, retry later",
    ref: "r2",
  }]);
  assert.equal(t.hub.metrics.rejected.get("unavailable"), 1);
});
