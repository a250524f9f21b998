import assert from "node:assert/strict";
import { RateLimiter } from "../../lib/hub/rate_limiter.ts";

Deno.test("RateLimiter allows a burst, then the sustained rate", () => {
  let t = 0;
  const limiter = new RateLimiter({ rate: 10, burst: 3, closeAfter: 100, now: () => t });
  assert.deepEqual([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [
    true,
    true,
    true,
    false,
  ]);
  t += 100; // one token at 10/s
  assert.equal(limiter.take(), true);
  assert.equal(limiter.take(), false);
  t += 10_000; // refills, but never above the burst
  assert.deepEqual([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [
    true,
    true,
    true,
    false,
  ]);
});

Deno.test("RateLimiter turns abusive after closeAfter rejections within the window", () => {
  const t = 0;
  const limiter = new RateLimiter({
    rate: 1,
    burst: 1,
    closeAfter: 3,
    abuseWindowMs: 1000,
    now: () => t,
  });
  limiter.take();
  limiter.take();
  limiter.take();
  assert.equal(limiter.abusive, false, "two rejections are not abuse");
  limiter.take();
  assert.equal(limiter.abusive, true);
});

Deno.test("RateLimiter forgets old rejections after the window", () => {
  let t = 0;
  const limiter = new RateLimiter({
    rate: 0.001,
    burst: 1,
    closeAfter: 3,
    abuseWindowMs: 1000,
    now: () => t,
  });
  limiter.take();
  limiter.take();
  limiter.take(); // 2 rejections
  t += 1500;
  limiter.take(); // window restarts: 1 rejection
  limiter.take(); // 2
  assert.equal(limiter.abusive, false);
});
