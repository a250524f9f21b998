/**
 * Manual timers and a clock for unit tests: callbacks run in time order when
 * {@linkcode ManualTimers.advance} passes their due time. It is the `Timers` shape every part of
 * Fanout takes (`lib/shared/timers.ts`), with `now` for its clock.
 *
 * @module
 */

import type { Timers } from "../../lib/shared/timers.ts";

/**
 * A clock and the timers that run on it.
 *
 * @example
 * ```ts
 * const timers = new ManualTimers();
 * timers.setTimer(() => console.log("later"), 100);
 * timers.advance(100); // logs "later"
 * ```
 */
export class ManualTimers implements Timers {
  time = 0;
  #next = 1;
  #timers = new Map<number, { at: number; ms: number; fn: () => void }>();

  now = (): number => this.time;
  setTimer = (fn: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.time + Math.max(0, ms), ms, fn });
    return id;
  };
  clearTimer = (id: unknown): void => {
    this.#timers.delete(id as number);
  };

  /** Timers not run or cleared yet. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Delays (in ms, as asked) of the timers pending now. */
  delays(): number[] {
    return [...this.#timers.values()].map((t) => t.ms);
  }

  /** Time left until each pending timer, sorted. */
  remaining(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    while (true) {
      let dueId = -1;
      let due: { at: number; fn: () => void } | undefined;
      for (const [id, timer] of this.#timers) {
        if (timer.at <= end && (!due || timer.at < due.at)) [dueId, due] = [id, timer];
      }
      if (!due) break;
      this.#timers.delete(dueId);
      this.time = due.at;
      due.fn();
    }
    this.time = end;
  }
}
