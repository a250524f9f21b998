/**
 * Members that follow a room's run (`Outbound.follow`): taken at the turn's first message in the
 * room, they get every text of it but their own, in order with everything else queued for them,
 * and stop following when the room's members change. Each test sends two messages before the
 * case under test, so that it holds whether the members follow from the first or a later one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fakeHub } from "../helpers/fake_hub.ts";
import { chat, scriptedHub } from "../helpers/scripted_engine.ts";

const msg = (text: string) => JSON.stringify({ type: "message", text });
const texts = (objects: { type: string; text?: string }[]) =>
  objects.filter((m) => m.type === "message").map((m) => m.text);

/** What a socket got, one word per object: `m1` for a message, `ack3` for an ack of offset 3. */
// deno-lint-ignore no-explicit-any
const words = (objects: any[]) =>
  objects.map((o) => o.type === "message" ? o.text : o.type === "ack" ? `ack${o.offset}` : o.type);

/**
 * A room of `n` members whose first has sent m1 and m2 in the turn under way: the others follow
 * its run. `before` is the count of deliveries before them.
 */
async function turnUnderWay(n: number) {
  const t = fakeHub();
  const members = [];
  for (let i = 0; i < n; i++) members.push(await t.connect());
  for (const m of members) m.socket.sent.length = 0;
  const before = t.hub.metrics.messagesOut;
  t.hub.receive(members[0].conn, msg("m1"));
  t.hub.receive(members[0].conn, msg("m2"));
  return { t, members, before };
}

Deno.test("followers: several senders in one turn: nobody gets its own message, everything in order, one frame each", async () => {
  const t = fakeHub();
  const [a, b, c, d] = [await t.connect(), await t.connect(), await t.connect(), await t.connect()];
  for (const s of [a, b, c, d]) s.socket.sent.length = 0;
  const before = t.hub.metrics.messagesOut;
  t.hub.receive(a.conn, msg("m1"));
  t.hub.receive(a.conn, msg("m2")); // b, c and d follow the run
  t.hub.receive(b.conn, msg("m3")); // b stops following before its own message
  t.hub.receive(a.conn, msg("m4"));
  t.hub.receive(c.conn, msg("m5"));
  await t.turn();
  assert.deepEqual(words(a.socket.objects()), ["ack1", "ack2", "m3", "ack4", "m5"]);
  assert.deepEqual(words(b.socket.objects()), ["m1", "m2", "ack3", "m4", "m5"]);
  assert.deepEqual(words(c.socket.objects()), ["m1", "m2", "m3", "m4", "ack5"]);
  assert.deepEqual(words(d.socket.objects()), ["m1", "m2", "m3", "m4", "m5"]);
  for (const s of [a, b, c, d]) assert.equal(s.socket.sent.length, 1, "one frame per socket");
  assert.equal(t.hub.metrics.messagesOut - before, 15, "each message to the three others");
});

Deno.test("followers: a member welcomed during the turn gets the turn's later messages, not earlier ones", async () => {
  const { t, members: [a, b] } = await turnUnderWay(2);
  const c = t.start(); // welcomed at once (the room is joined): its welcome holds m1 and m2
  await c.open;
  t.hub.receive(a.conn, msg("m3"));
  await t.turn();
  assert.deepEqual(words(b.socket.objects()).filter((w) => w !== "presence"), ["m1", "m2", "m3"]);
  const got = c.socket.objects();
  assert.equal(got[0].type, "welcome");
  assert.deepEqual(got[0].history.map((m: { text: string }) => m.text), ["m1", "m2"]);
  assert.deepEqual(words(got.slice(1)).filter((w) => w !== "presence"), ["m3"]);
});

Deno.test("followers: a member that leaves during the turn is not counted for the turn's later messages", async () => {
  const { t, members: [a, b, c], before } = await turnUnderWay(3);
  t.hub.remove(c.conn);
  t.hub.receive(a.conn, msg("m3"));
  await t.turn();
  assert.deepEqual(words(b.socket.objects()).filter((w) => w !== "presence"), ["m1", "m2", "m3"]);
  assert.equal(t.hub.metrics.messagesOut - before, 5, "m1 and m2 to b and c, m3 to b alone");
});

