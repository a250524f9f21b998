/**
 * Identities that cannot be borrowed and refs that cannot be hijacked (issue 11), on the hub over
 * the memory engine. Connections get the handshake routes/ws.ts builds: the private key given as
 * `client=` replaced by its public id (`identify`).
 */

import assert from "node:assert/strict";
import type { HandshakeQuery } from "../../lib/protocol/handshake.ts";
import { identify, publicClientId } from "../../lib/hub/public_id.ts";
import { fakeHub } from "../helpers/fake_hub.ts";

const msg = (text: string, ref?: string) => JSON.stringify({ type: "message", text, ref });

type Hub = ReturnType<typeof fakeHub>;

/** Connects as routes/ws.ts does: `key` is what the client put in `client=`. */
async function connectWithKey(t: Hub, key: string | null, query: Partial<HandshakeQuery> = {}) {
  const handshake = await identify({ room: "lobby", name: null, resume: null, ...query, key });
  return await t.connect(handshake);
}

const VICTIM_KEY = "victim-private-key-01";

Deno.test("identity: a public id seen on the wire, used as a key, gives another public id", async () => {
  const t = fakeHub();
  const victim = await connectWithKey(t, VICTIM_KEY, { name: "Vic" });
  const observer = await t.connect();
  t.hub.receive(victim.conn, msg("hello from the victim"));
  await t.turn();
  const seen = observer.socket.objects().filter((f) => f.type === "message");
  const victimPublic = seen[0].client;
  assert.equal(victimPublic, await publicClientId(VICTIM_KEY));
  assert.notEqual(victimPublic, VICTIM_KEY, "the key itself is never broadcast");
  // The welcome tells each connection its own public id (null without a key).
  assert.equal(victim.socket.objects()[0].client, victimPublic);
  assert.equal(observer.socket.objects()[0].client, null);

  // The attacker copies the victim's public id and name.
  const attacker = await connectWithKey(t, victimPublic, { name: "Vic" });
  assert.notEqual(attacker.socket.objects()[0].client, victimPublic);
  t.hub.receive(attacker.conn, msg("forged"));
  await t.turn();
  const forged = observer.socket.objects().find((f) => f.text === "forged");
  assert.notEqual(forged.client, victimPublic, "others do not see the forgery as the victim's");
  assert.equal(
    victim.socket.objects().filter((f) => f.text === "forged").length,
    1,
    "the victim receives it live (it is not an echo of its own)",
  );

  // The victim's resume still holds the attacker's message; its own is left out.
  t.hub.remove(victim.conn);
  const back = await connectWithKey(t, VICTIM_KEY, { resume: { since: 0, epoch: "epoch1" } });
  const [welcome] = back.socket.objects();
  assert.deepEqual(welcome.history.map((m: { text: string }) => m.text), ["forged"]);
});

Deno.test("identity: refs pre-sent under the victim's public id do not swallow its messages", async () => {
  const t = fakeHub();
  const victim = await connectWithKey(t, VICTIM_KEY);
  const observer = await t.connect();
  const victimPublic = await publicClientId(VICTIM_KEY);
  const attacker = await connectWithKey(t, victimPublic);
  for (const ref of ["r1", "r2", "r3"]) t.hub.receive(attacker.conn, msg(`trap ${ref}`, ref));
  await t.turn();
  victim.socket.sent.length = 0;
  observer.socket.sent.length = 0;
  for (const ref of ["r1", "r2", "r3"]) t.hub.receive(victim.conn, msg(`real ${ref}`, ref));
  await t.turn();
  const acks = victim.socket.objects().filter((f) => f.type === "ack");
  assert.deepEqual(acks.map((a) => [a.ref, a.offset]), [["r1", 4], ["r2", 5], ["r3", 6]]);
  const got = observer.socket.objects().filter((f) => f.type === "message");
  assert.deepEqual(got.map((m) => [m.text, m.offset, m.client]), [
    ["real r1", 4, victimPublic],
    ["real r2", 5, victimPublic],
    ["real r3", 6, victimPublic],
  ]);
});

Deno.test("identity: a ref reused for another text is refused with ref_conflict", async () => {
  const t = fakeHub();
  const sender = await connectWithKey(t, VICTIM_KEY);
  const keyless = await t.connect();
  const observer = await t.connect();
  t.hub.receive(sender.conn, msg("first", "r1"));
  t.hub.receive(keyless.conn, msg("mine", "k1"));
  await t.turn();
  for (const s of [sender, keyless, observer]) s.socket.sent.length = 0;
  t.hub.receive(sender.conn, msg("second", "r1"));
  t.hub.receive(keyless.conn, msg("changed", "k1"));
  await t.turn();
  const [conflict] = sender.socket.objects();
  assert.deepEqual(conflict, {
    type: "error",
    code: "ref_conflict",
    message: 'ref "r1" was already used for a different message; send it with a new ref',
    ref: "r1",
  });
  assert.equal(keyless.socket.objects()[0].code, "ref_conflict", "connection-scoped refs too");
  assert.deepEqual(observer.socket.sent, [], "a conflicting message is never broadcast");
  assert.equal(t.hub.metrics.rejected.get("ref_conflict"), 2);

  // The same ref with the same text is a resend: the original ack, nothing broadcast.
  t.hub.receive(sender.conn, msg("first", "r1"));
  await t.turn();
  assert.deepEqual(sender.socket.objects().at(-1), {
    type: "ack",
    ref: "r1",
    offset: 1,
    ts: 1_000_000,
  });
  assert.deepEqual(observer.socket.sent, []);
});
