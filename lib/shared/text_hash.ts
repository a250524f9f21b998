/**
 * A fast non-cryptographic 53-bit hash of a message text (cyrb53), remembered with each `ref` so
 * that a ref only ever matches a resend of the very same text.
 *
 * @module
 */

/**
 * cyrb53 of `text` (over UTF-16 code units): an integer below 2^53, equal for equal texts.
 *
 * @example
 * ```ts
 * textHash("hello") === textHash("hello"); // true
 * textHash("hello") === textHash("hellp"); // false
 * ```
 */
export function textHash(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
