/**
 * Which of the client's own messages a welcome's history holds: a fresh join keeps them (a
 * reloaded page shows what it sent), a resumed join leaves them out (the client has them), and a
 * connection never gets back what it sent itself before its welcome.
 */

import assert from "node:assert/strict";
import { fakeHub } from "../helpers/fake_hub.ts";
import { chat, scriptedHub } from "../helpers/scripted_engine.ts";

const msg = (text: string) => JSON.stringify({ type: "message", text });
const historyTexts = (welcome: { history: { text: string }[] }) =>
  welcome.history.map((m) => m.text);

async function roomWithOwnMessage() {
  const t = fakeHub();
  const mine = await t.connect({ client: "client-0001" });
  const other = await t.connect();
  t.hub.receive(mine.conn, msg("own"));
  t.hub.receive(other.conn, msg("theirs"));
  await t.turn();
  t.hub.remove(mine.conn);
  return t;
}

Deno.test("welcome: a fresh join's history keeps the client's own earlier messages", async () => {
  const t = await roomWithOwnMessage();
  const reloaded = await t.connect({ client: "client-0001" });
  const [welcome] = reloaded.socket.objects();
  assert.equal(welcome.recovered, false);
  assert.deepEqual(historyTexts(welcome), ["own", "theirs"]);
});

Deno.test("welcome: a resumed join leaves the client's own messages out", async () => {
  const t = await roomWithOwnMessage();
  const back = await t.connect({ client: "client-0001", resume: { since: 0, epoch: "epoch1" } });
  const [welcome] = back.socket.objects();
  assert.equal(welcome.recovered, true);
  assert.deepEqual(historyTexts(welcome), ["theirs"]);
  const stale = await t.connect({ client: "client-0001", resume: { since: 1, epoch: "gone" } });
  const [fallback] = stale.socket.objects();
  assert.equal(fallback.recovered, false);
  assert.deepEqual(historyTexts(fallback), ["theirs"], "resumed, even when not recovered");
});

Deno.test("welcome: what the connection sent before its welcome is never in it", async () => {
  const t = scriptedHub();
  // The scripted hub names connections c1, c2, ...: the first joiner is c1.
  t.engine.recovery = {
    epoch: "e1",
    offset: 2,
    recovered: false,
    history: [chat("e1", 1, "c1", "sent while joining"), chat("e1", 2, "c0", "before")],
  };
  const fresh = await t.connect({ client: "client-0001" });
  const [welcome] = fresh.socket.objects();
  assert.deepEqual(historyTexts(welcome), ["before"]);
});
