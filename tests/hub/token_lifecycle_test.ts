/**
 * Identity in the hub, with a fake verifier and a manual clock: user and info on messages,
 * presence and the welcome; read-only grants; refresh over the open socket; expiry.
 */
import assert from "node:assert/strict";
import { Hub } from "../../lib/hub/hub.ts";
import { MemoryEngine } from "../../lib/engine/memory/memory_engine.ts";
import { loadConfig } from "../../lib/shared/config.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { RoomGrants } from "../../lib/shared/room_grants.ts";
import type { Identity, TokenCheck, TokenVerifier } from "../../lib/auth/identity.ts";
import { Close } from "../../lib/protocol/close_codes.ts";
import { FakeSocket } from "../helpers/fake_hub.ts";
import { ManualTimers } from "../helpers/manual_timers.ts";

const T0 = 1_000_000;

function identity(
  user: string | null,
  rooms: Record<string, string>,
  expires: number | null,
  extra: Partial<Identity> = {},
): Identity {
  return {
    user,
    name: null,
    info: null,
    grants: RoomGrants.parse(rooms) as RoomGrants,
    expires,
    ...extra,
  };
}

/** A verifier whose tokens are names of identities the test registers. */
class FakeVerifier implements TokenVerifier {
  tokens = new Map<string, TokenCheck>();
  verify(token: string): Promise<TokenCheck> {
    return Promise.resolve(
      this.tokens.get(token) ??
        { ok: false, refusal: "signature", reason: "token signature is invalid" },
    );
  }
}

function setup(auth = true) {
  const timers = new ManualTimers();
  timers.time = T0;
  const verifier = new FakeVerifier();
  const deferred: (() => void)[] = [];
  const engine = new MemoryEngine({
    historySize: 100,
    dedupTtlMs: 60_000,
    roomTtlMs: 60_000,
    now: timers.now,
    newEpoch: () => "e1",
  });
  let n = 0;
  const hub = new Hub({
    config: loadConfig({ PRESENCE_INTERVAL_MS: "0" }),
    engine,
    logger: silentLogger,
    monotonic: timers.now,
    now: timers.now,
    newId: () => `c${++n}`,
    defer: (fn) => deferred.push(fn),
    timers,
    verifier: auth ? verifier : null,
  });
  engine.start(hub.events);
  const turn = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    while (deferred.length) deferred.shift()!();
  };
  const connect = async (who: Identity | null, room = "lobby", json = true) => {
    const socket = new FakeSocket();
    const conn = hub.attach(
      socket,
      { room, name: who?.name ?? null, client: null, resume: null },
      json,
      null,
      who,
    );
    await socket.open();
    await turn();
    return { socket, conn };
  };
  const send = (conn: Parameters<Hub["receive"]>[0], frame: object) =>
    hub.receive(conn, JSON.stringify(frame));
  return { hub, timers, verifier, turn, connect, send };
}

Deno.test("auth hub: user and info ride on messages, presence and the welcome's history", async () => {
  const t = setup();
  const ann = identity("ann", { lobby: "rw" }, T0 + 60_000, { name: "Ann", info: { team: 42 } });
  const a = await t.connect(ann);
  const [welcome] = a.socket.objects();
  assert.equal(welcome.user, "ann");
  assert.equal(welcome.access, "rw");
  assert.equal(welcome.expires, T0 + 60_000);
  const b = await t.connect(identity("bob", { "*": "r" }, T0 + 60_000));
  const joins = a.socket.objects().filter((f) => f.type === "presence" && f.joined);
  assert.deepEqual(joins.map((f) => f.joined), [
    { id: a.conn.id, name: "Ann", user: "ann", info: { team: 42 } },
    { id: b.conn.id, name: null, user: "bob" },
  ]);
  t.send(a.conn, { type: "message", text: "hi", ref: "r1" });
  await t.turn();
  const m = b.socket.objects().find((f) => f.type === "message");
  assert.equal(m.user, "ann");
  assert.deepEqual(m.info, { team: 42 });
  const c = await t.connect(identity("cy", { lobby: "r" }, T0 + 60_000));
  const history = c.socket.objects()[0].history;
  assert.equal(history[0].user, "ann");
  assert.deepEqual(history[0].info, { team: 42 });
});

