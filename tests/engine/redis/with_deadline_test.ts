import assert from "node:assert/strict";
import { RedisTimeoutError, withDeadline } from "../../../lib/engine/redis/with_deadline.ts";

/** Timers that fire only when the test says so. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 1;
  return {
    timers: {
      setTimer: (fn: () => void) => {
        pending.set(next, fn);
        return next++;
      },
      clearTimer: (handle: unknown) => void pending.delete(handle as number),
    },
    fire() {
      const due = [...pending.values()];
      pending.clear();
      for (const fn of due) fn();
    },
    get size() {
      return pending.size;
    },
  };
}

Deno.test("withDeadline: a reply in time settles it and clears the timer", async () => {
  const t = manualTimers();
  const misses: Error[] = [];
  assert.equal(
    await withDeadline(Promise.resolve("PONG"), 500, "PING", t.timers, (e) => misses.push(e)),
    "PONG",
  );
  await assert.rejects(
    withDeadline(
      Promise.reject(new Error("offline")),
      500,
      "PING",
      t.timers,
      (e) => misses.push(e),
    ),
    /offline/,
  );
  assert.equal(t.size, 0);
  assert.deepEqual(misses, []);
});

Deno.test("withDeadline: no reply rejects with the command and the limit, and reports the miss once", async () => {
  const t = manualTimers();
  const misses: Error[] = [];
  const { promise: never, resolve } = Promise.withResolvers<string>();
  const waiting = withDeadline(never, 500, "EVALSHA", t.timers, (e) => misses.push(e));
  t.fire();
  await assert.rejects(waiting, (err) => {
    assert.ok(err instanceof RedisTimeoutError);
    assert.equal(err.message, "Redis gave no reply to EVALSHA within 500 ms");
    return true;
  });
  resolve("late"); // a late reply changes nothing
  await Promise.resolve();
  assert.equal(misses.length, 1);
});
