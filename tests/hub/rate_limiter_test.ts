import assert from "node:assert/strict";
import { RateLimiter } from "../../lib/hub/rate_limiter.ts";
import { TokenBucket } from "../../lib/shared/token_bucket.ts";

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

Deno.test("RateLimiter reads its clock once per frame, for its own bucket and the shared one", () => {
  let t = 0;
  let reads = 0;
  const now = () => (reads++, t);
  const shared = new TokenBucket(1000, 1000, now);
  const limiter = new RateLimiter({ rate: 10, burst: 2, closeAfter: 100, now, shared });
  reads = 0;
  assert.equal(limiter.take(), true);
  assert.equal(reads, 1, "one reading for both buckets");
  assert.equal(limiter.take(), true);
  assert.equal(limiter.take(), false, "the own bucket is spent");
  assert.equal(reads, 3, "a rejection counts against the window with the same reading");
  t += 100;
  assert.equal(limiter.take(), true, "the reading refills the own bucket");
});

Deno.test("TokenBucket.take(now) refills from the reading it is given, not from its clock", () => {
  let t = 0;
  const bucket = new TokenBucket(10, 1, () => t, 0);
  assert.equal(bucket.take(0), true);
  assert.equal(bucket.take(50), false, "half a token at 50 ms");
  assert.equal(bucket.take(100), true, "a whole token at 100 ms, whatever the clock says");
  t = 250;
  assert.equal(bucket.take(), true, "without a reading it reads its clock");
  assert.equal(bucket.waitMs(), 100, "never more than the burst held");
});
