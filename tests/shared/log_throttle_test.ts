import assert from "node:assert/strict";
import { ManualTimers } from "../helpers/manual_timers.ts";
import { createLogger, type LogFormat, type LogLevel } from "../../lib/shared/log.ts";
import { createLogThrottle, type LogThrottleOptions } from "../../lib/shared/log_throttle.ts";

function setup(options: LogThrottleOptions = {}, format: LogFormat = "json") {
  const time = new ManualTimers();
  const lines: { level: LogLevel; line: string }[] = [];
  const inner = createLogger({
    level: "debug",
    format,
    now: time.now,
    write: (line, level) => lines.push({ level, line }),
  });
  const log = createLogThrottle(inner, {
    linesPerEvent: 3,
    timers: time,
    now: time.now,
    ...options,
  });
  const events = () => lines.map(({ line }) => JSON.parse(line));
  return { time, lines, log, events };
}

Deno.test("log throttle: exactly N lines of an event pass, the N+1th is suppressed and summed up once the window ends", () => {
  const { time, log, events } = setup();
  for (let i = 0; i < 3; i++) log.info("ws.refused", { status: 503, reason: "handshake_full" });
  assert.equal(events().length, 3, "N lines are written");
  assert.equal(time.pending, 0, "no timer while nothing is suppressed");
  log.info("ws.refused", { status: 503, reason: "handshake_full" });
  assert.equal(events().length, 3, "the N+1th is not written");
  time.advance(9_999);
  assert.equal(events().length, 3, "no summary before the window ends");
  time.advance(1);
  assert.deepEqual(events().slice(3), [{
    time: "1970-01-01T00:00:10.000Z",
    level: "info",
    event: "ws.refused.suppressed",
    count: 1,
    windowSeconds: 10,
    reasons: "handshake_full=1",
  }]);
  assert.equal(time.pending, 0);
  // A new window: N lines pass again.
  for (let i = 0; i < 4; i++) log.info("ws.refused", { reason: "handshake_origin" });
  assert.equal(events().filter((e) => e.event === "ws.refused").length, 6);
});

Deno.test("log throttle: suppressed lines are grouped by reason, else code, else other; most frequent first", () => {
  const { time, log, events } = setup({ linesPerEvent: 1 });
  log.warn("ws.refused", { reason: "handshake_full" });
  for (let i = 0; i < 5; i++) log.info("ws.refused", { reason: "handshake_full" });
  for (let i = 0; i < 7; i++) log.info("ws.refused", { reason: "handshake_origin", code: 9 });
  log.info("ws.refused", { code: 1008 });
  log.warn("ws.refused", {});
  log.info("ws.refused");
  time.advance(10_000);
  const [summary] = events().filter((e) => e.event === "ws.refused.suppressed");
  assert.equal(summary.count, 15);
  assert.equal(summary.reasons, "handshake_origin=7,handshake_full=5,other=2,1008=1");
  assert.equal(summary.level, "warn", "the summary takes the most severe suppressed level");
  const total = summary.reasons.split(",").reduce(
    (sum: number, pair: string) => sum + Number(pair.split("=")[1]),
    0,
  );
  assert.equal(total, summary.count, "the reasons add up to the count");
});

Deno.test("log throttle: pretty lines carry the summary as plain fields", () => {
  const { time, log, lines } = setup({ linesPerEvent: 1 }, "pretty");
  log.info("ws.refused", { status: 403, reason: "handshake_origin" });
  log.info("ws.refused", { status: 403, reason: "handshake_origin" });
  log.info("ws.refused", { status: 503, reason: "handshake_full" });
  time.advance(10_000);
  assert.equal(lines.length, 2);
  assert.equal(
    lines[1].line,
    '1970-01-01T00:00:10.000Z INFO  ws.refused.suppressed count=2 windowSeconds=10 reasons="handshake_full=1,handshake_origin=1"',
  );
});

Deno.test("log throttle: events are counted separately; server.* always passes; 0 turns it off", () => {
  const { time, log, events } = setup({ linesPerEvent: 2 });
  for (let i = 0; i < 5; i++) {
    log.info("ws.refused", { reason: "a" });
    log.warn("ws.send_failed", { error: "x" });
    log.info("server.stopping", { signal: "SIGTERM" });
  }
  time.advance(10_000);
  const names = events().map((e) => e.event);
  assert.equal(names.filter((n) => n === "ws.refused").length, 2);
  assert.equal(names.filter((n) => n === "ws.send_failed").length, 2);
  assert.equal(names.filter((n) => n === "server.stopping").length, 5, "never throttled");
  assert.deepEqual(
    events().filter((e) => e.event.endsWith(".suppressed")).map((e) => [e.event, e.count]),
    [["ws.refused.suppressed", 3], ["ws.send_failed.suppressed", 3]],
  );

  const off = setup({ linesPerEvent: 0 });
  for (let i = 0; i < 100; i++) off.log.info("ws.refused", { reason: "a" });
  assert.equal(off.events().length, 100);
  assert.equal(off.time.pending, 0);
});

Deno.test("log throttle: a window without suppressed lines ends silently; the window starts at its first line", () => {
  const { time, log, events } = setup({ linesPerEvent: 2 });
  log.info("ws.refused", { reason: "a" });
  time.advance(6_000);
  log.info("ws.refused", { reason: "a" });
  time.advance(4_000); // the window of the first line is over
  log.info("ws.refused", { reason: "a" });
  log.info("ws.refused", { reason: "a" });
  log.info("ws.refused", { reason: "a" }); // third in the new window, which began at 10 s
  time.advance(9_999);
  assert.equal(events().length, 4);
  time.advance(1);
  assert.equal(events().length, 5);
  assert.equal(events()[4].time, "1970-01-01T00:00:20.000Z");
  assert.equal(events().filter((e) => e.event === "ws.refused.suppressed").length, 1);
});

Deno.test("log throttle: flush writes the pending summaries at once and leaves no timer", () => {
  const { time, log, events } = setup({ linesPerEvent: 1 });
  log.info("ws.refused", { reason: "a" });
  log.info("ws.refused", { reason: "a" });
  log.info("http.error", { path: "/x" });
  log.info("http.error", { path: "/x" });
  assert.equal(time.pending, 2);
  log.flush();
  assert.equal(time.pending, 0);
  assert.deepEqual(events().filter((e) => e.event.endsWith(".suppressed")).map((e) => e.event), [
    "ws.refused.suppressed",
    "http.error.suppressed",
  ]);
  time.advance(20_000);
  assert.equal(events().length, 4, "nothing written twice");
});

Deno.test("log throttle: events below its level are not counted; distinct reasons are capped", () => {
  const { time, log, events } = setup({ linesPerEvent: 1, level: "info", maxReasons: 2 });
  for (let i = 0; i < 10; i++) log.debug("ws.open", { id: `c${i}` });
  assert.equal(events().length, 10, "passed on to the inner logger, which decides");
  assert.equal(time.pending, 0);
  log.info("ws.refused", { reason: "r0" });
  for (let i = 1; i <= 5; i++) log.info("ws.refused", { reason: `r${i}` });
  time.advance(10_000);
  const summary = events().at(-1);
  assert.equal(summary.count, 5);
  assert.equal(summary.reasons, "other=3,r1=1,r2=1");
});
