import assert from "node:assert/strict";
import { loadConfigOrExit, printUrls } from "../lib/deno_server.ts";

Deno.test("loadConfigOrExit: a bad variable gives one line naming it and exit 1", () => {
  const printed: string[] = [];
  const exit = (code: number): never => {
    throw new Error(`exit ${code}`);
  };
  assert.throws(() => loadConfigOrExit({ PORT: "abc" }, exit, (l) => printed.push(l)), /exit 1/);
  assert.deepEqual(printed, [
    'fanout: cannot start: PORT must be an integer from 0 to 65535, got "abc"',
  ]);
  assert.equal(loadConfigOrExit({ PORT: "9000" }, exit).port, 9000);
});

Deno.test("printUrls: a sentence for people, one server.listening event in json", () => {
  const lines: string[] = [];
  const url = new URL("http://localhost:8000/");
  printUrls(url, "pretty", (l) => lines.push(l));
  printUrls(new URL("https://chat.example/"), "json", (l) => lines.push(l), () => 0);
  assert.equal(
    lines[0],
    "Fanout listening on http://localhost:8000/  (WebSocket: ws://localhost:8000/ws)",
  );
  assert.deepEqual(JSON.parse(lines[1]), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    event: "server.listening",
    http: "https://chat.example/",
    ws: "wss://chat.example/ws",
  });
});
