/**
 * Client-side pacing over a token bucket (`lib/shared/token_bucket.ts`) that keeps the outbox below the server's rate limit, so a long
 * queue flushed on reconnect is not rejected with `rate_limited` (or closed with 1008).
 *
 * @module
 */

import { TokenBucket } from "../shared/token_bucket.ts";

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
  #bucket: TokenBucket;

  constructor(limits: PacerLimits, now: () => number) {
    this.#bucket = new TokenBucket(
      Math.max(limits.rateLimit, 0.001) * 0.9,
      Math.max(1, limits.rateBurst - 2),
      now,
    );
  }

  /** Takes a token and returns 0, or returns the ms until one is available (taking nothing). */
  take(): number {
    return this.#bucket.take() ? 0 : Math.max(1, this.#bucket.waitMs());
  }

  /** Empties the bucket (after the server said `rate_limited`). */
  drain(): void {
    this.#bucket.drain();
  }
}
