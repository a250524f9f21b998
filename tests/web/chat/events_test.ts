import assert from "node:assert/strict";
import {
  type ChatEvent,
  initialState,
  reduce,
  type ViewState,
} from "../../../lib/web/chat/state.ts";
import { statusText } from "../../../lib/web/chat/text.ts";

function run(events: [number, ChatEvent][], start: ViewState = initialState("lobby")): ViewState {
  return events.reduce((s, [now, e]) => reduce(s, e, now), start);
}
const texts = (s: ViewState) => s.log.map((e) => e.text);
const welcome = (recovered: boolean, resumed: boolean): ChatEvent => ({
  type: "welcome",
  id: "c1",
  room: "lobby",
  online: 2,
  recovered,
  resumed,
});
const lost: [number, ChatEvent][] = [
  [0, { type: "state", state: "connecting", attempt: 0, retryInMs: null }],
  [1, welcome(false, false)],
  [2, { type: "state", state: "reconnecting", attempt: 1, retryInMs: 500, closeCode: 1006 }],
];
const message = (offset: number, own?: boolean, name = "Ann"): ChatEvent => ({
  type: "message",
  id: `e1-${offset}`,
  from: "c7",
  client: "tab1",
  name,
  text: `m${offset}`,
  ts: 1000 + offset,
  offset,
  ...(own === undefined ? {} : { own }),
});

Deno.test("own messages from a fresh join's history are delivered bubbles on the right", () => {
  const s = run([[0, welcome(false, false)], [1, message(1, true)], [2, message(2, false)]]);
  assert.deepEqual(s.chat.map((c) => [c.kind, c.status, c.text, c.name]), [
    ["own", "delivered", "m1", "You"],
    ["other", undefined, "m2", "Ann"],
  ]);
  assert.equal(s.stats.received, 1, "one's own history is not counted as received");
  assert.equal(s.stats.sent, 0, "nor as sent now");
  assert.deepEqual(s.log.slice(1).map((e) => [e.kind, e.name, e.text]), [
    ["message", "You", "m1"],
    ["message", "Ann", "m2"],
  ]);
  const again = reduce(s, message(1, true), 3);
  assert.equal(again.chat.length, 2, "the same message twice is one bubble");
});

