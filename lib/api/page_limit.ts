/**
 * The `limit` of an API list (history, presence, rooms): a whole number from 1 to the maximum
 * (`API_MAX_PAGE`), 100 when absent.
 *
 * @module
 */

/** A list's length when the request names none. */
export const DEFAULT_PAGE = 100;

/**
 * Reads `limit` from a query; the number, or the sentence of the 400.
 *
 * @example
 * ```ts
 * pageLimit(new URLSearchParams("limit=20"), 1000); // 20
 * pageLimit(new URLSearchParams("limit=0"), 1000); // "limit must be a whole number from 1 to 1000, got \"0\""
 * ```
 */
export function pageLimit(query: URLSearchParams, max: number): number | string {
  const raw = query.get("limit");
  if (raw === null) return Math.min(DEFAULT_PAGE, max);
  const n = Number(raw);
  if (!/^\d{1,9}$/.test(raw) || n < 1 || n > max) {
    return `limit must be a whole number from 1 to ${max}, got ${JSON.stringify(raw.slice(0, 20))}`;
  }
  return n;
}
