/**
 * Token-bucket rate limiter with an abuse counter, one per connection.
 *
 * @module
 */

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
  #rate: number;
  #burst: number;
  #closeAfter: number;
  #window: number;
  #now: () => number;
  #tokens: number;
  #last: number;
  #rejected = 0;
  #windowStart: number;

  constructor(options: RateLimiterOptions) {
    this.#rate = options.rate / 1000;
    this.#burst = options.burst;
    this.#closeAfter = options.closeAfter;
    this.#window = options.abuseWindowMs ?? 10_000;
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = options.burst;
    this.#last = this.#now();
    this.#windowStart = this.#last;
  }

  /** Takes one token; returns false (and counts a rejection) when the bucket is empty. */
  take(): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#rate);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
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
