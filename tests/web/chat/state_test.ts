import assert from "node:assert/strict";
import {
  type ChatEvent,
  type ConnState,
  initialState,
  MAX_ITEMS,
  reduce,
  timeOnline,
  type ViewState,
} from "../../../lib/web/chat/state.ts";
import {
  byteLength,
  composerText,
  duration,
  FRAME_ENVELOPE_BYTES,
  groupChat,
  initials,
  textFrameBytes,
} from "../../../lib/web/chat/format.ts";

function run(events: [number, ChatEvent][], start: ViewState = initialState("lobby")): ViewState {
  return events.reduce((s, [now, e]) => reduce(s, e, now), start);
}

const welcome = (online = 1): ChatEvent => ({
  type: "welcome",
  id: "c1",
  room: "lobby",
  online,
  recovered: true,
  resumed: false,
});
const state = (
  s: ConnState,
  retryInMs: number | null = null,
) => ({ type: "state", state: s, attempt: 0, retryInMs } as ChatEvent);
const item = (ref: string, status: "queued" | "sent") => ({
  ref,
  text: "hi",
  status,
  createdAt: 5,
});

Deno.test("own message: queued, sent, delivered on ack; counted once as sent", () => {
  const s = run([
    [0, { type: "outbox", items: [item("r1", "queued")] }],
    [1, { type: "outbox", items: [item("r1", "sent")] }],
    [2, { type: "ack", ref: "r1", ts: 99, text: "hi" }],
    [3, { type: "outbox", items: [] }],
  ]);
  assert.equal(s.chat.length, 1);
  assert.deepEqual(
    { kind: s.chat[0].kind, status: s.chat[0].status, ts: s.chat[0].ts },
    { kind: "own", status: "delivered", ts: 99 },
  );
  assert.equal(s.stats.sent, 1);
  assert.equal(s.stats.received, 0);
  assert.deepEqual(s.log.map((e) => e.kind), ["sent"]);
});

Deno.test("others' messages become left bubbles, log lines and received counts", () => {
  const msg = (offset: number, text: string): ChatEvent => ({
    type: "message",
    id: "c2",
    from: "c2",
    client: "tabB",
    name: "Bob",
    text,
    ts: offset,
    offset,
  });
  const s = run([[0, msg(1, "a")], [1, msg(2, "b")]]);
  assert.deepEqual(s.chat.map((c) => [c.kind, c.sender, c.text]), [
    ["other", "tabB", "a"],
    ["other", "tabB", "b"],
  ]);
  assert.deepEqual(s.log.map((e) => `${e.kind}:${e.name}:${e.text}`), [
    "message:Bob:a",
    "message:Bob:b",
  ]);
  assert.equal(s.stats.received, 2);
  assert.equal(s.stats.events, 2);
});

Deno.test("bubbles group by public client id: a copied name alone does not join a group", () => {
  const msg = (offset: number, from: string, client: string | null): ChatEvent => ({
    type: "message",
    id: `e1-${offset}`,
    from,
    client,
    name: "Vic",
    text: `m${offset}`,
    ts: offset,
    offset,
  });
  const s = run([
    [0, msg(1, "c1", "pubVictim0000001")],
    [1, msg(2, "c2", "pubVictim0000001")], // the victim again, from another connection
    [2, msg(3, "c3", "pubAttacker00001")], // same name, another public id
    [3, msg(4, "c4", null)], // no client id: its connection id
  ]);
  const groups = groupChat(s.chat).map((g) => g.map((i) => i.text).join(","));
  assert.deepEqual(groups, ["m1,m2", "m3", "m4"]);
  assert.deepEqual(s.chat.map((c) => c.sender).slice(2), ["pubAttacker00001", "c4"]);
});

