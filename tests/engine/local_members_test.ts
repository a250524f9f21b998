import assert from "node:assert/strict";
import { LocalMembers } from "../../lib/engine/local_members.ts";

const member = (i: number) => ({ id: `c${i}`, name: `n${i}`, client: null });
const ids = (list: { members: readonly { id: string }[] }) => list.members.map((m) => m.id);

Deno.test("LocalMembers: a large room's joiners share one list until one of its members leaves", async () => {
  const members = new LocalMembers();
  for (let i = 1; i <= 3; i++) members.joined("r", member(i));
  const first = await members.list("r", 2, 3);
  assert.deepEqual(ids(first), ["c1", "c2"]);
  members.joined("r", member(4));
  const second = await members.list("r", 2, 4);
  assert.equal(second.members, first.members, "a later joiner is past the list: the same array");
  assert.equal(second.online, 4);
  members.left("r", "c3");
  assert.equal((await members.list("r", 2, 3)).members, first.members, "c3 was not listed");
  members.left("r", "c1");
  const third = await members.list("r", 2, 2);
  assert.notEqual(third.members, first.members);
  assert.deepEqual(ids(third), ["c2", "c4"], "a listed member left: listed again");
  assert.deepEqual(ids(await members.list("r", 3, 2)), ["c2", "c4"], "another limit: its own list");
});

Deno.test("LocalMembers: a list short of its limit takes the next joiner", async () => {
  const members = new LocalMembers();
  members.joined("r", member(1));
  assert.deepEqual(ids(await members.list("r", 5, 1)), ["c1"]);
  members.joined("r", member(2));
  assert.deepEqual(ids(await members.list("r", 5, 2)), ["c1", "c2"]);
  members.forget("r");
  assert.deepEqual(ids(await members.list("r", 5, 0)), []);
  members.joined("r", member(3));
  assert.deepEqual(ids(await members.list("r", 5, 1)), ["c3"], "a forgotten room starts afresh");
  members.clear();
  assert.deepEqual(ids(await members.list("r", 5, 0)), []);
});
