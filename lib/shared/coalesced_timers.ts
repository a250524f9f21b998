/**
 * Timers that share one runtime timer per delay. The transport sets and clears a deadline or two
 * for every connection (a request's, a write's, a closing handshake's), always with the same few
 * delays, so the timers of one delay fall due in the order they were set: a queue per delay
 * holds them, and one runtime timer waits for the queue's first. Setting and clearing one costs
 * a small object and a queue push, where the runtime's `setTimeout` and `clearTimeout` cost
 * 1.4-2.8 µs a pair (Deno 2.9) and a larger object for the garbage collector.
 *
 * @module
 */

import { Fifo } from "./fifo.ts";
import { realTimers, type Timers } from "./timers.ts";

/** Cleared timers a delay's queue may hold before it drops them (when half of it at least). */
const COMPACT_AFTER = 1024;
/** The longest wait a runtime timer takes as it is (`setTimeout` fires at once past it). */
const MAX_WAIT = 2 ** 31 - 1;

/** Options of {@linkcode CoalescedTimers}. */
export interface CoalescedTimersOptions {
  /** The timers it runs on (default: the runtime's). */
  timers?: Timers;
  /** The clock of the delays, in ms (default `performance.now`). */
  now?: () => number;
  /**
   * Where an error thrown by a callback goes, once the other timers due with it ran (default:
   * thrown again in a microtask, an uncaught error as it would be from `setTimeout`).
   */
  onError?: (err: unknown) => void;
}

/** The timers of one delay, in the order they were set (and so fall due). */
interface Lane {
  owner: CoalescedTimers;
  ms: number;
  queue: Fifo<Deadline>;
  /** Timers set and neither run nor cleared. */
  live: number;
  /** Cleared timers still in the queue. */
  cleared: number;
  /** The runtime timer waiting for the queue's first, or null. */
  timer: unknown;
}

/** One timer: the handle `setTimer` returns. */
class Deadline {
  constructor(public due: number, public fn: (() => void) | null, public lane: Lane) {}
}

/**
 * A {@linkcode Timers} whose timers of one delay share a runtime timer. Each delay's queue holds
 * its pending timers and the cleared ones not yet dropped (dropped from its front as they fall
 * due, all at once when none is pending, and by a pass over the queue when more than half of it
 * and at least 1024 are cleared); a delay with no pending timer holds nothing.
 *
 * @example
 * ```ts
 * const timers = new CoalescedTimers();
 * const handle = timers.setTimer(() => console.log("request timed out"), 10_000);
 * timers.clearTimer(handle); // the runtime timer of 10 000 ms is cleared with its last timer
 * ```
 */
export class CoalescedTimers implements Timers {
  #timers: Timers;
  #now: () => number;
  #onError: (err: unknown) => void;
  #lanes = new Map<number, Lane>();

  constructor(options: CoalescedTimersOptions = {}) {
    this.#timers = options.timers ?? realTimers;
    this.#now = options.now ?? (() => performance.now());
    this.#onError = options.onError ?? ((err) =>
      queueMicrotask(() => {
        throw err;
      }));
  }

  /** Timers held, pending or cleared and not dropped yet, over every delay (for tests). */
  get held(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.queue.length;
    return n;
  }

  /**
   * Runs `fn` once after `ms` (0 when negative or not a number; a delay past 2^31 - 1 ms is waited
   * out in several runtime timers, where `setTimeout` would fire at once). A bound function.
   */
  setTimer = (fn: () => void, ms: number): unknown => {
    const delay = ms > 0 ? ms : 0;
    let lane = this.#lanes.get(delay);
    if (lane === undefined) {
      lane = { owner: this, ms: delay, queue: new Fifo(), live: 0, cleared: 0, timer: null };
      this.#lanes.set(delay, lane);
    }
    const deadline = new Deadline(this.#now() + delay, fn, lane);
    lane.queue.push(deadline);
    lane.live++;
    if (lane.timer === null) this.#arm(lane);
    return deadline;
  };

  /** Cancels a timer of this object (a handle already run or cleared is ignored). Bound. */
  clearTimer = (handle: unknown): void => {
    if (!(handle instanceof Deadline) || handle.fn === null || handle.lane.owner !== this) return;
    handle.fn = null;
    const lane = handle.lane;
    if (--lane.live === 0) return this.#empty(lane);
    if (++lane.cleared >= COMPACT_AFTER && lane.cleared * 2 >= lane.queue.length) {
      lane.queue.retain((d) => d.fn !== null);
      lane.cleared = 0;
    }
  };

  /** Arms the lane's runtime timer for its first timer (a cleared one only wakes it early). */
  #arm(lane: Lane): void {
    const first = lane.queue.peek()!;
    const wait = Math.min(MAX_WAIT, Math.max(0, first.due - this.#now()));
    lane.timer = this.#timers.setTimer(() => this.#fire(lane), wait);
  }

  /** The lane has no pending timer: it lets go of its queue and its runtime timer. */
  #empty(lane: Lane): void {
    if (lane.timer !== null) this.#timers.clearTimer(lane.timer);
    lane.timer = null;
    lane.queue.clear();
    lane.cleared = 0;
    if (this.#lanes.get(lane.ms) === lane) this.#lanes.delete(lane.ms);
  }

  /**
   * Runs the lane's timers that fell due, in order, then waits for the next one. Only the timers
   * queued when it started: one set by a callback waits for the next turn, even with a 0 delay.
   */
  #fire(lane: Lane): void {
    lane.timer = null;
    const now = this.#now();
    let left = lane.queue.length;
    try {
      let first: Deadline | undefined;
      while (left-- > 0 && (first = lane.queue.peek()) !== undefined) {
        if (first.fn === null) {
          lane.queue.shift();
          lane.cleared--;
          continue;
        }
        if (first.due > now) break;
        lane.queue.shift();
        const fn = first.fn;
        first.fn = null;
        lane.live--;
        try {
          fn();
        } catch (err) {
          this.#onError(err);
        }
      }
    } finally {
      // Even when `onError` threw: the lane empties or waits for its next timer.
      if (lane.live === 0) this.#empty(lane);
      else if (lane.timer === null) this.#arm(lane);
    }
  }
}