Deno.test("auth hub: welcome members carry user and info; an anonymous reader's neither", async () => {
  const t = setup();
  const ann = identity("ann", { lobby: "rw" }, T0 + 60_000, { name: "Ann", info: { team: 42 } });
  await t.connect(ann);
  await t.connect(identity(null, { lobby: "r" }, null));
  const bob = await t.connect(identity("bob", { lobby: "r" }, T0 + 60_000, { name: "Bob" }));
  assert.deepEqual(bob.socket.objects()[0].members, [
    { id: "c3", name: "Bob", user: "bob", client: null },
    { id: "c1", name: "Ann", user: "ann", info: { team: 42 }, client: null },
    { id: "c2", name: null, client: null },
  ]);
});

Deno.test("auth hub: a read-only grant that sends gets forbidden with its ref; nothing reaches the room", async () => {
  const t = setup();
  const reader = await t.connect(identity("rea", { lobby: "r" }, T0 + 60_000));
  const witness = await t.connect(identity("wit", { lobby: "rw" }, T0 + 60_000));
  witness.socket.sent.length = 0;
  reader.socket.sent.length = 0;
  t.send(reader.conn, { type: "message", text: "let me in", ref: "x1" });
  await t.turn();
  const [err] = reader.socket.objects();
  assert.equal(err.type, "error");
  assert.equal(err.code, "forbidden");
  assert.equal(err.ref, "x1");
  assert.match(err.message, /read-only: your token may not send in room lobby/);
  assert.equal(reader.socket.closeCode, null, "the connection stays");
  assert.deepEqual(witness.socket.sent, []);
  assert.equal(t.hub.metrics.messagesIn, 0);
  const anonymous = await t.connect(identity(null, { lobby: "r" }, null));
  t.send(anonymous.conn, { type: "message", text: "hello?" });
  await t.turn();
  assert.match(anonymous.socket.objects().at(-1).message, /anonymous readers may not send/);
  assert.deepEqual(witness.socket.objects().filter((f) => f.type === "message"), []);
});

Deno.test("auth hub: when exp passes without a refresh, token_expired then close 4401", async () => {
  const t = setup();
  const a = await t.connect(identity("ann", { lobby: "rw" }, T0 + 10_000));
  t.timers.advance(9_999);
  await t.turn();
  assert.equal(a.socket.closeCode, null);
  t.timers.advance(1);
  await t.turn();
  const last = a.socket.objects().at(-1);
  assert.equal(last.code, "token_expired");
  assert.equal(a.socket.closeCode, Close.tokenExpired);
  assert.equal(t.hub.size, 0);
  assert.equal(t.timers.pending, 0, "no timer left behind");
});

Deno.test("auth hub: refreshes push the expiry out while messages flow; each is answered", async () => {
  const t = setup();
  const a = await t.connect(identity("ann", { lobby: "rw" }, T0 + 10_000));
  const b = await t.connect(identity("bob", { lobby: "rw" }, T0 + 1_000_000));
  let sent = 0;
  for (let round = 1; round <= 5; round++) {
    const expires = T0 + 10_000 * (round + 1);
    t.verifier.tokens.set(`ann-${round}`, {
      ok: true,
      identity: identity("ann", { lobby: "rw" }, expires),
    });
    t.timers.advance(8_000);
    t.send(a.conn, { type: "refresh", token: `ann-${round}`, ref: `f${round}` });
    t.send(a.conn, { type: "message", text: `m${++sent}` });
    await t.turn();
    const refreshed = a.socket.objects().find((f) =>
      f.type === "refreshed" && f.ref === `f${round}`
    );
    assert.equal(refreshed?.expires, expires, `round ${round}`);
    t.timers.advance(2_000); // past the old expiry
    await t.turn();
    assert.equal(a.socket.closeCode, null, `round ${round}: still open`);
  }
  const texts = b.socket.objects().filter((f) => f.type === "message").map((f) => f.text);
  assert.deepEqual(texts, ["m1", "m2", "m3", "m4", "m5"]);
  assert.equal(t.timers.pending, 2, "one expiry timer per connection");
});

