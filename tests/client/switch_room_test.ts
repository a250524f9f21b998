/**
 * The client core's `switchRoom` on a fake network: online it keeps the socket (unsubscribe the
 * old room, subscribe the new one), reports the new room's join as a `welcome`, drops the old
 * room's messages and presence, holds sends until the answer and names the room in them; a
 * reconnect then joins the new room by its handshake; a refused subscribe, or any state but
 * online, reconnects as `setRoom` does; a switch back before the answers delivers nothing twice;
 * a reset of the main room over a connection that subscribed is subscribed again.
 */
import assert from "node:assert/strict";
import { fakeClient, messageFrame, MY_PUBLIC_ID, welcomeFrame } from "../helpers/fake_socket.ts";

const subscribed = (room: string, offset: number, extra: Record<string, unknown> = {}) => ({
  type: "subscribed",
  room,
  ref: `sub:${room}`,
  epoch: `e-${room}`,
  offset,
  online: 3,
  members: [],
  recovered: false,
  history: [],
  ...extra,
});

const devMessage = (offset: number, extra = {}) =>
  messageFrame(offset, { room: "dev", id: `e-dev-${offset}`, ...extra });

Deno.test("switchRoom online: same socket, unsubscribe then subscribe, a welcome for the new room", () => {
  const t = fakeClient();
  const socket = t.goOnline({ offset: 3, online: 2 });
  const ref = t.client.send("for lobby");
  const dropped = t.client.switchRoom("dev");
  assert.deepEqual(dropped.map((i) => [i.ref, i.text]), [[ref, "for lobby"]]);
  assert.deepEqual(t.of("outbox").at(-1)?.items, [], "the outbox event says it is gone");
  assert.equal(t.net.sockets.length, 1, "no new socket");
  assert.equal(socket.closedWith, null, "the socket stays open");
  assert.equal(t.client.room, "dev");
  assert.deepEqual(t.client.rooms, ["dev"]);
  assert.deepEqual(socket.frames().slice(-2), [
    { type: "unsubscribe", room: "lobby" },
    { type: "subscribe", room: "dev", ref: "sub:dev" },
  ]);
  // The old room's live traffic still on its way, and the new room's before its answer.
  socket.receive(messageFrame(4), { type: "presence", room: "lobby", online: 7 });
  socket.receive(devMessage(1));
  assert.deepEqual(t.of("message"), []);
  assert.equal(t.of("presence").length, 0);
  assert.equal(t.client.online, 2);
  socket.receive(subscribed("dev", 2, {
    members: [{ id: "c1", name: null, client: MY_PUBLIC_ID }],
    history: [devMessage(1), devMessage(2, { client: MY_PUBLIC_ID })],
  }));
  const welcome = t.of("welcome").at(-1)!;
  assert.deepEqual(
    [welcome.id, welcome.client, welcome.room, welcome.online, welcome.resumed, welcome.offset],
    ["c1", MY_PUBLIC_ID, "dev", 3, false, 2],
  );
  assert.deepEqual(welcome.members, [{ id: "c1", name: null, client: MY_PUBLIC_ID }]);
  assert.deepEqual(t.of("message").map((m) => [m.room, m.offset, m.own]), [
    ["dev", 1, false],
    ["dev", 2, true],
  ], "the history once, our own from a fresh join marked own");
  socket.receive(devMessage(2), devMessage(3), messageFrame(5));
  assert.deepEqual(t.of("message").map((m) => m.offset), [1, 2, 3], "live, nothing twice");
  socket.receive({ type: "presence", room: "dev", online: 4 }, {
    type: "presence",
    room: "lobby",
    online: 9,
  });
  assert.deepEqual(t.of("presence").map((p) => [p.room, p.online]), [["dev", 4]]);
  assert.equal(t.client.online, 4);
  assert.equal(t.of("state").filter((s) => s.state === "connecting").length, 1, "no reconnect");
  t.client.disconnect();
});

