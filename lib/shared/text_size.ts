/**
 * Cheap UTF-8 size checks for incoming frames.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Returns the UTF-8 byte length of `text`.
 *
 * @example
 * ```ts
 * utf8Length("héllo"); // 6
 * ```
 */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/**
 * True when `text` takes more than `limit` bytes in UTF-8. Most strings are answered from their
 * length alone: a UTF-16 unit takes 1 to 3 bytes, so only strings near the limit are encoded.
 *
 * @example
 * ```ts
 * exceedsBytes("x".repeat(500), 100); // true
 * exceedsBytes("héllo", 5); // true: 6 bytes
 * ```
 */
export function exceedsBytes(text: string, limit: number): boolean {
  const units = text.length;
  if (units > limit) return true;
  if (units * 3 <= limit) return false;
  return utf8Length(text) > limit;
}
