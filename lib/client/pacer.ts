/**
 * Client-side token bucket that keeps the outbox below the server's rate limit, so a long
 * queue flushed on reconnect is not rejected with `rate_limited` (or closed with 1008).
 *
 * @module
 */

/** Frames per second and burst the server announced in `welcome.limits`. */
export interface PacerLimits {
  rateLimit: number;
  rateBurst: number;
}

/**
 * Token bucket a little stricter than the server's: it keeps two frames of the burst free for
 * pings and refills at 90 % of the rate, to absorb clock differences.
 *
 * @example
 * ```ts
 * let t = 0;
 * const pacer = new Pacer({ rateLimit: 10, rateBurst: 3 }, () => t);
 * pacer.take(); // 0: sent now
 * pacer.take(); // > 0: ms to wait for the next token
 * ```
 */
export class Pacer {
  #perMs: number;
  #burst: number;
  #now: () => number;
  #tokens: number;
  #last: number;

  constructor(limits: PacerLimits, now: () => number) {
    this.#perMs = Math.max(limits.rateLimit, 0.001) * 0.9 / 1000;
    this.#burst = Math.max(1, limits.rateBurst - 2);
    this.#now = now;
    this.#tokens = this.#burst;
    this.#last = now();
  }

  /** Takes a token and returns 0, or returns the ms until one is available (taking nothing). */
  take(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#perMs));
  }

  /** Empties the bucket (after the server said `rate_limited`). */
  drain(): void {
    this.#tokens = 0;
    this.#last = this.#now();
  }
}
