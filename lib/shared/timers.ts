/**
 * The one timer shape every part takes (client core, hub, transport, Redis link, logs), so tests
 * inject manual timers instead of patching globals.
 *
 * @module
 */

/** Schedules and cancels a callback. */
export interface Timers {
  /** Runs `fn` once after `ms`; returns a handle for {@linkcode Timers.clearTimer}. */
  setTimer(fn: () => void, ms: number): unknown;
  /** Cancels a timer (a handle already run or cleared is ignored). */
  clearTimer(handle: unknown): void;
}

/**
 * The runtime's `setTimeout` and `clearTimeout`.
 *
 * @example
 * ```ts
 * const handle = realTimers.setTimer(() => console.log("later"), 100);
 * realTimers.clearTimer(handle);
 * ```
 */
export const realTimers: Timers = {
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as number),
};

/**
 * Settles when `work` settles or `ms` have passed, whichever is first, and never rejects: the
 * bound of every graceful shutdown.
 *
 * @example
 * ```ts
 * await settleWithin(hub.drain(), config.shutdownGraceMs);
 * ```
 */
export async function settleWithin(
  work: Promise<unknown>,
  ms: number,
  timers: Timers = realTimers,
): Promise<void> {
  let handle: unknown;
  const expired = new Promise<void>((resolve) => handle = timers.setTimer(resolve, ms));
  await Promise.race([work.then(() => {}, () => {}), expired]);
  timers.clearTimer(handle);
}
