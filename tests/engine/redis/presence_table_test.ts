/**
 * What the presence table asks the presence script to write: member changes between ticks, and
 * the whole list when Redis may not hold it (a new room, a failed tick, a count that did not
 * match). No Redis needed: the batches are checked as they would be sent.
 */
import assert from "node:assert/strict";
import { decodeMembers, PresenceTable } from "../../../lib/engine/redis/presence_table.ts";
import type { Member } from "../../../lib/protocol/frames.ts";

const ANN: Member = { id: "c1", name: "Ann", client: "pubAnn", user: "ann", info: { team: 4 } };
const BOB: Member = { id: "c2", name: null, client: null };
const CY: Member = { id: "c3", name: "Cy", client: null };

/** One room's arguments of a batch, decoded: the header, then what is set and deleted. */
function roomArgs(args: string[]) {
  const [count, whole, expected, sets, deletes] = args.slice(0, 5).map(Number);
  const pairs = args.slice(5, 5 + sets * 2);
  const set = Object.fromEntries(
    Array.from({ length: sets }, (_, i) => [pairs[i * 2], JSON.parse(pairs[i * 2 + 1])]),
  );
  const deleted = args.slice(5 + sets * 2, 5 + sets * 2 + deletes);
  assert.equal(args.length, 5 + sets * 2 + deletes, "one room's arguments, nothing more");
  return { count, whole: whole === 1, expected, set, deleted };
}

/** A reply of the presence script for `rooms`: nobody elsewhere, `resync` for the ones named. */
const reply = (rooms: string[], resync: string[] = []) =>
  rooms.flatMap((room) => [0, "e1", 0, resync.includes(room) ? 1 : 0]);

Deno.test("presence table: a new room is written whole, then only its changes", () => {
  const table = new PresenceTable("fx", "me");
  table.setLocal("r", 2);
  table.addMember("r", ANN);
  table.addMember("r", BOB);
  const first = table.batch();
  assert.deepEqual(first.rooms, ["r"]);
  assert.deepEqual(first.keys, [
    "fx:{r}:presence",
    "fx:{r}:epoch",
    "fx:{r}:offset",
    "fx:{r}:stream",
    "fx:{r}:members:me",
  ]);
  assert.deepEqual(roomArgs(first.args), {
    count: 2,
    whole: true,
    expected: 2,
    set: { c1: ANN, c2: BOB },
    deleted: [],
  });
  table.apply(first.rooms, reply(first.rooms));
  table.addMember("r", CY);
  table.removeMember("r", ANN.id);
  assert.equal(table.removeMember("r", "nobody"), false);
  assert.equal(table.changed, true);
  assert.deepEqual(roomArgs(table.batch().args), {
    count: 3, // raised by the third member; the hub's next report sets it exactly
    whole: false,
    expected: 2,
    set: { c3: CY },
    deleted: ["c1"],
  });
  table.setLocal("r", 2);
  assert.deepEqual(roomArgs(table.batch().args), {
    count: 2,
    whole: false,
    expected: 2,
    set: {},
    deleted: [],
  }, "nothing changed: the count is refreshed, no member written");
  assert.deepEqual(table.localMembers("r", 10), [BOB, CY]);
  assert.deepEqual(table.localMembers("r", 1), [BOB]);
});

Deno.test("presence table: a failed tick or a count that did not match writes the list whole", () => {
  const table = new PresenceTable("fx", "me");
  table.addMember("r", ANN);
  table.apply(["r"], reply(["r"]));
  table.batch();
  table.addMember("r", BOB);
  const lost = table.batch();
  table.failed(lost.rooms);
  assert.deepEqual(roomArgs(table.batch().args), {
    count: 2,
    whole: true,
    expected: 2,
    set: { c1: ANN, c2: BOB },
    deleted: [],
  }, "after a failed tick");
  table.removeMember("r", ANN.id);
  const sent = table.batch();
  assert.equal(roomArgs(sent.args).whole, false);
  const ticks = table.apply(sent.rooms, reply(sent.rooms, ["r"]));
  assert.equal(ticks[0].resync, true);
  assert.deepEqual(roomArgs(table.batch().args), {
    count: 2,
    whole: true,
    expected: 1,
    set: { c2: BOB },
    deleted: [],
  }, "after Redis held another number of members");
});

Deno.test("presence table: a member raises the room's count; a room left is removed", () => {
  const table = new PresenceTable("fx", "me");
  table.addMember("r", ANN);
  table.addMember("r", BOB);
  assert.deepEqual(table.rooms(), ["r"]);
  assert.equal(roomArgs(table.batch().args).count, 2, "at least its members");
  table.setLocal("r", 5);
  assert.equal(roomArgs(table.batch().args).count, 5, "the hub's count when higher");
  table.setLocal("r", 0);
  assert.deepEqual(table.localMembers("r", 10), []);
  const gone = table.batch();
  assert.deepEqual(gone.rooms, ["r"]);
  assert.deepEqual(roomArgs(gone.args), {
    count: 0,
    whole: false,
    expected: 0,
    set: {},
    deleted: [],
  });
  // Left and joined again before a tick: the list is written whole (its leaves were dropped).
  table.addMember("r", CY);
  table.setLocal("r", 0);
  table.addMember("r", BOB);
  assert.deepEqual(roomArgs(table.batch().args), {
    count: 1,
    whole: true,
    expected: 1,
    set: { c2: BOB },
    deleted: [],
  });
  table.failed(["gone-room"]);
  assert.deepEqual(table.batch().rooms, ["r", "gone-room"], "a room not local is removed again");
});

Deno.test("decodeMembers keeps members and skips what is not one", () => {
  assert.deepEqual(decodeMembers([JSON.stringify(ANN), "junk", "{}", '{"id":7}']), [ANN]);
  assert.throws(() => decodeMembers("nope"), /members reply must be an array/);
});
