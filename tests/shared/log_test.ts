import assert from "node:assert/strict";
import { createLogger } from "../../lib/shared/log.ts";

Deno.test("logger: json lines carry time, level, event and fields", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "json", write: (line) => lines.push(line), now: () => 0 });
  log.info("ws.open", { id: "c1", room: "lobby", count: 2 });
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    event: "ws.open",
    id: "c1",
    room: "lobby",
    count: 2,
  });
});

Deno.test("logger: pretty lines quote values that need it and drop undefined fields", () => {
  const lines: string[] = [];
  const log = createLogger({ write: (line) => lines.push(line), now: () => 0 });
  log.warn("publish.failed", { room: "r1", error: "Error: down now", ref: undefined });
  assert.equal(
    lines[0],
    '1970-01-01T00:00:00.000Z WARN  publish.failed room=r1 error="Error: down now"',
  );
});

Deno.test("logger: events below LOG_LEVEL are dropped; warn and error go to the error stream", () => {
  const seen: [string, string][] = [];
  const log = createLogger({ level: "warn", write: (line, level) => seen.push([level, line]) });
  log.debug("a");
  log.info("b");
  log.warn("c");
  log.error("d");
  assert.deepEqual(seen.map(([level]) => level), ["warn", "error"]);
});
