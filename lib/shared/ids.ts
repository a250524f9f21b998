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

const KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Returns `length` characters of `[A-Za-z0-9_-]` (6 bits each) for a secret such as a client's
 * private key: from `crypto.getRandomValues` when the runtime has it (browsers and Deno do),
 * else from `Math.random`.
 *
 * @example
 * ```ts
 * secretToken(16); // e.g. "q3V-9x0QaT_b1cKz"
 * ```
 */
export function secretToken(length: number): string {
  const bytes = new Uint8Array(length);
  if (typeof globalThis.crypto?.getRandomValues === "function") crypto.getRandomValues(bytes);
  else for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let out = "";
  for (const byte of bytes) out += KEY_ALPHABET[byte & 63];
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