Deno.test("a resume that recovered says nothing missed; one that did not does not", () => {
  const recovered = run([...lost, [3, welcome(true, true)]]);
  assert.match(texts(recovered).at(-1)!, /^Reconnected, nothing missed: #lobby/);
  const gap = run([
    ...lost,
    [3, welcome(false, true)],
    [3, { type: "gap", room: "lobby", previousEpoch: "e1", epoch: "e2", since: 4 }],
  ]);
  assert.ok(!texts(gap).some((t) => /nothing missed/.test(t)), texts(gap).join(" | "));
  assert.match(texts(gap).at(-2)!, /^Reconnected: #lobby/);
  assert.equal(gap.stats.reconnects, 1);
});

Deno.test("gap wording: a new epoch is a restart, the same epoch means history was too old", () => {
  const restart = run([[0, {
    type: "gap",
    room: "r",
    previousEpoch: "e1",
    epoch: "e2",
    since: 4,
  }]]);
  assert.match(restart.chat[0].text, /^Server restarted/);
  assert.match(texts(restart)[0], /restarted and lost its log \(new epoch\)/);
  const old = run([[0, { type: "gap", room: "r", previousEpoch: "e1", epoch: "e1", since: 4 }]]);
  assert.doesNotMatch(old.chat[0].text, /restart/i);
  assert.match(old.chat[0].text, /away too long/);
  assert.match(texts(old)[0], /longer than the server keeps history/);
});

Deno.test("the close reason the client reports appears in the log", () => {
  const s = run([
    [0, { type: "state", state: "connecting", attempt: 0, retryInMs: null }],
    [1, {
      type: "state",
      state: "reconnecting",
      attempt: 1,
      retryInMs: 1000,
      closeCode: 1006,
      closeReason: "Invalid status code: 404",
    }],
  ]);
  assert.equal(
    texts(s).at(-1),
    "Attempt 1 failed (connection dropped: Invalid status code: 404), retrying in 1s",
  );
});

Deno.test("switching rooms with queued messages says they were not sent", () => {
  let s = run([[0, {
    type: "outbox",
    items: [{ ref: "r1", text: "x", status: "queued", createdAt: 0 }],
  }]]);
  s = reduce(s, { type: "room", room: "dev", discarded: 2 }, 1);
  assert.deepEqual(s.notices.map((n) => n.text), [
    "2 messages queued for #lobby were not sent: you switched rooms.",
  ]);
  s = reduce(s, { type: "room", room: "ops", discarded: 1 }, 2);
  assert.equal(
    s.notices.at(-1)?.text,
    "1 message queued for #dev was not sent: you switched rooms.",
  );
  s = reduce(s, { type: "room", room: "lobby", discarded: 0 }, 3);
  assert.equal(s.notices.length, 2, "nothing to say when nothing was queued");
});

Deno.test("island notices show above the views and in the log; seqs stay unique", () => {
  const s = run([
    [0, { type: "notice", text: "Your saved name was reset." }],
    [1, { type: "error", code: "too_large", message: "big", ref: "r1" }],
  ]);
  assert.deepEqual(s.notices.map((n) => n.text), [
    "Your saved name was reset.",
    "That message is larger than the server allows.",
  ]);
  const seqs = [...s.notices.map((n) => n.seq), ...s.log.map((e) => e.seq)];
  assert.equal(new Set(seqs).size, seqs.length);
});

Deno.test("status words: long for wide headers, short for phones", () => {
  const base = { ready: true, network: true, retryIn: null };
  assert.deepEqual(statusText({ ...base, conn: "reconnecting", retryIn: 12 }), {
    long: "Reconnecting in 12s",
    short: "Retry in 12s",
  });
  assert.deepEqual(statusText({ ...base, conn: "offline" }), {
    long: "Disconnected",
    short: "Offline",
  });
  assert.equal(statusText({ ...base, ready: false, conn: "idle" }).long, "Starting…");
  assert.equal(statusText({ ...base, network: false, conn: "online" }).short, "No network");
});

Deno.test("a close reason that repeats the code's phrase is not shown twice", () => {
  const s = run([
    [0, { type: "state", state: "connecting", attempt: 0, retryInMs: null }],
    [1, welcome(false, false)],
    [2, {
      type: "state",
      state: "reconnecting",
      attempt: 0,
      retryInMs: 2000,
      closeCode: 1012,
      closeReason: "server restarting",
    }],
  ]);
  assert.equal(texts(s).at(-1), "Connection lost (server restarting), retrying in 2s");
});

Deno.test("log entries of our own are marked own, by id, not by the name You", () => {
  const joined = (id: string, name: string): ChatEvent => ({
    type: "presence",
    online: 2,
    joined: { id, name },
  });
  const s = run([
    [0, welcome(false, false)],
    [1, joined("c1", "Ann")],
    [2, joined("c9", "You")],
    [3, message(3, false, "You")],
    [4, message(4, true)],
    [5, { type: "ack", ref: "r1", ts: 5, text: "mine" }],
  ]);
  assert.deepEqual(s.log.slice(1).map((e) => [e.text, e.own ?? false]), [
    ["You joined", true],
    ["You joined", false],
    ["m3", false],
    ["m4", true],
    ["mine", true],
  ]);
});

Deno.test("a room switch while reconnecting makes the next welcome a join, not a reconnect", () => {
  const s = run([
    ...lost,
    [3, { type: "room", room: "dev" }],
    [4, { ...welcome(false, false), room: "dev" } as ChatEvent],
  ]);
  assert.match(texts(s).at(-1)!, /^Joined: #dev/);
  assert.equal(s.stats.reconnects, 0);
});