Deno.test("switchRoom: a send waits for the new room's answer, then names the room", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  t.client.switchRoom("dev");
  const ref = t.client.send("hi dev");
  assert.deepEqual(socket.frames("message"), [], "not before the room is joined");
  assert.equal(t.client.outbox[0].status, "queued");
  socket.receive(subscribed("dev", 0));
  assert.deepEqual(socket.frames("message"), [
    { type: "message", text: "hi dev", ref, room: "dev" },
  ]);
  socket.receive({ type: "ack", ref, offset: 1, ts: 5, room: "dev" });
  assert.deepEqual(t.of("ack").map((a) => a.ref), [ref]);
  assert.deepEqual(t.client.outbox, []);
  t.client.disconnect();
});

Deno.test("switchRoom: a reconnect joins the new room by its handshake, resuming it", () => {
  const t = fakeClient({ random: () => 0 });
  const first = t.goOnline();
  t.client.switchRoom("dev");
  first.receive(subscribed("dev", 4, { recovered: false }));
  first.receive(devMessage(5));
  first.serverClose(1006);
  t.clock.advance(0);
  const second = t.net.last;
  assert.equal(t.net.sockets.length, 2);
  const q = second.query;
  assert.deepEqual([q.get("room"), q.get("since"), q.get("epoch")], ["dev", "5", "e-dev"]);
  second.open();
  second.receive(welcomeFrame({ room: "dev", epoch: "e-dev", offset: 5, recovered: true }));
  assert.deepEqual(second.frames("subscribe"), [], "the main room is the handshake's again");
  const ref = t.client.send("after the reconnect");
  assert.deepEqual(second.frames("message"), [
    { type: "message", text: "after the reconnect", ref },
  ], "the handshake's room: no room named");
  second.receive(devMessage(5), devMessage(6));
  assert.deepEqual(t.of("message").map((m) => m.offset), [5, 6]);
  t.client.disconnect();
});

Deno.test("switchRoom: a refused subscribe reconnects to the new room, without an error event", () => {
  const t = fakeClient();
  const first = t.goOnline();
  t.client.switchRoom("secret");
  first.receive({
    type: "error",
    code: "forbidden",
    message: "the token does not grant room secret",
    ref: "sub:secret",
    room: "secret",
  });
  assert.equal(first.closedWith?.code, 1000);
  assert.equal(t.net.sockets.length, 2);
  assert.equal(t.net.last.query.get("room"), "secret");
  assert.equal(t.net.last.query.get("since"), null);
  assert.deepEqual(t.of("error"), [], "the handshake reports the refusal, as for any room");
  t.client.disconnect();
});

Deno.test("switchRoom when not online reconnects or stores, as setRoom does", () => {
  const idle = fakeClient();
  idle.client.switchRoom("later");
  assert.equal(idle.net.sockets.length, 0);
  idle.client.connect();
  assert.equal(idle.net.last.query.get("room"), "later");
  // Connecting: the socket's welcome would be the old room's.
  idle.client.switchRoom("sooner");
  assert.equal(idle.net.sockets.length, 2);
  assert.equal(idle.net.last.query.get("room"), "sooner");
  idle.client.disconnect();
  // Online, but the socket can no longer send: reconnect.
  const t = fakeClient();
  const socket = t.goOnline();
  socket.readyState = 2;
  t.client.switchRoom("dev");
  assert.equal(t.net.sockets.length, 2);
  assert.equal(t.net.last.query.get("room"), "dev");
  assert.throws(() => t.client.switchRoom("Not OK"), /room must be/);
  assert.equal(t.client.room, "dev");
  t.client.disconnect();
});

