import assert from "node:assert/strict";
import { parseCommand } from "../../lib/console/commands.ts";

Deno.test("commands: /join, /leave, /rooms and /to are parsed; other lines are messages", () => {
  assert.deepEqual(parseCommand("/join news"), { kind: "join", room: "news" });
  assert.deepEqual(parseCommand("  /leave  news  "), { kind: "leave", room: "news" });
  assert.deepEqual(parseCommand("/rooms"), { kind: "rooms" });
  assert.deepEqual(parseCommand("/to news  hi  there "), {
    kind: "to",
    room: "news",
    text: "hi  there ",
  });
  for (const line of ["hello", "/joined x", "/quitting", "//join x", "join x", "/Join x"]) {
    assert.equal(parseCommand(line), null, line);
  }
});

Deno.test("commands: a command without what it needs says how to use it", () => {
  const cases: [string, string][] = [
    ["/join", "/join needs a room: /join <room>"],
    ["/leave   ", "/leave needs a room: /leave <room>"],
    ["/join a b", "/join needs a room: /join <room>"],
    ["/rooms all", "/rooms takes no argument"],
    ["/to news", "/to needs a room and a text: /to <room> <text>"],
    ["/to news   ", "/to needs a room and a text: /to <room> <text>"],
    ["/to", "/to needs a room and a text: /to <room> <text>"],
  ];
  for (const [line, message] of cases) {
    assert.deepEqual(parseCommand(line), { kind: "invalid", message }, line);
  }
});
