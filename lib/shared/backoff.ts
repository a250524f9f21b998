/**
 * Reconnect delays of the client core: exponential backoff with full jitter.
 *
 * @module
 */

/** Settings of {@linkcode backoffDelay}, in milliseconds. */
export interface BackoffOptions {
  /** Delay ceiling of the first retry (default 500). */
  baseMs: number;
  /** Largest delay ceiling (default 15 000). */
  capMs: number;
  /** A connection that stayed up this long resets the attempt count (default 10 000). */
  stableMs: number;
}

/** Defaults of {@linkcode BackoffOptions}. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 15_000, stableMs: 10_000 };

/** Close code the server uses for abuse (rate limit exceeded again and again). */
export const CLOSE_POLICY = 1008;

/**
 * Delay before retry number `attempt` (0 for the first retry): full jitter,
 * `random() * min(cap, base * 2^attempt)`. After a close with 1008 (abuse) the client waits at
 * least the cap, plus up to one base of jitter so that punished clients do not return together.
 *
 * @example
 * ```ts
 * const opts = { baseMs: 500, capMs: 15_000, stableMs: 10_000 };
 * backoffDelay(0, opts, () => 0.5); // 250
 * backoffDelay(3, opts, () => 1); // 4000
 * backoffDelay(0, opts, () => 0, 1008); // 15000
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number,
  closeCode: number | null = null,
): number {
  const { baseMs, capMs } = options;
  if (closeCode === CLOSE_POLICY) return Math.round(capMs + random() * baseMs);
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}
