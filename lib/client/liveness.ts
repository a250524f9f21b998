/**
 * Dead-connection detection of the client core: an app-level ping every `intervalMs`, and a
 * deadline of `timeoutMs` by which some frame (the pong or anything else) must arrive.
 *
 * @module
 */
import type { Timers } from "../shared/timers.ts";

/** Settings of {@linkcode Liveness}, in milliseconds. */
export interface LivenessOptions {
  /** Time between pings while online (default 20 000). */
  intervalMs: number;
  /** Time a ping may go unanswered before the connection counts as dead (default 10 000). */
  timeoutMs: number;
}

/** Defaults of {@linkcode LivenessOptions}. */
export const DEFAULT_PING: LivenessOptions = { intervalMs: 20_000, timeoutMs: 10_000 };

/**
 * Pings on a timer and calls `onDead` when nothing arrives within the deadline.
 *
 * @example
 * ```ts
 * const live = new Liveness(DEFAULT_PING, timers, () => ws.send(ping()), () => ws.close(4000));
 * live.start(); // on welcome
 * live.heard(); // on every frame
 * live.stop(); // on close
 * ```
 */
export class Liveness {
  #options: LivenessOptions;
  #timers: Timers;
  #ping: () => void;
  #dead: () => void;
  #interval: unknown = null;
  #deadline: unknown = null;
  #running = false;

  constructor(options: LivenessOptions, timers: Timers, ping: () => void, dead: () => void) {
    this.#options = options;
    this.#timers = timers;
    this.#ping = ping;
    this.#dead = dead;
  }

  /** Starts the ping schedule (the connection is up). */
  start(): void {
    this.stop();
    this.#running = true;
    this.#schedule();
  }

  /** Stops every timer. */
  stop(): void {
    this.#running = false;
    if (this.#interval !== null) this.#timers.clearTimer(this.#interval);
    if (this.#deadline !== null) this.#timers.clearTimer(this.#deadline);
    this.#interval = null;
    this.#deadline = null;
  }

  /** A frame arrived: the connection is alive, the pending deadline is met. */
  heard(): void {
    if (this.#deadline === null) return;
    this.#timers.clearTimer(this.#deadline);
    this.#deadline = null;
  }

  /** Pings now (e.g. the tab woke up) unless a ping is already waiting for its answer. */
  checkNow(): void {
    if (!this.#running || this.#deadline !== null) return;
    this.#pingNow();
  }

  #schedule(): void {
    this.#interval = this.#timers.setTimer(() => {
      this.#interval = null;
      if (!this.#running) return;
      if (this.#deadline === null) this.#pingNow();
      if (this.#running) this.#schedule();
    }, this.#options.intervalMs);
  }

  #pingNow(): void {
    this.#deadline = this.#timers.setTimer(() => {
      this.#deadline = null;
      if (!this.#running) return;
      this.stop();
      this.#dead();
    }, this.#options.timeoutMs);
    this.#ping();
  }
}
