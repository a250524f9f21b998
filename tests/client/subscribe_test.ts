/**
 * The client core's extra rooms on a fake network: subscribe before and after the welcome, the
 * `subscribed` event and history, messages routed by room and deduplicated per room, every room
 * resumed with its own since+epoch after a reconnect, a reset answered with a new subscribe, a
 * refused subscribe forgotten, and sends that name their room.
 */
import assert from "node:assert/strict";
import { fakeClient, messageFrame, welcomeFrame } from "../helpers/fake_socket.ts";

const subscribed = (room: string, offset: number, extra: Record<string, unknown> = {}) => ({
  type: "subscribed",
  room,
  epoch: `e-${room}`,
  offset,
  online: 2,
  members: [],
  recovered: false,
  history: [],
  ...extra,
});

Deno.test("subscribe: sent after each welcome, resuming each room from where it stands", () => {
  const t = fakeClient();
  t.client.subscribe("news");
  let socket = t.goOnline();
  assert.deepEqual(socket.frames("subscribe"), [{
    type: "subscribe",
    room: "news",
    ref: "sub:news",
  }]);
  socket.receive(subscribed("news", 4, { history: [messageFrame(4, { room: "news" })] }));
  assert.deepEqual(t.of("subscribed").map((s) => [s.room, s.offset, s.resumed]), [[
    "news",
    4,
    false,
  ]]);
  socket.receive(messageFrame(5, { room: "news" }), messageFrame(5, { room: "news" }));
  socket.receive(messageFrame(1));
  assert.deepEqual(t.of("message").map((m) => [m.room, m.offset]), [
    ["news", 4],
    ["news", 5],
    ["lobby", 1],
  ]);
  assert.deepEqual(t.client.rooms, ["lobby", "news"]);
  // A cut: the next welcome is followed by a subscribe that resumes news after offset 5.
  socket.serverClose(1006);
  t.clock.advance(1000);
  socket = t.net.last;
  socket.open();
  socket.receive(welcomeFrame({ id: "c2", client: null, offset: 1, recovered: true, history: [] }));
  assert.deepEqual(socket.frames("subscribe"), [
    { type: "subscribe", room: "news", since: 5, epoch: "e-news", ref: "sub:news" },
  ]);
  socket.receive(
    subscribed("news", 6, {
      recovered: true,
      history: [messageFrame(5, { room: "news" }), messageFrame(6, { room: "news" })],
    }),
  );
  assert.deepEqual(
    t.of("message").filter((m) => m.room === "news").map((m) => m.offset),
    [4, 5, 6],
    "nothing twice across the reconnect",
  );
  t.client.disconnect();
});

Deno.test("subscribe: a reset subscribes again; a refused subscribe is forgotten", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  t.client.subscribe("news");
  t.client.subscribe("secret");
  socket.receive(subscribed("news", 2));
  socket.receive({ type: "unsubscribed", room: "news", reason: "reset", message: "reset" });
  assert.deepEqual(socket.frames("subscribe").at(-1), {
    type: "subscribe",
    room: "news",
    since: 2,
    epoch: "e-news",
    ref: "sub:news",
  });
  socket.receive({
    type: "error",
    code: "forbidden",
    message: "the token does not grant room secret",
    ref: "sub:secret",
    room: "secret",
  });
  assert.deepEqual(t.client.rooms, ["lobby", "news"]);
  socket.receive({ type: "unsubscribed", room: "news", reason: "forbidden" });
  assert.deepEqual(t.of("unsubscribed"), [{ room: "news", reason: "forbidden" }]);
  assert.deepEqual(t.client.rooms, ["lobby"]);
  t.client.disconnect();
});

Deno.test("subscribe: send names its room; unsubscribe sends unsubscribe; onMessage filters", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  const got: number[] = [];
  const news = t.client.subscribe("news", { onMessage: (m) => got.push(m.offset) });
  socket.receive(subscribed("news", 0));
  const ref = t.client.send({ text: "hello news", room: "news" });
  assert.deepEqual(socket.frames("message").at(-1), {
    type: "message",
    text: "hello news",
    ref,
    room: "news",
  });
  socket.receive(messageFrame(1, { room: "news" }), messageFrame(1));
  assert.deepEqual(got, [1]);
  news.unsubscribe();
  assert.deepEqual(socket.frames("unsubscribe"), [{ type: "unsubscribe", room: "news" }]);
  socket.receive(messageFrame(2, { room: "news" }));
  assert.deepEqual(got, [1], "nothing of a room after unsubscribing");
  assert.throws(() => t.client.subscribe("lobby"), /already in room "lobby"/);
  assert.throws(() => t.client.subscribe("Bad Room"), /room must be/);
  t.client.disconnect();
});

Deno.test("subscribe: a refusal is an error event naming the room; a retryable one keeps it", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  t.client.subscribe("secret");
  t.client.subscribe("busy");
  const refuse = (room: string, code: string) =>
    socket.receive({ type: "error", code, message: `no ${room}`, ref: `sub:${room}`, room });
  refuse("secret", "forbidden");
  refuse("busy", "unavailable");
  assert.deepEqual(t.of("error"), [
    { code: "forbidden", message: "no secret", ref: "sub:secret", room: "secret" },
    { code: "unavailable", message: "no busy", ref: "sub:busy", room: "busy" },
  ]);
  assert.deepEqual(t.client.rooms, ["lobby", "busy"]);
  t.client.disconnect();
});

Deno.test("subscribe: left and followed again, what was on its way from before is not delivered twice", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  t.client.subscribe("news");
  socket.receive(subscribed("news", 1));
  t.client.unsubscribe("news");
  t.client.subscribe("news");
  // Sent by the server before it took the old subscription away; the new one's history has it.
  socket.receive(messageFrame(2, { room: "news" }), { type: "presence", room: "news", online: 5 });
  socket.receive({ type: "unsubscribed", room: "news", reason: "requested" });
  socket.receive(subscribed("news", 2, { history: [messageFrame(2, { room: "news" })] }));
  socket.receive(messageFrame(3, { room: "news" }));
  assert.deepEqual(t.of("message").map((m) => [m.room, m.offset]), [["news", 2], ["news", 3]]);
  assert.deepEqual(t.of("presence"), []);
  t.client.disconnect();
});
