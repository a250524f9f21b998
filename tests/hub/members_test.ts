/**
 * The welcome's member list: the joiner first, then who the engine lists, at most
 * `MAX_WELCOME_MEMBERS` and within half the welcome's byte cap, while `online` stays the full
 * count; and what the hub tells the engine of its members.
 */

import assert from "node:assert/strict";
import { fakeHub } from "../helpers/fake_hub.ts";
import { scriptedHub } from "../helpers/scripted_engine.ts";

type Frame = { type: string; members: { id: string }[]; online: number; history: unknown[] };
const welcomeOf = (joined: { socket: { objects(): Frame[] } }) => joined.socket.objects()[0];
const ids = (welcome: Frame) => welcome.members.map((m) => m.id);

Deno.test("welcome members: the joiner first, then the room's members in join order", async () => {
  const t = fakeHub();
  const ann = await t.connect({ name: "Ann", client: "pubAnn0000000001" });
  const bob = await t.connect({ name: "Bob" });
  const cy = await t.connect({ name: "Cy", client: "pubCy00000000001" });
  assert.deepEqual(welcomeOf(ann).members, [
    { id: "c1", name: "Ann", client: "pubAnn0000000001" },
  ]);
  const welcome = welcomeOf(cy);
  assert.deepEqual(welcome.members, [
    { id: "c3", name: "Cy", client: "pubCy00000000001" },
    { id: "c1", name: "Ann", client: "pubAnn0000000001" },
    { id: "c2", name: "Bob", client: null },
  ], "open mode: id, name and public client id; no user, no info");
  assert.equal(welcome.online, 3);
  t.hub.remove(bob.conn);
  const dee = await t.connect({ name: "Dee" });
  assert.deepEqual(ids(welcomeOf(dee)), ["c4", "c1", "c3"], "who left is not listed");
});

Deno.test("welcome members: MAX_WELCOME_MEMBERS at its boundary; online stays the full count", async () => {
  const t = fakeHub({ MAX_WELCOME_MEMBERS: "3" });
  await t.connect();
  await t.connect();
  const third = await t.connect();
  assert.deepEqual(ids(welcomeOf(third)), ["c3", "c1", "c2"], "exactly the cap: everyone");
  const fourth = await t.connect();
  assert.deepEqual(ids(welcomeOf(fourth)), ["c4", "c1", "c2"], "one over: cut at the cap");
  assert.equal(welcomeOf(fourth).online, 4);

  const one = fakeHub({ MAX_WELCOME_MEMBERS: "1" });
  await one.connect();
  const alone = await one.connect();
  assert.deepEqual(ids(welcomeOf(alone)), ["c2"], "1: the joiner only");
  assert.equal(welcomeOf(alone).online, 2);
});

Deno.test("welcome members: MAX_WELCOME_MEMBERS=0 lists nobody and asks the engine nothing", async () => {
  const t = scriptedHub({ MAX_WELCOME_MEMBERS: "0" });
  let asked = 0;
  const members = t.engine.members.bind(t.engine);
  t.engine.members = (room, limit, local) => (asked++, members(room, limit, local));
  await t.connect();
  const second = await t.connect();
  assert.deepEqual(welcomeOf(second).members, []);
  assert.equal(welcomeOf(second).online, 2);
  assert.equal(asked, 0);
  assert.deepEqual([...t.engine.joined.keys()], ["c1", "c2"], "the engine still knows them");
});

Deno.test("welcome members: the hub tells the engine after the welcome and on close", async () => {
  const t = scriptedHub();
  let release = () => {};
  t.engine.hold = new Promise<void>((r) => release = r);
  const joining = t.start();
  await t.turn();
  assert.deepEqual([...t.engine.joined.keys()], [], "not a member before its welcome");
  release();
  await joining.open;
  t.engine.hold = null;
  assert.deepEqual([...t.engine.joined.values()], [{ id: "c1", name: null, client: null }]);
  const plain = await t.connect({ name: "Pat" }, false);
  assert.deepEqual([...t.engine.joined.keys()], ["c1", "c2"], "a plain-mode connection too");
  t.hub.remove(joining.conn);
  assert.deepEqual([...t.engine.joined.keys()], ["c2"]);
  // Closed while joining: never a member, nothing to take back.
  t.engine.hold = new Promise(() => {});
  const never = t.start();
  await t.turn();
  t.hub.remove(never.conn);
  t.hub.remove(plain.conn);
  assert.deepEqual([...t.engine.joined.keys()], []);
});

Deno.test("welcome members: a plain-mode connection is listed, and asks for no list", async () => {
  const t = scriptedHub();
  let asked = 0;
  const members = t.engine.members.bind(t.engine);
  t.engine.members = (room, limit, local) => (asked++, members(room, limit, local));
  await t.connect({ name: "Pat" }, false);
  assert.equal(asked, 0);
  const json = await t.connect();
  assert.equal(asked, 1);
  assert.deepEqual(welcomeOf(json).members, [
    { id: "c2", name: null, client: null },
    { id: "c1", name: "Pat", client: null },
  ]);
});

Deno.test("welcome members: they take at most half the welcome's byte cap", async () => {
  // MAX_BUFFERED_BYTES=1024: a welcome of at most 2048 bytes, its members in 1024 of them.
  const t = fakeHub({ MAX_BUFFERED_BYTES: "1024" });
  const name = "n".repeat(200); // about 240 bytes a member: 4 fit in 1024
  const first = await t.connect({ name });
  t.hub.receive(first.conn, JSON.stringify({ type: "message", text: "kept" }));
  await t.turn();
  for (let i = 0; i < 8; i++) await t.connect({ name });
  const last = await t.connect({ name });
  const welcome = welcomeOf(last);
  assert.equal(welcome.members.length, 4);
  assert.deepEqual(ids(welcome), ["c10", "c1", "c2", "c3"]);
  assert.equal(welcome.online, 10);
  assert.equal(welcome.history.length, 1, "the history still has its half");
  const bytes = new TextEncoder().encode(last.socket.sent[0].split("\n")[0]).length;
  assert.ok(bytes <= 2048, `welcome of ${bytes} bytes`);
});

Deno.test("welcome members: names that look like the frame's keys are spliced in as data", async () => {
  // Members and history are spliced into the welcome at their keys: text that spells a key in a
  // name or a message must stay data, and members listed again come out the same.
  const t = fakeHub();
  const tricky = 'x"members":[1],"history":[2]';
  const ann = await t.connect({ name: tricky });
  t.hub.receive(ann.conn, JSON.stringify({ type: "message", text: '"history":[]"members":[]' }));
  await t.turn();
  for (const name of ["Bob", "Cy"]) {
    const joined = await t.connect({ name });
    const welcome = joined.socket.objects()[0] as unknown as {
      members: { name: string }[];
      history: { text: string }[];
    };
    assert.deepEqual(welcome.members.map((m) => m.name).slice(0, 2), [name, tricky]);
    assert.deepEqual(welcome.history.map((m) => m.text), ['"history":[]"members":[]']);
  }
});
