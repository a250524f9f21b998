import assert from "node:assert/strict";
import { takeFrame } from "../../lib/hub/inbound.ts";
import { RateLimiter } from "../../lib/hub/rate_limiter.ts";

const limits = { maxMessageBytes: 100, rateLimit: 1, maxDataDepth: 32 };
const conn = (burst = 5, json = true) => ({
  json,
  limiter: new RateLimiter({ rate: 1, burst, closeAfter: 2, now: () => 0 }),
});

Deno.test("takeFrame: messages, pings and parse errors (with their ref)", () => {
  const c = conn();
  assert.deepEqual(takeFrame(c, '{"type":"message","text":"hi","ref":"r"}', limits), {
    kind: "message",
    body: { text: "hi" },
    ref: "r",
    room: null,
  });
  assert.deepEqual(takeFrame(c, '{"type":"ping","t":3}', limits), { kind: "ping", t: 3 });
  const bad = takeFrame(c, '{"type":"message","text":" ","ref":"r2"}', limits);
  assert.equal(bad.kind === "reject" && bad.code, "empty_message");
  assert.equal(bad.kind === "reject" && bad.ref, "r2");
  assert.deepEqual(takeFrame(conn(5, false), "plain text", limits), {
    kind: "message",
    body: { text: "plain text" },
    ref: null,
    room: null,
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

Deno.test("takeFrame: exactly 4x the limit is too_large (the connection stays); one byte more closes 1009", () => {
  const kinds = (data: string | ArrayBuffer) => {
    const r = takeFrame(conn(), data, limits);
    return r.kind === "reject" ? r.code : r.kind === "close" ? r.code : r.kind;
  };
  assert.equal(kinds("x".repeat(400)), "too_large");
  assert.equal(kinds("x".repeat(401)), 1009);
  assert.equal(kinds(new ArrayBuffer(400)), "unsupported_binary");
  assert.equal(kinds(new ArrayBuffer(401)), 1009);
  // Bytes, not characters: 200 × "é" is 400 bytes, one more "x" makes 401.
  assert.equal(kinds("é".repeat(200)), "too_large");
  assert.equal(kinds("é".repeat(200) + "x"), 1009);
  assert.equal(kinds("€".repeat(134)), 1009, "134 × 3 bytes = 402");
});
