/**
 * The rate limit of one connection: its own token bucket, optionally a bucket shared with every
 * connection of the same client address, and an abuse counter.
 *
 * @module
 */

import { TokenBucket } from "../shared/token_bucket.ts";

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added per second. */
  rate: number;
  /** Bucket capacity: frames allowed at once. */
  burst: number;
  /** Rejections within `abuseWindowMs` after which {@linkcode RateLimiter.abusive} turns true. */
  closeAfter: number;
  /** Window of the abuse counter in ms (default 10 000). */
  abuseWindowMs?: number;
  /** Clock in ms (default `performance.now`). */
  now?: () => number;
  /** A bucket every connection of the same address draws from too (default: none). */
  shared?: TokenBucket;
}

/**
 * Decides frame by frame whether a connection is within its rate.
 *
 * @example
 * ```ts
 * let t = 0;
 * const limiter = new RateLimiter({ rate: 1, burst: 2, closeAfter: 5, now: () => t });
 * limiter.take(); // true
 * limiter.take(); // true
 * limiter.take(); // false: the burst is spent
 * t += 1000;
 * limiter.take(); // true: one token came back
 * ```
 */
export class RateLimiter {
  #own: TokenBucket;
  #shared: TokenBucket | null;
  #closeAfter: number;
  #window: number;
  #now: () => number;
  #rejected = 0;
  #windowStart: number;

  constructor(options: RateLimiterOptions) {
    const now = this.#now = options.now ?? (() => performance.now());
    const start = now();
    this.#own = new TokenBucket(options.rate, options.burst, now, start);
    this.#shared = options.shared ?? null;
    this.#closeAfter = options.closeAfter;
    this.#window = options.abuseWindowMs ?? 10_000;
    this.#windowStart = start;
  }

  /**
   * Takes a token from the connection's bucket and then from the shared one; returns false (and
   * counts a rejection) when either is empty.
   */
  take(): boolean {
    const now = this.#now();
    if (this.#own.take(now) && (this.#shared === null || this.#shared.take(now))) return true;
    if (now - this.#windowStart > this.#window) {
      this.#windowStart = now;
      this.#rejected = 0;
    }
    this.#rejected++;
    return false;
  }

  /** True once the connection has been rejected `closeAfter` times within one window. */
  get abusive(): boolean {
    return this.#rejected >= this.#closeAfter;
  }
}
