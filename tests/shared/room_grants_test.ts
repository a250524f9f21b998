import assert from "node:assert/strict";
import { MAX_GRANTS, RoomGrants } from "../../lib/shared/room_grants.ts";
import { ROOM_PATTERN } from "../../lib/protocol/handshake.ts";

function grants(value: unknown): RoomGrants {
  const parsed = RoomGrants.parse(value);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

Deno.test("the most specific grant wins: exact name, then the longest prefix", () => {
  const g = grants({ "*": "r", "team-*": "rw", "team-42-*": "r", "team-42-ops": "rw" });
  assert.equal(g.access("team-42-ops"), "rw");
  assert.equal(g.access("team-42-dev"), "r");
  assert.equal(g.access("team-7"), "rw");
  assert.equal(g.access("lobby"), "r");
  assert.equal(g.size, 4);
});

Deno.test("a pattern covers exactly the rooms that start with its prefix", () => {
  const g = grants({ "team-42-*": "rw" });
  assert.equal(g.access("team-42-"), "rw");
  assert.equal(g.access("team-42-x"), "rw");
  assert.equal(g.access("team-420"), null);
  assert.equal(g.access("team-42"), null);
  assert.equal(g.access("xteam-42-a"), null);
});

Deno.test("no grants, or none for a room, mean not granted", () => {
  assert.equal(grants(undefined).access("lobby"), null);
  assert.equal(grants({}).access("lobby"), null);
  assert.equal(RoomGrants.none.access("lobby"), null);
  assert.equal(grants({ lobby: "r" }).access("lobby2"), null);
});

Deno.test("bad grants are refused with what was wrong", () => {
  const cases: [unknown, RegExp][] = [
    ["lobby", /rooms must be an object .* got string/],
    [["lobby"], /got an array/],
    [{ Lobby: "rw" }, /invalid room or pattern: "Lobby"/],
    [{ "a*b": "r" }, /invalid room or pattern: "a\*b"/],
    [{ "**": "r" }, /invalid room or pattern/],
    [{ ["x".repeat(65)]: "r" }, /invalid room or pattern/],
    [{ lobby: "w" }, /rooms\["lobby"\] must be "r" or "rw", got "w"/],
    [{ lobby: 1 }, /must be "r" or "rw", got number/],
  ];
  for (const [value, message] of cases) {
    const parsed = RoomGrants.parse(value);
    assert.equal(typeof parsed, "string", JSON.stringify(value));
    assert.match(parsed as string, message);
  }
});

Deno.test("at most MAX_GRANTS grants", () => {
  const at = Object.fromEntries(Array.from({ length: MAX_GRANTS }, (_, i) => [`r${i}`, "r"]));
  assert.equal(grants(at).size, MAX_GRANTS);
  const over = { ...at, extra: "r" };
  assert.match(RoomGrants.parse(over) as string, /holds 257 grants, at most 256/);
});

Deno.test("every room name the handshake accepts is a valid exact grant", () => {
  for (const room of ["a", "lobby", "team-42", "x".repeat(64), "_-_", "0"]) {
    assert.ok(ROOM_PATTERN.test(room));
    assert.equal(grants({ [room]: "r" }).access(room), "r");
  }
});

Deno.test("a comma-separated list grants each entry the same access", () => {
  const g = RoomGrants.list(" lobby , news-* ,", "r") as RoomGrants;
  assert.equal(g.access("lobby"), "r");
  assert.equal(g.access("news-1"), "r");
  assert.equal(g.access("other"), null);
});
