import assert from "node:assert/strict";
import { takeFrame } from "../lib/frame_intake.ts";
import { RateLimiter } from "../lib/rate_limiter.ts";

const limits = { maxMessageBytes: 100, rateLimit: 1 };
const conn = (burst = 5, json = true) => ({
  json,
  limiter: new RateLimiter({ rate: 1, burst, closeAfter: 2, now: () => 0 }),
});

Deno.test("takeFrame: messages, pings and parse errors (with their ref)", () => {
  const c = conn();
  assert.deepEqual(takeFrame(c, '{"type":"message","text":"hi","ref":"r"}', limits), {
    kind: "message",
    text: "hi",
    ref: "r",
  });
  assert.deepEqual(takeFrame(c, '{"type":"ping","t":3}', limits), { kind: "ping", t: 3 });
  const bad = takeFrame(c, '{"type":"message","text":" ","ref":"r2"}', limits);
  assert.equal(bad.kind === "reject" && bad.code, "empty_message");
  assert.equal(bad.kind === "reject" && bad.ref, "r2");
  assert.deepEqual(takeFrame(conn(5, false), "plain text", limits), {
    kind: "message",
    text: "plain text",
    ref: null,
  });
});

Deno.test("takeFrame: far over the size limit closes 1009 without spending a token", () => {
  const c = conn(1);
  assert.deepEqual(takeFrame(c, "x".repeat(401), limits), {
    kind: "close",
    code: 1009,
    reason: "too_large",
    sentence: "frame far over the size limit",
  });
  assert.equal(takeFrame(c, new ArrayBuffer(401), limits).kind, "close");
  assert.equal(
    takeFrame(c, '{"type":"ping"}', limits).kind,
    "ping",
    "the one token is still there",
  );
});

Deno.test("takeFrame: refused frames spend tokens; rate_limited keeps the ref; abuse closes 1008", () => {
  const c = conn(2);
  assert.equal(takeFrame(c, new ArrayBuffer(3), limits).kind, "reject");
  assert.equal(takeFrame(c, "x".repeat(101), limits).kind, "reject");
  const limited = takeFrame(c, '{"type":"message","text":"x","ref":"late"}', limits);
  assert.deepEqual(limited, {
    kind: "reject",
    code: "rate_limited",
    message: "too many frames: at most 1 per second",
    ref: "late",
  });
  const closed = takeFrame(c, '{"type":"ping"}', limits);
  assert.equal(closed.kind === "close" && closed.code, 1008);
});
