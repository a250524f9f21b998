/**
 * Identifiers: random tokens and connection ids.
 *
 * @module
 */

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/**
 * Returns `length` random characters of `[0-9a-z]`.
 *
 * @example
 * ```ts
 * randomToken(8); // e.g. "k3v9x0qa"
 * randomToken(4, () => 0); // "0000"
 * ```
 */
export function randomToken(length: number, random: () => number = Math.random): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return out;
}

/**
 * Makes a generator of connection ids unique within the process and, with a random prefix,
 * across processes: `c<prefix>-<counter>`.
 *
 * @example
 * ```ts
 * const next = connectionIds(() => 0);
 * next(); // "c000000-1"
 * ```
 */
export function connectionIds(random: () => number = Math.random): () => string {
  const prefix = `c${randomToken(6, random)}-`;
  let counter = 0;
  return () => prefix + (++counter).toString(36);
}
