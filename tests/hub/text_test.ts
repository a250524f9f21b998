/**
 * Control characters in message texts (issue 11): refused in both modes with `invalid_text`, so
 * JSON members never pay six bytes (`\u00XX`) per control byte, nor do joiners in their welcome.
 */

import assert from "node:assert/strict";
import { fakeHub } from "../helpers/fake_hub.ts";

const SENTENCE = "text must not contain control characters other than tab and newline";

Deno.test("hub: plain-mode control bytes are refused; JSON members receive nothing of them", async () => {
  const t = fakeHub({ HISTORY_ON_JOIN: "50" });
  const member = await t.connect();
  const plainMember = await t.connect({}, false);
  const plain = await t.connect({}, false);
  await t.tick(); // the joins' presence
  member.socket.sent.length = 0;
  const bytes = "\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008".repeat(500);
  for (let i = 0; i < 12; i++) t.hub.receive(plain.conn, `x${bytes}`);
  await t.tick();
  assert.equal(plain.socket.sent.length, 12);
  for (const frame of plain.socket.sent) {
    assert.equal(frame, `error: ${SENTENCE}; got U+0001 at character 2`);
  }
  assert.deepEqual(member.socket.sent, [], "not one byte of them reaches a JSON member");
  assert.deepEqual(plainMember.socket.sent, []);
  const joiner = await t.connect();
  const [welcome] = joiner.socket.objects();
  assert.deepEqual(welcome.history, [], "nor a joiner's welcome");
  assert.ok(joiner.socket.sent[0].length < 1000, `welcome of ${joiner.socket.sent[0].length}`);
  assert.equal(t.hub.metrics.rejected.get("invalid_text"), 12);
});

Deno.test("hub: a JSON text with a control character gets invalid_text with its ref", async () => {
  const t = fakeHub();
  const sender = await t.connect();
  const member = await t.connect();
  for (const s of [sender, member]) s.socket.sent.length = 0;
  t.hub.receive(sender.conn, JSON.stringify({ type: "message", text: "a\r\nb", ref: "r1" }));
  t.hub.receive(sender.conn, JSON.stringify({ type: "message", text: "a\tb\nc", ref: "r2" }));
  await t.turn();
  assert.deepEqual(sender.socket.objects(), [
    {
      type: "error",
      code: "invalid_text",
      message: `${SENTENCE}; got U+000D at character 2`,
      ref: "r1",
    },
    { type: "ack", ref: "r2", offset: 1, ts: 1_000_000 },
  ]);
  assert.deepEqual(member.socket.objects().map((m) => m.text), ["a\tb\nc"]);
});
