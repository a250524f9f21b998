/**
 * Bounded waits of the console client, on injectable timers: until every piped line is settled
 * (bounded by the time without progress), or until the outbox is empty when quitting (bounded by
 * a total time).
 *
 * @module
 */

import type { Timers } from "../shared/timers.ts";

/** How a wait ended. */
export type WaitOutcome = "done" | "timeout";

/**
 * One wait at a time for a condition that events make true. Call {@linkcode changed} after any
 * event that may fulfil the condition and {@linkcode progressed} after real progress (an ack or a
 * final error), which in an `idle` wait also restarts the clock.
 *
 * @example
 * ```ts
 * const wait = new ProgressWait(timers);
 * client.on("ack", () => wait.progressed());
 * const outcome = await wait.until(() => pending() === 0, 10_000, "idle"); // "done" | "timeout"
 * ```
 */
export class ProgressWait {
  #timers: Timers;
  #timer: unknown = null;
  #listener: ((progress: boolean) => void) | null = null;

  constructor(timers: Timers) {
    this.#timers = timers;
  }

  /** Something happened that may fulfil the condition. */
  changed(): void {
    this.#listener?.(false);
  }

  /** Real progress: re-check the condition and, in an `idle` wait, restart the clock. */
  progressed(): void {
    this.#listener?.(true);
  }

  /**
   * Resolves `"done"` once `done()` holds, or `"timeout"` after `ms`: in total (`"total"`), or
   * since the start or the last {@linkcode progressed} (`"idle"`).
   */
  until(done: () => boolean, ms: number, mode: "idle" | "total"): Promise<WaitOutcome> {
    this.stop();
    if (done()) return Promise.resolve("done");
    return new Promise((resolve) => {
      const arm = () => {
        this.#clearTimer();
        this.#timer = this.#timers.setTimer(() => {
          this.#timer = null;
          this.stop();
          resolve("timeout");
        }, ms);
      };
      this.#listener = (progress) => {
        if (done()) {
          this.stop();
          resolve("done");
        } else if (progress && mode === "idle") arm();
      };
      arm();
    });
  }

  /** Abandons the current wait (its promise stays pending) and clears its timer. */
  stop(): void {
    this.#listener = null;
    this.#clearTimer();
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#timers.clearTimer(this.#timer);
    this.#timer = null;
  }
}
