/**
 * The hub never mixes epochs in one connection: when the engine says a room moved to another
 * epoch (Redis lost or rolled back its history), members welcomed in the old one are closed with
 * 1012 so that they rejoin, and no message of another epoch reaches them.
 */

import assert from "node:assert/strict";
import { chat, scriptedHub } from "../helpers/scripted_engine.ts";

const texts = (objects: { type: string; text?: string }[]) =>
  objects.filter((m) => m.type === "message").map((m) => m.text);

Deno.test("hub epoch: a reset closes members of the old epoch with 1012, after their queue", async () => {
  const t = scriptedHub();
  const old = await t.connect();
  const plain = await t.connect({}, false);
  t.engine.deliver(chat("e1", 1));
  t.engine.recovery = { epoch: "e2", offset: 0, recovered: false, history: [] };
  const fresh = await t.connect();
  t.engine.reset("lobby", "e2");
  assert.deepEqual(texts(old.socket.objects()), ["m1"], "what was queued before the reset is sent");
  assert.deepEqual(plain.socket.sent, ["m1"]);
  assert.equal(old.socket.closeCode, 1012);
  assert.equal(plain.socket.closeCode, 1012);
  assert.equal(fresh.socket.closeCode, null, "a member welcomed in the new epoch stays");
  assert.equal(t.hub.size, 1);
  t.engine.deliver(chat("e2", 1));
  await t.turn();
  assert.deepEqual(texts(fresh.socket.objects()), ["m1"]);
  assert.equal(fresh.socket.objects()[0].epoch, "e2");
});

Deno.test("hub epoch: a message of another epoch is never delivered; its members rejoin", async () => {
  const t = scriptedHub();
  const a = await t.connect();
  a.socket.sent.length = 0;
  t.engine.deliver(chat("e1", 1));
  t.engine.deliver(chat("e2", 1, "other", "new epoch"));
  await t.turn();
  assert.deepEqual(texts(a.socket.objects()), ["m1"], "e2-1 is not delivered under e1");
  assert.equal(a.socket.closeCode, 1012);
  assert.equal(t.hub.size, 0);
});

Deno.test("hub epoch: a join whose recovery raced a reset rejoins instead of mixing epochs", async () => {
  const t = scriptedHub();
  await t.connect(); // the room exists
  const { promise: gate, resolve } = Promise.withResolvers<void>();
  t.engine.hold = gate;
  const racing = t.start();
  await t.turn();
  t.engine.reset("lobby", "e2");
  t.engine.deliver(chat("e2", 1));
  resolve(); // the recovery read before the reset: still e1
  await racing.open;
  await t.turn();
  assert.deepEqual(racing.socket.sent, [], "no welcome of the old epoch");
  assert.equal(racing.socket.closeCode, 1012);
  t.engine.hold = null;
  t.engine.recovery = { epoch: "e2", offset: 1, recovered: false, history: [chat("e2", 1)] };
  const again = await t.connect();
  const [welcome] = again.socket.objects();
  assert.equal(welcome.epoch, "e2");
  assert.equal(again.socket.closeCode, null);
});

Deno.test("hub epoch: messages held during a join are delivered only in the welcome's epoch", async () => {
  const t = scriptedHub();
  await t.connect();
  const { promise: gate, resolve } = Promise.withResolvers<void>();
  t.engine.hold = gate;
  t.engine.recovery = { epoch: "e1", offset: 2, recovered: false, history: [] };
  const joining = t.start();
  await t.turn();
  t.engine.deliver(chat("e0", 3, "other", "older epoch"));
  t.engine.deliver(chat("e1", 3, "other", "held"));
  resolve();
  await joining.open;
  await t.turn();
  assert.deepEqual(texts(joining.socket.objects()), ["held"]);
});

Deno.test("hub: a message the welcome already covered is not delivered again live", async () => {
  const t = scriptedHub();
  const history = [chat("e1", 4), chat("e1", 5)];
  t.engine.recovery = { epoch: "e1", offset: 5, recovered: false, history };
  const json = await t.connect();
  const plain = await t.connect({}, false);
  // This instance's feed lags Redis: it delivers 4 and 5 after the welcomes held them.
  for (const offset of [4, 5, 6]) t.engine.deliver(chat("e1", offset));
  await t.turn();
  const [welcome, ...live] = json.socket.objects();
  assert.deepEqual(welcome.history.map((m: { offset: number }) => m.offset), [4, 5]);
  assert.deepEqual(live.filter((m) => m.type === "message").map((m) => m.offset), [6]);
  assert.deepEqual(plain.socket.sent, ["m6"], "plain clients cannot drop duplicates themselves");
});
