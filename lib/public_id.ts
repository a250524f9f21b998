/**
 * The client's two identities: the `client=` of the handshake is a private key the client keeps
 * to itself; everyone else only ever sees the public id the server derives from it. Knowing a
 * public id (it is in every message) gives no way to connect under it: using it as a key yields
 * another public id.
 *
 * @module
 */

import type { Handshake, HandshakeQuery } from "./handshake.ts";

/** Characters of a public client id (96 bits of the hash). */
export const PUBLIC_ID_LENGTH = 16;

const PREFIX = "fanout-client:";

/**
 * The public id of a private client key: the first 16 characters of
 * base64url(SHA-256("fanout-client:" + key)). Uses `crypto.subtle`, a web-standard API.
 *
 * @example
 * ```ts
 * const id = await publicClientId("tab-3f9a0c11"); // 16 characters of A-Z, a-z, 0-9, _ and -
 * (await publicClientId(id)) !== id; // true: a public id used as a key gives another id
 * ```
 */
export async function publicClientId(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(PREFIX + key));
  let binary = "";
  for (const byte of new Uint8Array(digest, 0, 12)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").slice(0, PUBLIC_ID_LENGTH);
}

/**
 * Turns a parsed handshake query into the handshake the hub takes: the private key is replaced
 * by its public id (null without a key), so the key never reaches the hub, the engine or a peer.
 *
 * @example
 * ```ts
 * const parsed = parseHandshake(new URL("ws://h/ws?client=tab-3f9a0c11"));
 * if (parsed.ok) (await identify(parsed.value)).client; // the public id of "tab-3f9a0c11"
 * ```
 */
export async function identify(query: HandshakeQuery): Promise<Handshake> {
  const { key, ...rest } = query;
  return { ...rest, client: key === null ? null : await publicClientId(key) };
}