Deno.test("switchRoom there and back before any answer: only the room switched to, once", () => {
  const t = fakeClient();
  const socket = t.goOnline({ offset: 2 });
  t.client.switchRoom("dev");
  t.client.switchRoom("lobby");
  assert.deepEqual(socket.frames().slice(-4), [
    { type: "unsubscribe", room: "lobby" },
    { type: "subscribe", room: "dev", ref: "sub:dev" },
    { type: "unsubscribe", room: "dev" },
    { type: "subscribe", room: "lobby", ref: "sub:lobby" },
  ]);
  // The server's answers, in order; lobby's live message from before its new subscription.
  socket.receive({ type: "unsubscribed", room: "lobby", reason: "requested" });
  socket.receive(messageFrame(3));
  socket.receive(subscribed("dev", 1, { history: [devMessage(1)] }));
  socket.receive({ type: "unsubscribed", room: "dev", reason: "requested" });
  socket.receive(subscribed("lobby", 3, {
    epoch: "e1",
    history: [messageFrame(1), messageFrame(2), messageFrame(3)],
  }));
  socket.receive(messageFrame(4));
  assert.deepEqual(t.of("message").map((m) => [m.room, m.offset]), [
    ["lobby", 1],
    ["lobby", 2],
    ["lobby", 3],
    ["lobby", 4],
  ]);
  assert.deepEqual(t.of("welcome").map((w) => w.room), ["lobby", "lobby"]);
  assert.equal(t.net.sockets.length, 1);
  t.client.disconnect();
});

Deno.test("the main room of a connection that subscribed: a reset subscribes it again, resuming", () => {
  const t = fakeClient();
  const socket = t.goOnline({ offset: 2 });
  t.client.subscribe("news");
  socket.receive(messageFrame(3));
  socket.receive({ type: "unsubscribed", room: "lobby", reason: "reset", message: "reset" });
  assert.deepEqual(socket.frames("subscribe").at(-1), {
    type: "subscribe",
    room: "lobby",
    since: 3,
    epoch: "e1",
    ref: "sub:lobby",
  });
  const ref = t.client.send("during the reset");
  assert.deepEqual(socket.frames("message"), [], "held until lobby is joined again");
  socket.receive(subscribed("lobby", 1, { epoch: "e2", recovered: false }));
  assert.deepEqual(t.of("gap").map((g) => [g.room, g.previousEpoch, g.epoch]), [
    ["lobby", "e1", "e2"],
  ]);
  assert.equal(t.of("welcome").at(-1)?.resumed, true);
  assert.deepEqual(socket.frames("message"), [
    { type: "message", text: "during the reset", ref },
  ], "the handshake's room again: no room named");
  assert.deepEqual(t.client.rooms, ["lobby", "news"]);
  // A refreshed token no longer grants the main room: reconnect (the handshake then refuses).
  socket.receive({ type: "unsubscribed", room: "lobby", reason: "forbidden" });
  assert.equal(t.net.sockets.length, 2);
  t.client.disconnect();
});

Deno.test("presence of a followed room is reported with its room and leaves the main count alone", () => {
  const t = fakeClient();
  const socket = t.goOnline({ online: 2 });
  t.client.subscribe("news");
  socket.receive(subscribed("news", 0));
  socket.receive({ type: "presence", room: "news", online: 8 });
  socket.receive({ type: "presence", room: "gone", online: 5 });
  assert.equal(t.client.online, 2);
  socket.receive({ type: "presence", room: "lobby", online: 3 });
  assert.equal(t.client.online, 3);
  assert.deepEqual(t.of("presence").map((p) => [p.room, p.online]), [["news", 8], ["lobby", 3]]);
  t.client.disconnect();
});

Deno.test("switchRoom to a followed room: it stops being followed and is joined afresh as main", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  t.client.subscribe("news");
  socket.receive(subscribed("news", 1));
  t.client.switchRoom("news");
  assert.deepEqual(socket.frames().slice(-3), [
    { type: "unsubscribe", room: "news" },
    { type: "unsubscribe", room: "lobby" },
    { type: "subscribe", room: "news", ref: "sub:news" },
  ]);
  assert.deepEqual(t.client.rooms, ["news"]);
  socket.receive({ type: "unsubscribed", room: "news", reason: "requested" });
  socket.receive(subscribed("news", 1));
  assert.equal(t.of("welcome").at(-1)?.room, "news");
  assert.deepEqual(t.of("subscribed").map((s) => s.room), ["news"], "only the first, as followed");
  t.client.disconnect();
});
