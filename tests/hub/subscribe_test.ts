/**
 * Many rooms on one connection, in the hub over fake sockets: subscribe and unsubscribe, per-room
 * welcomes, messages by room, one frame per connection per turn across its rooms, the per
 * connection limit, grants per room, and a reset that restarts one subscription only.
 */
import assert from "node:assert/strict";
import { fakeHub } from "../helpers/fake_hub.ts";
import { type Connection, Subscription, Subscriptions } from "../../lib/hub/connection.ts";

const send = (frame: object) => JSON.stringify(frame);

Deno.test("subscribe: a second room's welcome is `subscribed`; messages go by room, never echoed", async () => {
  const t = fakeHub();
  const a = await t.connect({ room: "lobby" });
  const news = await t.connect({ room: "news" });
  news.socket.sent.length = 0;
  t.hub.receive(news.conn, send({ type: "message", text: "old news" }));
  await t.turn();
  t.hub.receive(a.conn, send({ type: "subscribe", room: "news", ref: "s1" }));
  await t.turn();
  const subscribed = a.socket.objects().find((f) => f.type === "subscribed");
  assert.equal(subscribed.room, "news");
  assert.equal(subscribed.ref, "s1");
  assert.equal(subscribed.offset, 1);
  assert.deepEqual(subscribed.history.map((m: { text: string }) => m.text), ["old news"]);
  assert.equal(subscribed.online, 2);
  assert.equal(subscribed.members.length, 2);
  a.socket.sent.length = 0;
  news.socket.sent.length = 0;
  t.hub.receive(a.conn, send({ type: "message", room: "news", text: "to news", ref: "m1" }));
  t.hub.receive(a.conn, send({ type: "message", text: "to lobby", ref: "m2" }));
  await t.turn();
  const toNews = news.socket.objects().filter((f) => f.type === "message");
  assert.deepEqual(toNews.map((m) => [m.room, m.text]), [["news", "to news"]]);
  const acks = a.socket.objects().filter((f) => f.type === "ack");
  assert.deepEqual(acks.map((x) => [x.ref, x.room]), [["m1", "news"], ["m2", "lobby"]]);
  assert.deepEqual(a.socket.objects().filter((f) => f.type === "message"), [], "no echo");
});

Deno.test("subscribe: messages of several rooms in one turn leave as one frame", async () => {
  const t = fakeHub();
  const reader = await t.connect({ room: "r1" });
  t.hub.receive(reader.conn, send({ type: "subscribe", room: "r2" }));
  t.hub.receive(reader.conn, send({ type: "subscribe", room: "r3" }));
  await t.turn();
  const w1 = await t.connect({ room: "r1" });
  const w2 = await t.connect({ room: "r2" });
  const w3 = await t.connect({ room: "r3" });
  await t.tick();
  reader.socket.sent.length = 0;
  for (const [w, i] of [[w1, 1], [w2, 2], [w3, 3]] as const) {
    t.hub.receive(w.conn, send({ type: "message", text: `in r${i}` }));
  }
  await t.turn();
  assert.equal(reader.socket.sent.length, 1, "one frame for the three rooms");
  assert.deepEqual(reader.socket.objects().map((m) => m.room), ["r1", "r2", "r3"]);
});

Deno.test("unsubscribe: nothing of the room after `unsubscribed`; presence left there only", async () => {
  const t = fakeHub({ PRESENCE_INTERVAL_MS: "0" });
  const a = await t.connect({ room: "lobby" });
  t.hub.receive(a.conn, send({ type: "subscribe", room: "news" }));
  await t.turn();
  const news = await t.connect({ room: "news" });
  const lobby = await t.connect({ room: "lobby" });
  await t.turn();
  news.socket.sent.length = 0;
  lobby.socket.sent.length = 0;
  t.hub.receive(a.conn, send({ type: "unsubscribe", room: "news", ref: "u1" }));
  t.hub.receive(news.conn, send({ type: "message", text: "after" }));
  await t.turn();
  const aboutNews = a.socket.objects().filter((f) => f.room === "news").map((f) => f.type);
  assert.deepEqual(aboutNews.slice(-1), ["unsubscribed"], "nothing of news after unsubscribed");
  const unsub = a.socket.objects().find((f) => f.type === "unsubscribed");
  assert.deepEqual([unsub.room, unsub.reason, unsub.ref], ["news", "requested", "u1"]);
  assert.equal(a.socket.objects().filter((f) => f.type === "message").length, 0);
  assert.ok(news.socket.objects().some((f) => f.type === "presence" && f.left?.id === a.conn.id));
  assert.ok(!lobby.socket.objects().some((f) => f.type === "presence" && f.left));
  t.hub.receive(a.conn, send({ type: "unsubscribe", room: "news", ref: "u2" }));
  t.hub.receive(a.conn, send({ type: "message", room: "news", text: "x", ref: "m" }));
  await t.turn();
  const errors = a.socket.objects().filter((f) => f.type === "error");
  assert.deepEqual(errors.map((e) => [e.code, e.ref, e.room]), [
    ["not_subscribed", "u2", "news"],
    ["not_subscribed", "m", "news"],
  ]);
});

