/**
 * Exponential backoff for reconnecting, with jitter so that many clients do not return together.
 * One function for the client core (full jitter) and the Redis link (up to 20 % added).
 *
 * @module
 */

/** How delays grow, in milliseconds. */
export interface Backoff {
  /** Delay ceiling of the first retry. */
  baseMs: number;
  /** Largest delay ceiling. */
  capMs: number;
  /**
   * `full` (default): a random delay up to the ceiling. A number: the ceiling plus up to that
   * share of it.
   */
  jitter?: "full" | number;
}

/**
 * Delay before retry number `attempt` (0 for the first): the ceiling is `min(cap, base * 2^attempt)`;
 * with full jitter `random() * ceiling`, else `ceiling * (1 + random() * jitter)`. A `punished`
 * retry (after an abuse close) waits at least the cap, plus up to one base of jitter, so that
 * punished clients do not return together.
 *
 * @example
 * ```ts
 * const client = { baseMs: 500, capMs: 15_000 };
 * backoffDelay(0, client, () => 0.5); // 250
 * backoffDelay(3, client, () => 1); // 4000
 * backoffDelay(0, client, () => 0, true); // 15000
 * backoffDelay(1, { baseMs: 50, capMs: 2000, jitter: 0.2 }, () => 1); // 120
 * ```
 */
export function backoffDelay(
  attempt: number,
  backoff: Backoff,
  random: () => number,
  punished = false,
): number {
  const { baseMs, capMs, jitter = "full" } = backoff;
  if (punished) return Math.round(capMs + random() * baseMs);
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(jitter === "full" ? random() * ceiling : ceiling * (1 + random() * jitter));
}
