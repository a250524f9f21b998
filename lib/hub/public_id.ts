/**
 * The client's two identities: the `client=` of the handshake is a private key the client keeps
 * to itself; everyone else only ever sees the public id the server derives from it. Knowing a
 * public id (it is in every message) gives no way to connect under it: using it as a key yields
 * another public id.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Handshake, HandshakeQuery } from "../protocol/handshake.ts";

/** Characters of a public client id (96 bits of the hash). */
export const PUBLIC_ID_LENGTH = 16;

const PREFIX = "fanout-client:";

/**
 * The public id of a private client key: the first 16 characters of
 * base64url(SHA-256("fanout-client:" + key)). Synchronous (`node:crypto`, which Deno, Node and
 * Bun have): `crypto.subtle` would cost a thread hop, about 20 µs, on every handshake.
 *
 * @example
 * ```ts
 * const id = publicClientId("tab-3f9a0c11"); // 16 characters of A-Z, a-z, 0-9, _ and -
 * publicClientId(id) !== id; // true: a public id used as a key gives another id
 * ```
 */
export function publicClientId(key: string): string {
  return createHash("sha256").update(PREFIX + key).digest("base64url").slice(0, PUBLIC_ID_LENGTH);
}

/**
 * Turns a parsed handshake query into the handshake the hub takes: the private key is replaced
 * by its public id (null without a key), so the key never reaches the hub, the engine or a peer.
 * In auth mode the verified `user` goes into the id too.
 *
 * @example
 * ```ts
 * const parsed = parseHandshake(new URL("ws://h/ws?client=tab-3f9a0c11"));
 * if (parsed.ok) identify(parsed.value).client; // the public id of "tab-3f9a0c11"
 * ```
 */
export function identify(query: HandshakeQuery, user: string | null = null): Handshake {
  const { key, ...rest } = query;
  if (key === null) return { ...rest, client: null };
  // In auth mode the id is derived from the user and the key: another user who claims the same
  // key gets another id (keys never hold a NUL, so the pair is unambiguous).
  return { ...rest, client: publicClientId(user === null ? key : `${user}\u0000${key}`) };
}