Deno.test("reconnects count lost connections only, and time online accumulates", () => {
  const s = run([
    [0, state("connecting")],
    [100, state("online")],
    [100, welcome()],
    [1100, state("reconnecting", 500)],
    [1600, state("connecting")],
    [1700, state("online")],
    [1700, welcome()],
    [2700, state("connecting")], // setName restarts the socket: not a reconnect
    [2800, state("online")],
    [2800, welcome()],
  ]);
  assert.equal(s.stats.reconnects, 1);
  assert.equal(timeOnline(s, 3800), 1000 + 1000 + 1000);
  assert.match(s.log.map((e) => e.text).join("\n"), /Connection lost, retrying in 1s/);
  assert.match(s.log.map((e) => e.text).join("\n"), /Reconnected: #lobby/);
});

Deno.test("retryAt is set from retryInMs; disconnect stops the online clock", () => {
  let s = run([[0, state("connecting")], [0, welcome()], [10, state("reconnecting", 3000)]]);
  assert.equal(s.retryAt, 3010);
  s = run([[0, state("connecting")], [0, welcome()], [500, state("offline")]]);
  assert.equal(timeOnline(s, 10_000), 500);
  assert.equal(s.conn, "offline");
});

Deno.test("a gap adds a marker to the chat and a line to the log", () => {
  const s = run([[0, { type: "gap", room: "lobby", previousEpoch: "e1", epoch: "e2", since: 4 }]]);
  assert.equal(s.chat[0].kind, "gap");
  assert.deepEqual(s.log.map((e) => e.kind), ["gap"]);
});

Deno.test("presence: own join says You, bursts say counts, online follows", () => {
  const s = run([
    [0, welcome(1)],
    [1, { type: "presence", online: 2, joined: { id: "c1", name: "Ann" } }],
    [2, { type: "presence", online: 3, joined: { id: "c9", name: "Zed" } }],
    [3, { type: "presence", online: 1, joins: 1, leaves: 3 }],
  ]);
  assert.deepEqual(s.log.slice(1).map((e) => e.text), [
    "You joined",
    "Zed joined",
    "1 joined, 3 left",
  ]);
  assert.equal(s.stats.online, 1);
});

Deno.test("a message the server refuses for good is marked failed, a retried one is not", () => {
  const s = run([
    [0, { type: "outbox", items: [item("r1", "sent"), item("r2", "sent")] }],
    [1, { type: "error", code: "rate_limited", message: "x", ref: "r1", retrying: true }],
    [2, { type: "outbox", items: [item("r1", "queued")] }],
    [3, { type: "error", code: "invalid_message", message: "bad", ref: "r2" }],
  ]);
  assert.deepEqual(s.chat.map((c) => `${c.key}:${c.status}`), ["r1:queued", "r2:failed"]);
});

Deno.test("errors become readable notices that can be dismissed", () => {
  let s = run([
    [0, { type: "error", code: "rate_limited", message: "x", retrying: true }],
    [1, { type: "error", code: "weird", message: "something odd" }],
  ]);
  assert.deepEqual(s.notices.map((n) => n.text), [
    "You are sending faster than the server allows. It will be sent again shortly.",
    "Server error (weird): something odd",
  ]);
  const refused = run([
    [0, { type: "error", code: "invalid_text", message: "text must not contain ..." }],
    [1, { type: "error", code: "ref_conflict", message: 'ref "r1" was already used ...' }],
  ]);
  assert.deepEqual(refused.notices.map((n) => n.text), [
    "That message contains control characters the server does not accept.",
    "That message was not sent: the server had seen its id with another text.",
  ]);
  s = reduce(s, { type: "dismiss", seq: s.notices[0].seq }, 2);
  assert.equal(s.notices.length, 1);
});

Deno.test("switching room clears the chat and logs the switch; views are capped", () => {
  let s = run([[0, { type: "outbox", items: [item("r1", "queued")] }]]);
  s = reduce(s, { type: "room", room: "dev" }, 1);
  assert.equal(s.chat.length, 0);
  assert.equal(s.room, "dev");
  assert.equal(s.log.at(-1)?.text, "Switched to #dev");
  for (let i = 0; i < MAX_ITEMS + 20; i++) s = reduce(s, { type: "rtt", ms: i }, i);
  const gap = { type: "gap", room: "dev", previousEpoch: "e1", epoch: "e2" } as const;
  for (let i = 0; i < MAX_ITEMS + 20; i++) s = reduce(s, { ...gap, since: i }, i);
  assert.equal(s.chat.length, MAX_ITEMS);
  assert.equal(s.log.length, MAX_ITEMS);
  assert.equal(s.stats.rttMs, MAX_ITEMS + 19);
});

Deno.test("format helpers: groups, initials, durations, bytes", () => {
  const base = { name: "B", text: "t", key: "", status: undefined };
  const groups = groupChat([
    { ...base, key: "1", kind: "other", sender: "b", ts: 0 },
    { ...base, key: "2", kind: "other", sender: "b", ts: 1000 },
    { ...base, key: "3", kind: "own", sender: "me", ts: 2000 },
    { ...base, key: "4", kind: "other", sender: "b", ts: 3000 },
    { ...base, key: "5", kind: "other", sender: "b", ts: 10 * 60_000 },
    { ...base, key: "6", kind: "other", sender: "b", ts: 10 * 60_000, name: "Renamed" },
  ]);
  assert.deepEqual(groups.map((g) => g.map((i) => i.key).join("")), ["12", "3", "4", "5", "6"]);
  assert.equal(initials("Ann Lee"), "AL");
  assert.equal(initials("bob"), "B");
  assert.equal(duration(59_999), "59s");
  assert.equal(duration(185_000), "3m 05s");
  assert.equal(duration(7_260_000), "2h 01m");
  assert.equal(byteLength("hé€"), 6);
  assert.equal(textFrameBytes('say "hi"\n'), 12, "quotes and newlines count escaped");
  assert.equal(composerText("a\r\nb\rc\n"), "a\nb\nc\n", "the composer never sends \\r");
  // A text that fits the composer's count always fits the frame limit with the longest ref.
  const limit = 1000;
  const text = "é".repeat(Math.floor((limit - FRAME_ENVELOPE_BYTES) / 2));
  assert.ok(textFrameBytes(text) <= limit - FRAME_ENVELOPE_BYTES);
  const frame = JSON.stringify({ type: "message", text, ref: "r".repeat(128) });
  assert.ok(byteLength(frame) <= limit, `frame of ${byteLength(frame)} bytes`);
});

Deno.test("reduce: a sender or peer without a name shows its user id, else anonymous", () => {
  let s = initialState("lobby");
  const base = { type: "message" as const, id: "e-1", from: "c9", text: "hi", ts: 1, offset: 1 };
  s = reduce(s, { ...base, name: null }, 0);
  s = reduce(s, { ...base, id: "e-2", offset: 2, name: null, user: "ann" }, 0);
  assert.deepEqual(s.chat.map((c) => c.name), ["anonymous", "ann"]);
  s = reduce(s, { type: "presence", online: 2, joined: { id: "c7", name: null, user: "bob" } }, 0);
  assert.equal(s.log.at(-1)!.text, "bob joined");
});

Deno.test("reduce: refused says why (room, expired, token) and adds a notice", () => {
  const cases: [object, string, RegExp][] = [
    [
      { status: 403, closeReason: "forbidden: the token does not grant room x" },
      "room",
      /Not allowed in this room/,
    ],
    [{ status: 401, closeCode: 4401, closeReason: "token expired" }, "expired", /Token expired/],
    [
      { status: 401, closeReason: "unauthorized: token signature is invalid" },
      "token",
      /Token refused/,
    ],
  ];
  for (const [extra, refusal, text] of cases) {
    const s = reduce(
      initialState("x"),
      { type: "state", state: "refused", attempt: 0, retryInMs: null, ...extra },
      0,
    );
    assert.equal(s.conn, "refused");
    assert.equal(s.refusal, refusal);
    assert.match(s.notices.at(-1)!.text, text);
    assert.match(s.log.at(-1)!.text, text);
  }
});

Deno.test("reduce: a data message shows compact JSON in the chat, indented in Broadcasts", () => {
  const base = { type: "message" as const, id: "e-1", from: "c9", name: "Bob", ts: 1, offset: 1 };
  const s = reduce(initialState("lobby"), { ...base, data: { order: 42 } }, 0);
  assert.equal(s.chat.at(-1)!.text, '{"order":42}');
  assert.equal(s.log.at(-1)!.data, '{\n  "order": 42\n}');
  assert.equal(s.log.at(-1)!.text, "");
});

Deno.test("after a switch, messages and presence of another room are ignored", () => {
  const message = (room: string, offset: number): ChatEvent => ({
    type: "message",
    room,
    id: `e-${offset}`,
    from: "c9",
    client: "bob",
    name: "Bob",
    text: `${room} ${offset}`,
    ts: offset,
    offset,
  });
  let s = run([[0, welcome(2)], [1, message("lobby", 1)]]);
  s = reduce(s, { type: "room", room: "dev" }, 2);
  for (const e of [message("lobby", 2), { type: "presence", room: "lobby", online: 9 } as const]) {
    s = reduce(s, e, 3);
  }
  assert.deepEqual(s.chat, [], "nothing of lobby after the switch");
  assert.equal(s.stats.received, 1);
  assert.equal(s.stats.online, 2);
  s = reduce(s, {
    type: "welcome",
    id: "c1",
    room: "dev",
    online: 3,
    recovered: false,
    resumed: false,
  }, 4);
  s = reduce(s, message("dev", 1), 5);
  s = reduce(s, { type: "presence", room: "dev", online: 4 }, 6);
  assert.deepEqual(s.chat.map((c) => c.text), ["dev 1"]);
  assert.equal(s.stats.received, 2);
  assert.equal(s.stats.online, 4);
  assert.deepEqual(s.log.map((e) => e.text).slice(-3), [
    "Switched to #dev",
    "Joined: #dev, 3 online",
    "dev 1",
  ]);
});
