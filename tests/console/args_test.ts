import assert from "node:assert/strict";
import { DEFAULT_URL, parseConsoleArgs, USAGE } from "../../lib/console/args.ts";

Deno.test("args: defaults, and FANOUT_URL from the environment", () => {
  const result = parseConsoleArgs([], {});
  assert.deepEqual(result, {
    ok: true,
    options: {
      url: DEFAULT_URL,
      room: "lobby",
      name: null,
      token: null,
      json: false,
      timeoutSeconds: 10,
      help: false,
    },
  });
  const env = parseConsoleArgs([], { FANOUT_URL: "wss://chat.example/ws" });
  assert.equal(env.ok && env.options.url, "wss://chat.example/ws");
});

Deno.test("args: every option, with a space or `=`; --url beats FANOUT_URL; http means ws", () => {
  const result = parseConsoleArgs(
    ["--url=http://h:1/ws", "--room", "dev", "--name", "Bob B", "--json", "--timeout=2.5"],
    { FANOUT_URL: "ws://other/ws" },
  );
  assert.ok(result.ok);
  assert.deepEqual(result.options, {
    url: "ws://h:1/ws",
    room: "dev",
    name: "Bob B",
    token: null,
    json: true,
    timeoutSeconds: 2.5,
    help: false,
  });
  const https = parseConsoleArgs(["--url", "https://h/ws"], {});
  assert.equal(https.ok && https.options.url, "wss://h/ws");
});

Deno.test("args: --help and -h win even with other values", () => {
  for (const flag of ["--help", "-h"]) {
    const result = parseConsoleArgs(["--room", "ok", flag], {});
    assert.ok(result.ok && result.options.help);
  }
  for (const option of ["--url", "--room", "--name", "--json", "--timeout", "sair", "exit"]) {
    assert.ok(USAGE.includes(option), `usage mentions ${option}`);
  }
});

Deno.test("args: bad options give one-line errors that name the problem", () => {
  const cases: [string[], RegExp][] = [
    [["--colour"], /^unknown option --colour; see --help$/],
    [["stray"], /^unexpected argument "stray"/],
    [["--room"], /^--room needs a value/],
    [["--room", "Has Space"], /^--room: room must be .*"Has Space"/],
    [["--name", "   "], /^--name: name must be 1-32 characters/],
    [["--name", "x".repeat(40)], /^--name: name must be 1-32/],
    [["--timeout", "0"], /^--timeout must be .*"0"/],
    [["--timeout", "soon"], /^--timeout must be .*"soon"/],
    [["--url", "ftp://example.test/ws"], /^--url must use ws:\/\/, .*"ftp:\/\/example\.test\/ws"$/],
    [["--url", "not a url"], /^--url must be an absolute ws:\/\/, .*"not a url"$/],
  ];
  for (const [args, expected] of cases) {
    const result = parseConsoleArgs(args, {});
    assert.equal(result.ok, false, args.join(" "));
    if (!result.ok) {
      assert.match(result.error, expected);
      assert.ok(!result.error.includes("\n"), "one line");
    }
  }
  const env = parseConsoleArgs([], { FANOUT_URL: "localhost:8000" });
  assert.deepEqual(env, {
    ok: false,
    error: 'FANOUT_URL must use ws://, wss://, http:// or https://, got "localhost:8000"',
  });
});

Deno.test("args: --token and FANOUT_TOKEN; --token wins; a non-JWT is refused without echo", () => {
  const env = parseConsoleArgs([], { FANOUT_TOKEN: "e.n.v" });
  assert.equal(env.ok && env.options.token, "e.n.v");
  const flag = parseConsoleArgs(["--token", "a.b.c"], { FANOUT_TOKEN: "e.n.v" });
  assert.equal(flag.ok && flag.options.token, "a.b.c");
  const bad = parseConsoleArgs(["--token", "my password"], {});
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.error : "", /--token must be a JWT/);
  assert.ok(!bad.ok && !bad.error.includes("password"));
  assert.match(USAGE, /--token <jwt>/);
});

Deno.test("args: --room a,b,c: the first is the main room, the others are joined besides it", () => {
  const result = parseConsoleArgs(["--room", "a,b,c"], {});
  assert.ok(result.ok);
  assert.equal(result.options.room, "a");
  assert.deepEqual(result.options.extraRooms, ["b", "c"]);
  const one = parseConsoleArgs(["--room=solo"], {});
  assert.ok(one.ok && !("extraRooms" in one.options), "one room: no extra rooms at all");
  const cases: [string, RegExp][] = [
    ["a,,b", /^--room: room must be .*""$/],
    ["a,", /^--room: room must be .*""$/],
    ["a,B c", /^--room: room must be .*"B c"$/],
    ["a,b,a", /^--room: room "a" is listed twice$/],
  ];
  for (const [value, expected] of cases) {
    const bad = parseConsoleArgs(["--room", value], {});
    assert.equal(bad.ok, false, value);
    assert.match(!bad.ok ? bad.error : "", expected);
  }
  for (const command of ["/join <room>", "/leave <room>", "/rooms", "/to <room> <text>"]) {
    assert.ok(USAGE.includes(command), `usage mentions ${command}`);
  }
});
