/**
 * The display-name rule shared by the page, the island and the client core: exactly the server's
 * handshake check (`lib/protocol/handshake.ts`), so a name the page accepts is never refused with a 400.
 *
 * @module
 */

import { MAX_NAME_CHARS, parseHandshake } from "./handshake.ts";

export { MAX_NAME_CHARS };

/**
 * Why `name` would be refused by the server (1 to {@linkcode MAX_NAME_CHARS} characters after
 * trimming, no control or bidi-override characters), or null when it is accepted.
 *
 * @example
 * ```ts
 * nameProblem("Ann"); // null
 * nameProblem("x".repeat(40)); // "name must be 1-32 characters after trimming, got 40"
 * ```
 */
export function nameProblem(name: string): string | null {
  const url = new URL("ws://check.invalid/ws");
  url.searchParams.set("name", name);
  const checked = parseHandshake(url);
  return checked.ok ? null : checked.reason;
}

/**
 * The trimmed name when the server would accept it, else null.
 *
 * @example
 * ```ts
 * validName("  Ann "); // "Ann"
 * validName("a\u202Eb"); // null
 * ```
 */
export function validName(name: string | null | undefined): string | null {
  if (typeof name !== "string") return null;
  return nameProblem(name) === null ? name.trim() : null;
}
