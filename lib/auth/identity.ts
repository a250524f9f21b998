/**
 * Who a connection is: the verified claims of its token (or the anonymous reader), and the
 * contract of the token check that produces them. Runtime- and package-free, so the hub and the
 * routes use it without depending on how tokens are verified.
 *
 * @module
 */

import type { RoomGrants } from "../shared/room_grants.ts";

/** A JSON object, as the `info` claim holds it. */
export type Info = { [key: string]: unknown };

/**
 * A connection's verified identity.
 *
 * @example
 * ```ts
 * const ann: Identity = { user: "ann", name: "Ann", info: null, grants, expires: Date.now() + 60_000 };
 * ann.grants.access("lobby"); // "rw" when the token granted it
 * ```
 */
export interface Identity {
  /** The token's `sub`; null for an anonymous reader. */
  user: string | null;
  /** The token's `name`, which overrides the handshake's `?name=`; null without one. */
  name: string | null;
  /** The token's `info`: public, shown in presence and on the user's messages; null without. */
  info: Info | null;
  /** The rooms the token grants, `r` or `rw`. */
  grants: RoomGrants;
  /** When the token expires, in epoch ms; null for an anonymous reader (nothing expires). */
  expires: number | null;
}

/**
 * Why a token was refused; each is an HTTP 401 at the handshake and a `fanout_rejected_total`
 * reason `token_<refusal>`.
 */
export type TokenRefusal =
  | "missing"
  | "too_large"
  | "malformed"
  | "algorithm"
  | "signature"
  | "expired"
  | "not_yet_valid"
  | "issuer"
  | "audience"
  | "claims";

/** The outcome of a token check: the identity, or why not with a one-line reason. */
export type TokenCheck =
  | { ok: true; identity: Identity }
  | { ok: false; refusal: TokenRefusal; reason: string };

/**
 * Checks connection tokens (`lib/auth/token_verifier.ts` with `npm:jose`; tests may pass fakes).
 *
 * @example
 * ```ts
 * const check = await verifier.verify(token);
 * if (!check.ok) return new Response(check.reason, { status: 401 });
 * ```
 */
export interface TokenVerifier {
  /** Verifies `token` at the verifier's current time; never throws, never logs the token. */
  verify(token: string): Promise<TokenCheck>;
}
