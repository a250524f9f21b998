/**
 * Where a connection's token comes from: `Authorization: Bearer <jwt>` (server-side clients), the
 * subprotocol `fanout.token.<jwt>` offered next to `fanout.v1` (browsers: it keeps the token out of
 * URLs and access logs, and is never echoed back), or `?token=<jwt>` (wscat, websocat, the console
 * client). Pure: it reads what the request says, the verifier decides.
 *
 * @module
 */

import { offeredProtocols } from "../shared/header_lists.ts";
import type { HandshakeRequest } from "../shared/handshake_request.ts";

/** Prefix of the subprotocol that carries a token. */
export const TOKEN_PROTOCOL_PREFIX = "fanout.token.";

/** What {@linkcode requestToken} found: one token, none, or a reason to refuse. */
export type RequestToken =
  | { ok: true; token: string | null }
  | { ok: false; reason: string };

/**
 * The token a `/ws` request carries, from the header, the subprotocol or the query. Two
 * different tokens are refused, never one of them picked.
 *
 * @example
 * ```ts
 * requestToken(new Request("http://h/ws?token=abc.def.ghi")); // { ok: true, token: "abc.def.ghi" }
 * requestToken(new Request("http://h/ws")); // { ok: true, token: null }
 * ```
 */
export function requestToken(req: HandshakeRequest): RequestToken {
  const found = new Set<string>();
  const header = req.headers.get("authorization");
  if (header !== null) {
    const space = header.indexOf(" ");
    const scheme = space === -1 ? header : header.slice(0, space);
    if (scheme.toLowerCase() === "bearer") found.add(header.slice(space + 1).trim());
  }
  for (const protocol of offeredProtocols(req.headers.get("sec-websocket-protocol")) ?? []) {
    if (protocol.startsWith(TOKEN_PROTOCOL_PREFIX)) {
      found.add(protocol.slice(TOKEN_PROTOCOL_PREFIX.length));
    }
  }
  const query = new URL(req.url).searchParams.getAll("token");
  for (const token of query) found.add(token);
  if (found.size > 1) {
    return {
      ok: false,
      reason: "more than one token (Authorization, subprotocol, ?token=): send exactly one",
    };
  }
  const [token] = found;
  return { ok: true, token: token ?? null };
}
