/**
 * Our own deadline for Redis commands. npm:redis' `timeout` option only covers commands not yet
 * written to the socket: a command written to a Redis that hangs (stopped, partitioned) waits
 * forever. Every engine command goes through {@linkcode withDeadline} instead.
 *
 * @module
 */
import type { Timers } from "../../shared/timers.ts";

/** A Redis command got no reply in time. */
export class RedisTimeoutError extends Error {
  override name = "RedisTimeoutError";
}

/**
 * Settles like `work`, or rejects with {@linkcode RedisTimeoutError} after `ms` and calls
 * `onMiss` once (the caller then treats the connection as broken).
 *
 * @example
 * ```ts
 * const reply = await withDeadline(client.sendCommand(["PING"]), 2000, "PING", realTimers, () => {});
 * ```
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  timers: Timers,
  onMiss: (err: RedisTimeoutError) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const handle = timers.setTimer(() => {
      if (settled) return;
      settled = true;
      const err = new RedisTimeoutError(`Redis gave no reply to ${what} within ${ms} ms`);
      reject(err);
      onMiss(err);
    }, ms);
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        timers.clearTimer(handle);
        resolve(value);
      },
      (err) => {
        if (settled) return;
        settled = true;
        timers.clearTimer(handle);
        reject(err);
      },
    );
  });
}