Deno.test("subscribe: MAX_ROOMS_PER_CONNECTION counts the handshake room; at it, too_many_rooms", async () => {
  const t = fakeHub({ MAX_ROOMS_PER_CONNECTION: "3" });
  const a = await t.connect({ room: "r0" });
  for (const room of ["r1", "r2", "r3"]) {
    t.hub.receive(a.conn, send({ type: "subscribe", room, ref: room }));
  }
  await t.turn();
  const types = a.socket.objects().filter((f) => f.ref).map((f) => [f.ref, f.type, f.code])
    .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
  assert.deepEqual(types, [
    ["r1", "subscribed", undefined],
    ["r2", "subscribed", undefined],
    ["r3", "error", "too_many_rooms"],
  ]);
  t.hub.receive(a.conn, send({ type: "subscribe", room: "r1", ref: "again" }));
  t.hub.receive(a.conn, send({ type: "subscribe", room: "Bad Room", ref: "bad" }));
  await t.turn();
  const errs = a.socket.objects().filter((f) => f.type === "error").map((f) => [f.ref, f.code]);
  assert.deepEqual(errs.slice(1), [["again", "invalid_room"], ["bad", "invalid_room"]]);
  assert.equal(t.hub.localSize("r1"), 1, "counted once per room");
});

Deno.test("subscribe: a room's reset ends that subscription only (unsubscribed: reset)", async () => {
  const t = fakeHub();
  const a = await t.connect({ room: "lobby" });
  t.hub.receive(a.conn, send({ type: "subscribe", room: "news" }));
  await t.turn();
  t.hub.reset("news", "epoch2");
  await t.turn();
  const ended = a.socket.objects().find((f) => f.type === "unsubscribed");
  assert.deepEqual([ended.room, ended.reason], ["news", "reset"]);
  assert.match(ended.message, /subscribe again with since and epoch/);
  assert.equal(a.socket.closeCode, null, "the connection and its other room stay");
  // A v1 connection (never subscribed) keeps the 1012 close for its room.
  const v1 = await t.connect({ room: "old" });
  t.hub.reset("old", "epoch2");
  await t.turn();
  assert.equal(v1.socket.closeCode, 1012);
});

Deno.test("subscribe: plain mode keeps one room; subscribe is refused there", async () => {
  const t = fakeHub();
  const p = await t.connect({ room: "lobby" }, false);
  t.hub.receive(p.conn, send({ type: "subscribe", room: "news" }));
  await t.turn();
  // In plain mode the frame is a message text: it goes to the room as text, not a subscribe.
  assert.equal(t.hub.localSize("news"), 0);
});

Deno.test("unsubscribe: the handshake's room cannot be left before its welcome", async () => {
  const t = fakeHub();
  const joining = t.start({ room: "lobby" });
  t.hub.receive(joining.conn, send({ type: "unsubscribe", room: "lobby", ref: "early" }));
  await joining.open;
  await t.turn();
  const frames = joining.socket.objects();
  assert.equal(frames[0].type, "welcome", "the welcome still comes, and first");
  const err = frames.find((f) => f.type === "error");
  assert.deepEqual([err.code, err.ref], ["invalid_room", "early"]);
  assert.equal(t.hub.localSize("lobby"), 1);
});

Deno.test("subscribe again: the history shows what the connection sent there before, not what it sent while joining", async () => {
  const t = fakeHub();
  const a = await t.connect({ room: "lobby", client: "client-0001" });
  const subscribedTexts = () =>
    a.socket.objects().filter((f) => f.type === "subscribed").map((f) =>
      f.history.map((m: { text: string }) => m.text)
    );
  t.hub.receive(a.conn, send({ type: "subscribe", room: "news" }));
  await t.turn();
  t.hub.receive(a.conn, send({ type: "message", room: "news", text: "earlier", ref: "m1" }));
  await t.turn();
  t.hub.receive(a.conn, send({ type: "unsubscribe", room: "news" }));
  t.hub.receive(a.conn, send({ type: "subscribe", room: "news" }));
  await t.turn();
  // Subscribed again, and a message sent before that subscription's answer.
  t.hub.receive(a.conn, send({ type: "unsubscribe", room: "news" }));
  t.hub.receive(a.conn, send({ type: "subscribe", room: "news" }));
  t.hub.receive(a.conn, send({ type: "message", room: "news", text: "while joining", ref: "m2" }));
  await t.turn();
  assert.deepEqual(subscribedTexts(), [[], ["earlier"], []]);
  const acks = a.socket.objects().filter((f) => f.type === "ack").map((f) => f.ref);
  assert.deepEqual(acks, ["m1", "m2"], "the sender has both as acks");
});

Deno.test("Subscriptions: a room without a map, the others in order, the next oldest first after a delete", () => {
  const conn = { id: "c1" } as unknown as Connection;
  const sub = (room: string) => new Subscription(conn, room, "rw", false);
  const subs = new Subscriptions();
  assert.equal(subs.size, 0);
  assert.equal(subs.get("a"), undefined);
  const [a, b, c] = [sub("a"), sub("b"), sub("c")];
  subs.set("a", a).set("b", b).set("c", c);
  assert.deepEqual(subs.keys(), ["a", "b", "c"]);
  assert.equal(subs.get("b"), b);
  assert.equal(subs.has("c"), true);
  assert.equal(subs.size, 3);
  const a2 = sub("a");
  subs.set("a", a2);
  assert.equal(subs.get("a"), a2, "replaced in place");
  assert.deepEqual(subs.keys(), ["a", "b", "c"]);
  assert.equal(subs.delete("a"), true);
  assert.deepEqual(subs.keys(), ["b", "c"], "the next oldest comes first");
  assert.equal(subs.delete("a"), false);
  assert.equal(subs.delete("c"), true);
  assert.deepEqual(subs.keys(), ["b"]);
  subs.set("d", sub("d"));
  assert.deepEqual(subs.keys(), ["b", "d"]);
  for (const s of subs.values()) subs.delete(s.room); // deleting while going through a copy
  assert.equal(subs.size, 0);
  assert.deepEqual(subs.values(), []);
  subs.set("e", sub("e"));
  subs.clear();
  assert.equal(subs.size, 0);
  assert.throws(() => subs.set("x", sub("y")), /a subscription to y cannot be filed under x/);
});