Deno.test("auth hub: a bad refresh gets an error and the old expiry stands", async () => {
  const t = setup();
  const a = await t.connect(identity("ann", { lobby: "rw" }, T0 + 10_000));
  t.verifier.tokens.set("bob", {
    ok: true,
    identity: identity("bob", { lobby: "rw" }, T0 + 99_000),
  });
  t.send(a.conn, { type: "refresh", token: "forged", ref: "f1" });
  t.send(a.conn, { type: "refresh", token: "bob", ref: "f2" });
  await t.turn();
  const errors = a.socket.objects().filter((f) => f.type === "error");
  // Only the latest refresh counts: the first one's outcome is dropped.
  assert.deepEqual(errors.map((e) => [e.code, e.ref]), [["forbidden", "f2"]]);
  assert.match(errors[0].message, /another user/);
  t.send(a.conn, { type: "refresh", token: "forged", ref: "f3" });
  await t.turn();
  const bad = a.socket.objects().at(-1);
  assert.deepEqual([bad.code, bad.ref], ["invalid_token", "f3"]);
  assert.match(bad.message, /refresh refused: token signature is invalid/);
  t.timers.advance(10_000);
  await t.turn();
  assert.equal(a.socket.closeCode, Close.tokenExpired, "the old expiry still stands");
});

Deno.test("auth hub: a refresh that no longer grants the room ends it with forbidden, 4403", async () => {
  const t = setup();
  const a = await t.connect(identity("ann", { "team-*": "rw" }, T0 + 10_000), "team-1");
  t.verifier.tokens.set("narrow", {
    ok: true,
    identity: identity("ann", { "team-2": "rw" }, T0 + 99_000),
  });
  t.send(a.conn, { type: "refresh", token: "narrow" });
  await t.turn();
  const last = a.socket.objects().at(-1);
  assert.equal(last.code, "forbidden");
  assert.match(last.message, /no longer grants room team-1/);
  assert.equal(a.socket.closeCode, Close.forbidden);
  assert.equal(t.timers.pending, 0);
});

Deno.test("auth hub: a refresh can narrow rw to r, which applies at once", async () => {
  const t = setup();
  const a = await t.connect(identity("ann", { lobby: "rw" }, T0 + 10_000));
  t.verifier.tokens.set("ro", { ok: true, identity: identity("ann", { lobby: "r" }, T0 + 99_000) });
  t.send(a.conn, { type: "refresh", token: "ro" });
  await t.turn();
  t.send(a.conn, { type: "message", text: "now?", ref: "m1" });
  await t.turn();
  assert.equal(a.socket.objects().at(-1).code, "forbidden");
});

Deno.test("auth hub: an expiry beyond 2^31 ms is re-armed, not fired at once", async () => {
  const t = setup();
  const far = T0 + 40 * 86_400_000;
  const a = await t.connect(identity("ann", { lobby: "rw" }, far));
  assert.deepEqual(t.timers.delays(), [2 ** 31 - 1]);
  t.timers.advance(2 ** 31 - 1);
  await t.turn();
  assert.equal(a.socket.closeCode, null);
  t.timers.advance(far - t.timers.time);
  await t.turn();
  assert.equal(a.socket.closeCode, Close.tokenExpired);
});

Deno.test("open hub: no user fields, and a refresh is an error", async () => {
  const t = setup(false);
  const a = await t.connect(null);
  const b = await t.connect(null);
  const [welcome] = a.socket.objects();
  assert.equal("user" in welcome, false);
  assert.equal("expires" in welcome, false);
  t.send(a.conn, { type: "message", text: "x" });
  t.send(a.conn, { type: "refresh", token: "anything", ref: "f" });
  await t.turn();
  const m = b.socket.objects().find((f) => f.type === "message");
  assert.equal("user" in m, false);
  const err = a.socket.objects().find((f) => f.type === "error");
  assert.deepEqual([err.code, err.ref], ["invalid_message", "f"]);
});

Deno.test("auth hub: refresh frames count against the rate limit like any frame", async () => {
  const t = setup();
  const a = await t.connect(identity("ann", { lobby: "rw" }, T0 + 10_000));
  let verified = 0;
  const verify = t.verifier.verify.bind(t.verifier);
  t.verifier.verify = (token) => (verified++, verify(token));
  for (let i = 0; i < 60; i++) t.send(a.conn, { type: "refresh", token: `junk-${i}` });
  await t.turn();
  const codes = a.socket.objects().filter((f) => f.type === "error").map((f) => f.code);
  assert.ok(codes.includes("rate_limited"), codes.join(","));
  // RATE_BURST (40) frames at most were checked; the rest were refused before any work.
  assert.ok(verified <= 40, `verified ${verified}`);
});
