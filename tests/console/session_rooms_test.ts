/**
 * The console session with several rooms (issue 23), on the fake client core: `--room a,b`,
 * lines prefixed with their room, the typed commands `/join`, `/leave`, `/rooms` and `/to`, their
 * `--json` events, a refused room, and piped input that still sends every line to the main room.
 */
import assert from "node:assert/strict";
import { messageFrame, welcomeFrame } from "../helpers/fake_socket.ts";
import { fakeSession, finish, settle } from "../helpers/console_fake_session.ts";

const subscribed = (room: string, extra: Record<string, unknown> = {}) => ({
  type: "subscribed",
  room,
  ref: `sub:${room}`,
  epoch: `e-${room}`,
  offset: 0,
  online: 2,
  members: [],
  recovered: false,
  history: [],
  ...extra,
});
const at = (second: number) => Date.UTC(2026, 0, 1, 12, 0, second);

Deno.test("session --room lobby,news: both joined, lines start with their room", async () => {
  const s = fakeSession(true, { extraRooms: ["news"] });
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame({ id: "me", online: 1 }));
  assert.deepEqual(socket.frames("subscribe"), [{
    type: "subscribe",
    room: "news",
    ref: "sub:news",
  }]);
  socket.receive(subscribed("news", { history: [messageFrame(1, { room: "news", ts: at(1) })] }));
  socket.receive(messageFrame(1, { text: "in lobby", ts: at(2) }));
  socket.receive({ type: "presence", room: "news", online: 3, joined: { id: "c3", name: "Cy" } });
  socket.receive({ type: "presence", room: "news", online: 3, joined: { id: "me", name: null } });
  s.input.push({ kind: "line", text: "hello" });
  await settle();
  const [hello] = socket.frames("message");
  socket.receive({ type: "ack", ref: hello.ref, offset: 2, ts: 1, room: "lobby" });
  s.input.push({ kind: "line", text: "/quit" });
  await settle();
  socket.finishClose();
  assert.equal(await s.done, 0);
  assert.deepEqual(s.out, [
    "Connected to ws://h/ws (room lobby, 1 online)",
    "* Joined #news (2 online)",
    "#news [12:00:01] Bob: m1",
    "#lobby [12:00:02] Bob: in lobby",
    "* #news Cy joined (3 online)",
    "#lobby [00:00:00] you: hello",
  ]);
  assert.deepEqual(socket.frames("message").map((f) => [f.text, f.room]), [["hello", undefined]]);
});

Deno.test("session: /join, /to, /rooms and /leave over the same connection", async () => {
  const s = fakeSession(true);
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame());
  for (const text of ["/join news", "/rooms", "/to news hi news", "/to lobby hi lobby"]) {
    s.input.push({ kind: "line", text });
  }
  await settle();
  socket.receive(subscribed("news"));
  socket.receive(messageFrame(3, { room: "news", text: "from news", ts: at(3) }));
  for (const text of ["/leave news", "/rooms", "after leaving"]) {
    s.input.push({ kind: "line", text });
  }
  await settle();
  socket.receive(messageFrame(4, { room: "news", text: "too late", ts: at(4) }));
  s.input.push({ kind: "line", text: "/quit" });
  await settle();
  s.clock.advance(2000); // no acks: quitting waits 2 s for them
  await settle();
  socket.finishClose();
  assert.equal(await s.done, 0);
  assert.deepEqual(s.out, [
    "Connected to ws://h/ws (room lobby, 1 online)",
    "* Rooms: #lobby (main), #news",
    "#news [00:00:00] you: hi news",
    "#lobby [00:00:00] you: hi lobby",
    "* Joined #news (2 online)",
    "#news [12:00:03] Bob: from news",
    "* Left #news",
    "* Rooms: #lobby (main)",
    "[00:00:00] you: after leaving",
    "* 3 message(s) still unacknowledged after 2 s; maybe not delivered",
  ]);
  assert.deepEqual(socket.frames().filter((f) => f.type !== "ping").map((f) => [f.type, f.room]), [
    ["subscribe", "news"],
    ["message", "news"],
    ["message", undefined],
    ["unsubscribe", "news"],
    ["message", undefined],
  ]);
  assert.deepEqual(socket.frames("message").map((f) => f.text), [
    "hi news",
    "hi lobby",
    "after leaving",
  ]);
});

Deno.test("session: commands that cannot be carried out say why, and send nothing", async () => {
  const s = fakeSession(true, { extraRooms: ["news"] });
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame());
  for (
    const text of [
      "/leave lobby",
      "/leave other",
      "/to other hi",
      "/join news",
      "/join Bad",
      "/join",
      "/to news",
    ]
  ) s.input.push({ kind: "line", text });
  s.input.push({ kind: "line", text: "sair" });
  await settle();
  socket.finishClose();
  assert.equal(await s.done, 0);
  assert.deepEqual(s.out.slice(1), [
    "! invalid_command: lobby is the main room: leave it with /quit",
    '! invalid_command: not in room "other"',
    '! invalid_command: not in room "other": /join other first',
    '! invalid_command: already in room "news"',
    '! invalid_command: room must be 1-64 characters of a-z, 0-9, _ and -, got "Bad"',
    "! invalid_command: /join needs a room: /join <room>",
    "! invalid_command: /to needs a room and a text: /to <room> <text>",
  ]);
  assert.deepEqual(socket.frames("message"), []);
  assert.deepEqual(socket.frames("subscribe").map((f) => f.room), ["news"]);
});

