/**
 * Linear-time parsing of the comma-separated request headers Fanout reads (`If-None-Match`,
 * `Accept-Encoding`, `Sec-WebSocket-Protocol`). No regular expression touches these values: the
 * split on `\s*,\s*` used before backtracked quadratically on a long run of spaces (65 000 of
 * them blocked the event loop for about 5 s). Values longer than a cap are not parsed at all.
 *
 * @module
 */

/** `If-None-Match` values longer than this many characters are ignored (treated as absent). */
export const MAX_IF_NONE_MATCH_CHARS = 8 * 1024;
/** `Accept-Encoding` values longer than this many characters are ignored (treated as absent). */
export const MAX_ACCEPT_ENCODING_CHARS = 1024;
/** `Sec-WebSocket-Protocol` values longer than this many characters are refused with a 400. */
export const MAX_PROTOCOL_HEADER_CHARS = 16 * 1024;

/**
 * Counts the characters a scan visited, so tests can check the work is linear.
 *
 * @example
 * ```ts
 * const stats: ScanStats = { steps: 0 };
 * etagListMatches('"a", "b"', '"b"', stats); // stats.steps <= 2 * 8 + 2
 * ```
 */
export interface ScanStats {
  steps: number;
}

const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;

const blank = (code: number) => code === SPACE || code === TAB;

/**
 * Calls `visit` with every member of a comma-separated header value, trimmed of spaces and tabs,
 * empty members skipped, in one pass; stops early when `visit` returns true (and returns true).
 * Each character is visited at most twice.
 *
 * @example
 * ```ts
 * const items: string[] = [];
 * forEachListItem(' "a" , W/"b",,', (item) => void items.push(item)); // false
 * items; // ['"a"', 'W/"b"']
 * ```
 */
export function forEachListItem(
  value: string,
  visit: (item: string) => boolean | void,
  stats?: ScanStats,
): boolean {
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (stats) stats.steps++;
    if (i < value.length && value.charCodeAt(i) !== COMMA) continue;
    let from = start;
    let to = i;
    while (from < to && blank(value.charCodeAt(from))) from++;
    while (to > from && blank(value.charCodeAt(to - 1))) to--;
    if (stats) stats.steps += (from - start) + (i - to);
    start = i + 1;
    if (from < to && visit(value.slice(from, to))) return true;
  }
  return false;
}

/**
 * Whether an `If-None-Match` value matches `etag` (weak comparison: `W/"x"` matches `"x"`; `*`
 * matches anything). A value longer than {@linkcode MAX_IF_NONE_MATCH_CHARS} counts as absent.
 *
 * @example
 * ```ts
 * etagListMatches('"a", W/"b"', '"b"'); // true
 * etagListMatches(null, '"b"'); // false
 * ```
 */
export function etagListMatches(value: string | null, etag: string, stats?: ScanStats): boolean {
  if (value === null || value.length > MAX_IF_NONE_MATCH_CHARS) return false;
  return forEachListItem(
    value,
    (tag) => tag === "*" || (tag.startsWith("W/") ? tag.slice(2) : tag) === etag,
    stats,
  );
}

function zeroQuality(params: string): boolean {
  // params is what follows the coding name, e.g. `;q=0.5`; only `q=0`, `q=0.0`... refuse it.
  for (const param of params.split(";")) {
    const [key, val] = param.split("=").map((s) => s.trim());
    if (key?.toLowerCase() === "q" && val !== undefined) return Number(val) === 0;
  }
  return false;
}

/**
 * Whether an `Accept-Encoding` value accepts gzip (`gzip` or `x-gzip`, not with `q=0`). A value
 * longer than {@linkcode MAX_ACCEPT_ENCODING_CHARS} counts as absent (identity).
 *
 * @example
 * ```ts
 * acceptsGzip("gzip, br"); // true
 * acceptsGzip("gzip;q=0, br"); // false
 * ```
 */
export function acceptsGzip(value: string | null, stats?: ScanStats): boolean {
  if (value === null || value.length > MAX_ACCEPT_ENCODING_CHARS) return false;
  return forEachListItem(value, (item) => {
    const semi = item.indexOf(";");
    const coding = (semi < 0 ? item : item.slice(0, semi)).trim().toLowerCase();
    if (coding !== "gzip" && coding !== "x-gzip") return false;
    return semi < 0 || !zeroQuality(item.slice(semi + 1));
  }, stats);
}

/**
 * The subprotocols a `Sec-WebSocket-Protocol` value offers, or null when the value is longer than
 * {@linkcode MAX_PROTOCOL_HEADER_CHARS} (the handshake answers 400).
 *
 * @example
 * ```ts
 * offeredProtocols("fanout.v1, chat"); // ["fanout.v1", "chat"]
 * offeredProtocols(null); // []
 * ```
 */
export function offeredProtocols(value: string | null, stats?: ScanStats): string[] | null {
  if (value === null) return [];
  if (value.length > MAX_PROTOCOL_HEADER_CHARS) return null;
  const offered: string[] = [];
  forEachListItem(value, (item) => void offered.push(item), stats);
  return offered;
}