Deno.test("followers: a frame of a follower's own (a pong) stays between the messages around it", async () => {
  const { t, members: [a, b] } = await turnUnderWay(2);
  t.hub.receive(b.conn, JSON.stringify({ type: "ping", t: 7 }));
  t.hub.receive(a.conn, msg("m3"));
  await t.turn();
  assert.deepEqual(words(b.socket.objects()), ["m1", "m2", "pong", "m3"]);
});

Deno.test("followers: past FLUSH_BYTES the run's followers are flushed early, and nothing is lost or repeated", async () => {
  const t = fakeHub({ FLUSH_BYTES: "1024" });
  const a = await t.connect();
  const followers = [await t.connect(), await t.connect(), await t.connect()];
  for (const f of followers) f.socket.sent.length = 0;
  const texts = Array.from({ length: 12 }, (_, i) => `m${i + 1} ${"x".repeat(200)}`);
  for (const text of texts) t.hub.receive(a.conn, msg(text));
  await t.turn();
  for (const f of followers) {
    assert.ok(f.socket.sent.length >= 2, `flushed early: ${f.socket.sent.length} frames`);
    assert.deepEqual(words(f.socket.objects()).filter((w) => w !== "presence"), texts);
  }
});

Deno.test("followers: a message of another epoch in the same turn reaches no follower; they rejoin", async () => {
  const t = scriptedHub();
  const a = await t.connect();
  const b = await t.connect();
  for (const s of [a, b]) s.socket.sent.length = 0;
  t.engine.deliver(chat("e1", 1));
  t.engine.deliver(chat("e1", 2)); // a and b follow
  t.engine.deliver(chat("e2", 5, "other", "new epoch")); // a later offset, another epoch
  await t.turn();
  for (const s of [a, b]) {
    assert.deepEqual(texts(s.socket.objects()), ["m1", "m2"], "e2-5 is not delivered under e1");
    assert.equal(s.socket.closeCode, 1012);
  }
});

Deno.test("followers: a message out of order in the same turn reaches no member whose welcome held it", async () => {
  const t = scriptedHub();
  t.engine.recovery = { epoch: "e1", offset: 3, recovered: false, history: [] };
  const a = await t.connect(); // welcomed at offset 3
  t.engine.recovery = { epoch: "e1", offset: 5, recovered: false, history: [] };
  const b = await t.connect(); // welcomed at offset 5
  for (const s of [a, b]) s.socket.sent.length = 0;
  t.engine.deliver(chat("e1", 7));
  t.engine.deliver(chat("e1", 8)); // a and b follow
  t.engine.deliver(chat("e1", 4)); // late: a's welcome did not hold it, b's did
  await t.turn();
  assert.deepEqual(texts(a.socket.objects()), ["m7", "m8", "m4"]);
  assert.deepEqual(texts(b.socket.objects()), ["m7", "m8"]);
});

Deno.test("followers: the sender of the turn's second message, who got the first, does not follow it", async () => {
  const t = fakeHub();
  const a = await t.connect();
  const b = await t.connect();
  const c = await t.connect();
  for (const s of [a, b, c]) s.socket.sent.length = 0;
  t.hub.receive(a.conn, msg("m1"));
  t.hub.receive(b.conn, msg("m2")); // b got m1: its own message is not for it
  t.hub.receive(a.conn, msg("m3"));
  await t.turn();
  assert.deepEqual(words(a.socket.objects()), ["ack1", "m2", "ack3"]);
  assert.deepEqual(words(b.socket.objects()), ["m1", "ack2", "m3"]);
  assert.deepEqual(words(c.socket.objects()), ["m1", "m2", "m3"]);
});

Deno.test("followers: what a follower has queued is counted once against FLUSH_BYTES", async () => {
  const t = fakeHub({ FLUSH_BYTES: "1024" });
  const a = await t.connect();
  const b = await t.connect();
  b.socket.sent.length = 0;
  const long = (i: number) => `m${i} ${"x".repeat(280)}`;
  t.hub.receive(a.conn, msg(long(1)));
  t.hub.receive(a.conn, msg(long(2))); // b follows
  t.hub.receive(b.conn, JSON.stringify({ type: "ping", t: 1 })); // about 840 bytes with the pong
  t.hub.receive(a.conn, msg("m3")); // about 970: still under 1024
  await t.turn();
  assert.equal(b.socket.sent.length, 1, "under FLUSH_BYTES: one frame");
  assert.deepEqual(words(b.socket.objects()), [long(1), long(2), "pong", "m3"]);
});