Deno.test("session: a room the server refuses is said so, and is no longer joined", async () => {
  const s = fakeSession(true, { extraRooms: ["secret"] });
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame());
  socket.receive({
    type: "error",
    code: "forbidden",
    message: "the token does not grant room secret",
    ref: "sub:secret",
    room: "secret",
  });
  s.input.push({ kind: "line", text: "/rooms" });
  s.input.push({ kind: "line", text: "sair" });
  await settle();
  socket.finishClose();
  assert.equal(await s.done, 0);
  assert.deepEqual(s.out.slice(1), [
    "! forbidden: the token does not grant room secret (#secret not joined)",
    "* Rooms: #lobby (main)",
  ]);
});

Deno.test("session (piped): every line goes to the main room, commands included", async () => {
  const s = fakeSession(false, { extraRooms: ["news"] });
  for (const text of ["/join other", "/to news x", "plain"]) s.input.push({ kind: "line", text });
  s.input.push({ kind: "eof" });
  await settle();
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame());
  const sent = socket.frames("message");
  assert.deepEqual(sent.map((f) => [f.text, f.room]), [
    ["/join other", undefined],
    ["/to news x", undefined],
    ["plain", undefined],
  ]);
  sent.forEach((f, i) => socket.receive({ type: "ack", ref: f.ref, offset: i + 1, ts: 1 }));
  assert.equal(await finish(s), 0);
  assert.deepEqual(socket.frames("subscribe").map((f) => f.room), ["news"], "--room still joins");
  assert.deepEqual(s.out, [
    "Connected to ws://h/ws (room lobby, 1 online)",
    "* All 3 line(s) delivered",
  ]);
});

Deno.test("session (--json): rooms in the events; subscribed, rooms and unsubscribed events", async () => {
  const s = fakeSession(true, { json: true, extraRooms: ["news"] });
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame());
  socket.receive(subscribed("news"));
  socket.receive(messageFrame(1, { room: "news" }));
  for (const text of ["/to news hi", "/rooms", "/leave news", "/leave news", "sair"]) {
    s.input.push({ kind: "line", text });
  }
  await settle();
  s.clock.advance(2000);
  await settle();
  socket.finishClose();
  assert.equal(await s.done, 0);
  const events = s.out.map((line) => JSON.parse(line));
  assert.deepEqual(events.map((e) => e.event), [
    "welcome",
    "subscribed",
    "message",
    "sent",
    "rooms",
    "unsubscribed",
    "error",
    "exit",
  ]);
  const [, joined, message, sent, rooms, left, error] = events;
  assert.deepEqual([joined.room, joined.online, joined.resumed], ["news", 2, false]);
  assert.equal(message.room, "news");
  assert.deepEqual([sent.text, sent.room], ["hi", "news"]);
  assert.deepEqual(rooms.rooms, ["lobby", "news"]);
  assert.deepEqual(left, { event: "unsubscribed", room: "news", reason: "requested" });
  assert.deepEqual(error, {
    event: "error",
    code: "invalid_command",
    message: 'not in room "news"',
  });
});

Deno.test("session --room lobby,news: after a reconnect each room says how it resumed", async () => {
  const s = fakeSession(true, { extraRooms: ["news"] });
  const first = s.net.last;
  first.open();
  first.receive(welcomeFrame({ offset: 2 }));
  first.receive(subscribed("news", { offset: 5 }));
  first.serverClose(1006);
  s.clock.advance(500);
  const second = s.net.last;
  second.open();
  second.receive(welcomeFrame({ offset: 2, recovered: true }));
  assert.deepEqual(second.frames("subscribe"), [
    { type: "subscribe", room: "news", since: 5, epoch: "e-news", ref: "sub:news" },
  ]);
  second.receive(subscribed("news", { offset: 5, recovered: true }));
  second.receive({ type: "unsubscribed", room: "news", reason: "reset" });
  second.receive(subscribed("news", { epoch: "e-news2", offset: 1 }));
  second.receive({ type: "unsubscribed", room: "news", reason: "forbidden", message: "revoked" });
  s.input.push({ kind: "line", text: "sair" });
  await settle();
  second.finishClose();
  assert.equal(await s.done, 0);
  assert.deepEqual(s.out.slice(1), [
    "* Joined #news (2 online)",
    "* Connection lost (1006); reconnecting in 0.5 s (attempt 1)",
    "* Reconnecting to ws://h/ws (attempt 1)",
    "* Reconnected (room lobby, 1 online, nothing missed)",
    "* Rejoined #news (2 online, nothing missed)",
    "* Rejoined #news (2 online)",
    "* #news Some messages may be missing: the server restarted and lost the room's history",
    "* Left #news: revoked",
  ]);
});
