import assert from "node:assert/strict";
import { FanoutClient, parseServerFrames } from "../../lib/client/client.ts";
import { socketUrl } from "../../lib/client/frames.ts";
import { fakeClient, messageFrame, MY_PUBLIC_ID } from "../helpers/fake_socket.ts";

Deno.test("frames: NDJSON is split on newlines; junk lines are skipped", () => {
  const frames = parseServerFrames(
    '{"type":"pong","t":1}\n\n{"type":"ack","ref":"r"}\nnot json\n[1]',
  );
  assert.deepEqual(frames, [{ type: "pong", t: 1 }, { type: "ack", ref: "r" }]);
});

Deno.test("frames: a multi-line frame delivers every message in order", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  socket.receive(
    messageFrame(1),
    messageFrame(2),
    { type: "presence", online: 4 },
    messageFrame(3),
  );
  assert.deepEqual(t.of("message").map((m) => m.offset), [1, 2, 3]);
  assert.equal(t.client.online, 4);
  t.client.disconnect();
});

Deno.test("socketUrl: keeps the base query and rejects bad values with the server's rules", () => {
  const query = { room: "dev", name: "Ann B", client: "abcdefgh", since: null, epoch: null };
  assert.equal(
    socketUrl("wss://h:1/ws?token=x", query),
    "wss://h:1/ws?token=x&room=dev&name=Ann+B&client=abcdefgh",
  );
  assert.throws(() => socketUrl("http://h/ws", query), /ws:\/\/ or wss:\/\//);
  assert.throws(() => socketUrl("nope", query), /absolute/);
  assert.throws(() => socketUrl("ws://h/ws", { ...query, room: "Bad Room" }), /room must be/);
  assert.throws(() => socketUrl("ws://h/ws", { ...query, client: "short" }), /client must be/);
});

Deno.test("constructor: an invalid url, room, name or client id throws at once", () => {
  const base = { url: "ws://h/ws", room: "lobby" };
  assert.throws(() => new FanoutClient({ ...base, url: "http://h" }), /ws:\/\//);
  assert.throws(() => new FanoutClient({ ...base, room: "UPPER" }), /room must be/);
  assert.throws(() => new FanoutClient({ ...base, name: " " }), /name must be/);
  assert.throws(() => new FanoutClient({ ...base, clientId: "x" }), /client must be/);
  const client = new FanoutClient({ ...base, random: () => 0 });
  assert.equal(client.clientId, "0".repeat(16));
  assert.equal(client.state, "idle");
});

Deno.test("state: connecting, online, reconnecting with the wait, connecting again", () => {
  const t = fakeClient({ random: () => 1 });
  t.goOnline().serverClose(1006);
  t.clock.advance(500);
  assert.deepEqual(t.of("state").map((s) => [s.state, s.attempt, s.retryInMs]), [
    ["connecting", 0, null],
    ["online", 0, null],
    ["reconnecting", 1, 500],
    ["connecting", 1, null],
  ]);
  assert.equal(t.client.id, null);
  t.client.disconnect();
  assert.equal(t.of("state").at(-1)?.state, "offline");
});

Deno.test("welcome: exposes id, public id, limits and emits the welcome", () => {
  const t = fakeClient();
  t.goOnline({ id: "c42", online: 5 });
  assert.equal(t.client.id, "c42");
  assert.equal(t.client.publicId, MY_PUBLIC_ID);
  assert.deepEqual(t.client.limits, { maxMessageBytes: 1000, rateLimit: 20, rateBurst: 40 });
  assert.deepEqual(t.of("welcome"), [
    {
      id: "c42",
      client: MY_PUBLIC_ID,
      room: "lobby",
      epoch: "e1",
      offset: 0,
      online: 5,
      members: [], // the fake server's welcome has none (a server from before member lists)
      recovered: false,
      resumed: false,
    },
  ]);
  t.client.disconnect();
});

Deno.test("welcome: passes the members on, ourselves first as the server lists them", () => {
  const t = fakeClient();
  const members = [
    { id: "c42", name: "Me", client: MY_PUBLIC_ID },
    { id: "c7", name: "Ann", user: "ann", info: { team: 4 }, client: "annPublicId00001" },
  ];
  t.goOnline({ id: "c42", online: 9, members });
  const [welcome] = t.of("welcome");
  assert.deepEqual(welcome.members, members);
  assert.equal(welcome.online, 9, "online stays the full count");
  t.client.disconnect();
});

Deno.test("retryNow and notifyOnline skip the backoff wait", () => {
  const t = fakeClient({ random: () => 1 });
  t.goOnline().serverClose(1006);
  t.client.retryNow();
  assert.equal(t.net.sockets.length, 2);
  t.net.last.fail();
  t.client.notifyOnline();
  assert.equal(t.net.sockets.length, 3);
  t.client.retryNow();
  assert.equal(t.net.sockets.length, 3, "nothing to skip while connecting");
  t.client.disconnect();
});

Deno.test("setRoom reconnects to the new room without resume, returns the dropped outbox", () => {
  const t = fakeClient();
  const first = t.goOnline({ offset: 3 });
  const ref = t.client.send("for the old room");
  const dropped = t.client.setRoom("other");
  assert.deepEqual(dropped.map((i) => [i.ref, i.text]), [[ref, "for the old room"]]);
  assert.deepEqual(t.of("outbox").at(-1)?.items, [], "the outbox event says it is gone");
  assert.equal(first.closedWith?.code, 1000);
  assert.equal(t.client.room, "other");
  assert.equal(t.net.sockets.length, 2);
  const q = t.net.last.query;
  assert.deepEqual([q.get("room"), q.get("since"), q.get("epoch")], ["other", null, null]);
  assert.deepEqual(t.client.outbox, []);
  assert.throws(() => t.client.setRoom("Not OK"), /room must be/);
  assert.equal(t.client.room, "other");
  assert.deepEqual(t.client.setRoom("other"), [], "same room: nothing happens");
  t.client.disconnect();
});

Deno.test("setName reconnects with the new name, resuming, outbox kept", () => {
  const t = fakeClient({ name: "Ann" });
  t.goOnline({ offset: 3 });
  t.net.last.serverClose(1006);
  const ref = t.client.send("still mine");
  t.client.setName("Bea");
  assert.equal(t.net.sockets.length, 2, "reconnects at once, also from the backoff wait");
  const q = t.net.last.query;
  assert.deepEqual([q.get("name"), q.get("since"), q.get("epoch")], ["Bea", "3", "e1"]);
  assert.deepEqual(t.client.outbox.map((i) => i.ref), [ref]);
  t.client.setName(null);
  assert.equal(t.net.last.query.get("name"), null);
  t.client.disconnect();
});

Deno.test("setRoom while idle only stores the room", () => {
  const t = fakeClient();
  t.client.setRoom("later");
  assert.equal(t.net.sockets.length, 0);
  t.client.connect();
  assert.equal(t.net.last.query.get("room"), "later");
  t.client.disconnect();
});

Deno.test("a throwing listener does not break the client or other listeners", () => {
  const t = fakeClient();
  const seen: number[] = [];
  const original = console.error;
  const logged: unknown[] = [];
  console.error = (err: unknown) => logged.push(err);
  try {
    t.client.on("message", () => {
      throw new Error("listener bug");
    });
    const off = t.client.on("message", (m) => seen.push(m.offset));
    const socket = t.goOnline();
    socket.receive(messageFrame(1), messageFrame(2));
    off();
    socket.receive(messageFrame(3));
    assert.deepEqual(seen, [1, 2]);
    assert.equal(logged.length, 3);
    t.client.disconnect();
  } finally {
    console.error = original;
  }
});

Deno.test("state: the socket's error message becomes the close reason of a failed connection", () => {
  const t = fakeClient({ random: () => 1 });
  t.client.connect();
  const reasons = () =>
    t.of("state").filter((s) => s.state === "reconnecting").map((
      s,
    ) => [s.closeCode, s.closeReason]);
  // Deno: an ErrorEvent with the explanation, then a close with code 0 and no reason.
  const failed = t.net.last;
  failed.readyState = 3;
  failed.onerror?.({
    message: "NetworkError: failed to connect to WebSocket: Invalid status code: 404",
  });
  failed.onclose?.({ code: 0, reason: "", wasClean: false });
  assert.deepEqual(reasons(), [
    [1006, "NetworkError: failed to connect to WebSocket: Invalid status code: 404"],
  ]);
  // The next socket starts without the old explanation: a browser's error event has no message.
  t.clock.advance(500);
  t.net.last.fail();
  assert.deepEqual(reasons()[1], [1006, ""]);
  // A close frame's own reason wins over the error's message.
  t.clock.advance(1000);
  const socket = t.net.last;
  socket.onerror?.({ message: "dns error" });
  socket.serverClose(1011, "internal error");
  assert.deepEqual(reasons()[2], [1011, "internal error"]);
  t.clock.advance(2000);
  t.net.last.onerror?.({ message: "tcp connect error" });
  t.net.last.serverClose(1006);
  assert.deepEqual(reasons()[3], [1006, "tcp connect error"]);
  t.client.disconnect();
});

Deno.test("state: a socket constructor that throws reports why in the close reason", () => {
  const client = new FanoutClient({
    url: "ws://h/ws",
    room: "lobby",
    random: () => 0,
    setTimeout: () => 0,
    clearTimeout: () => {},
    WebSocket: class {
      constructor() {
        throw new SyntaxError("bad scheme");
      }
    } as never,
  });
  const states: { closeReason?: string }[] = [];
  client.on("state", (s) => states.push(s));
  client.connect();
  assert.equal(states.at(-1)?.closeReason, "could not create the socket: bad scheme");
  client.disconnect();
});

Deno.test("disconnect() from a welcome listener leaves no ping timer and sends nothing", () => {
  const t = fakeClient();
  t.client.on("welcome", () => t.client.disconnect());
  t.client.send("typed before the welcome");
  const socket = t.goOnline();
  assert.equal(t.client.state, "offline");
  assert.deepEqual(t.clock.remaining(), [], "no ping or stable timer left running while offline");
  t.clock.advance(120_000);
  assert.deepEqual(socket.frames("message"), [], "nothing sent on the socket let go of");
  assert.equal(t.net.sockets.length, 1, "no reconnect either");
});

Deno.test("send: data (any JSON value) goes out as sent, with or without text", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  const r1 = t.client.send({ data: { a: [1, null] } });
  const r2 = t.client.send({ text: "t", data: 0 });
  const r3 = t.client.send({});
  assert.deepEqual(socket.frames("message"), [
    { type: "message", data: { a: [1, null] }, ref: r1 },
    { type: "message", text: "t", data: 0, ref: r2 },
  ]);
  assert.deepEqual(t.of("error").at(-1), {
    code: "invalid_message",
    message: 'a message needs "text" or "data"',
    ref: r3,
  });
  socket.receive({ type: "ack", ref: r1, offset: 1, ts: 5 });
  assert.deepEqual(t.of("ack").at(-1), { ref: r1, offset: 1, ts: 5, data: { a: [1, null] } });
  t.client.disconnect();
});
