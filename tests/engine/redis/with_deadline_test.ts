import assert from "node:assert/strict";
import { RedisTimeoutError, withDeadline } from "../../../lib/engine/redis/with_deadline.ts";
import { ManualTimers } from "../../helpers/manual_timers.ts";

Deno.test("withDeadline: a reply in time settles it and clears the timer", async () => {
  const timers = new ManualTimers();
  const misses: Error[] = [];
  assert.equal(
    await withDeadline(Promise.resolve("PONG"), 500, "PING", timers, (e) => misses.push(e)),
    "PONG",
  );
  await assert.rejects(
    withDeadline(
      Promise.reject(new Error("offline")),
      500,
      "PING",
      timers,
      (e) => misses.push(e),
    ),
    /offline/,
  );
  assert.equal(timers.pending, 0);
  assert.deepEqual(misses, []);
});

Deno.test("withDeadline: no reply rejects with the command and the limit, and reports the miss once", async () => {
  const timers = new ManualTimers();
  const misses: Error[] = [];
  const { promise: never, resolve } = Promise.withResolvers<string>();
  const waiting = withDeadline(never, 500, "EVALSHA", timers, (e) => misses.push(e));
  timers.advance(500);
  await assert.rejects(waiting, (err) => {
    assert.ok(err instanceof RedisTimeoutError);
    assert.equal(err.message, "Redis gave no reply to EVALSHA within 500 ms");
    return true;
  });
  resolve("late"); // a late reply changes nothing
  await Promise.resolve();
  assert.equal(misses.length, 1);
});
