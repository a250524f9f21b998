/**
 * Verifies connection tokens (JWTs the application's backend signs) with `npm:jose`. The
 * algorithms accepted are fixed by the keys configured, never read from the token: HS256 for
 * `AUTH_SECRET`, and RS256, ES256 or EdDSA as the type of `AUTH_PUBLIC_KEY` says.
 *
 * @module
 */

import { errors, importJWK, importSPKI, type JWK, jwtVerify, type JWTVerifyResult } from "jose";
import type { Identity, Info, TokenCheck, TokenRefusal, TokenVerifier } from "./identity.ts";
import { validName } from "../protocol/names.ts";
import { RoomGrants } from "../shared/room_grants.ts";

/** Options of {@linkcode createTokenVerifier}; the names follow `lib/shared/config.ts`. */
export interface TokenVerifierOptions {
  /** HS256 secret (`AUTH_SECRET`), or null. */
  authSecret: string | null;
  /** SPKI PEM or public JWK as JSON (`AUTH_PUBLIC_KEY`), or null. */
  authPublicKey: string | null;
  /** Required `iss`, or null. */
  authIssuer: string | null;
  /** Required `aud`, or null. */
  authAudience: string | null;
  /** Longest token read, in bytes. */
  maxTokenBytes: number;
  /** Largest `info` claim, as compact JSON bytes. */
  maxInfoBytes: number;
  /** Current time in epoch ms (default `Date.now`). */
  now?: () => number;
}

/** Longest `sub`, in characters. */
export const MAX_SUB_CHARS = 128;
/** What a `sub` may be: visible ASCII. */
const SUB = /^[\x21-\x7e]+$/;
/** Three base64url parts: a JWS in compact form (a JWE has five). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Deepest nesting of `info`. */
const MAX_INFO_DEPTH = 8;

type Key = Awaited<ReturnType<typeof importSPKI>> | Uint8Array;

const PUBLIC_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;

/** The algorithm of a public JWK: RSA → RS256, EC P-256 → ES256, OKP Ed25519 → EdDSA. */
function jwkAlgorithm(jwk: JWK): string {
  const alg = jwk.kty === "RSA"
    ? "RS256"
    : jwk.kty === "EC" && jwk.crv === "P-256"
    ? "ES256"
    : jwk.kty === "OKP" && jwk.crv === "Ed25519"
    ? "EdDSA"
    : null;
  if (alg === null) {
    throw new RangeError(
      `AUTH_PUBLIC_KEY must be an RSA, EC P-256 or Ed25519 key, got kty ${
        JSON.stringify(jwk.kty)
      } crv ${JSON.stringify(jwk.crv ?? null)}`,
    );
  }
  if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === "EdDSA" && jwk.alg === "Ed25519")) {
    throw new RangeError(
      `AUTH_PUBLIC_KEY says alg ${JSON.stringify(jwk.alg)}, but Fanout verifies this key as ${alg}`,
    );
  }
  return alg;
}

async function importPublicKey(text: string): Promise<[string, Key]> {
  if (!text.startsWith("-----")) {
    const jwk = JSON.parse(text) as JWK;
    const alg = jwkAlgorithm(jwk);
    return [alg, await importJWK({ ...jwk, alg, ext: false }, alg) as Key];
  }
  // A PEM does not say its algorithm: the key type does (import fails for another type).
  for (const alg of PUBLIC_ALGORITHMS) {
    try {
      return [alg, await importSPKI(text, alg)];
    } catch {
      // Not this type: try the next.
    }
  }
  throw new RangeError(
    "AUTH_PUBLIC_KEY could not be read as an RSA, EC P-256 or Ed25519 public key (PEM)",
  );
}

function refuse(refusal: TokenRefusal, reason: string): TokenCheck {
  return { ok: false, refusal, reason };
}

/** Depth of nesting of a JSON value, stopping early past `max`. */
function depth(value: unknown, max: number): number {
  if (typeof value !== "object" || value === null) return 0;
  if (max <= 0) return 1;
  let deepest = 0;
  for (const child of Object.values(value)) {
    deepest = Math.max(deepest, depth(child, max - 1));
    if (deepest >= max) break;
  }
  return deepest + 1;
}

/** The claims Fanout reads, checked; or why they are refused. */
function identityOf(
  payload: JWTVerifyResult["payload"],
  maxInfoBytes: number,
): Identity | string {
  const { sub, exp } = payload;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_SUB_CHARS || !SUB.test(sub)) {
    return `sub must be 1-${MAX_SUB_CHARS} visible ASCII characters`;
  }
  let name: string | null = null;
  if (payload.name !== undefined) {
    name = typeof payload.name === "string" ? validName(payload.name) : null;
    if (name === null) return "name must be 1-32 characters without control characters";
  }
  let info: Info | null = null;
  if (payload.info !== undefined) {
    const value = payload.info;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return "info must be a JSON object";
    }
    const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
    if (bytes > maxInfoBytes) return `info is ${bytes} bytes, at most ${maxInfoBytes} are allowed`;
    if (depth(value, MAX_INFO_DEPTH) > MAX_INFO_DEPTH) {
      return `info is nested deeper than ${MAX_INFO_DEPTH} levels`;
    }
    info = value as Info;
  }
  const grants = RoomGrants.parse(payload.rooms);
  if (typeof grants === "string") return grants;
  return { user: sub, name, info, grants, expires: (exp as number) * 1000 };
}

/** Maps what jose threw to a refusal; anything unexpected is `malformed`. */
function refusalOf(err: unknown): TokenCheck {
  if (err instanceof errors.JWTExpired) return refuse("expired", "token expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === "missing") return refuse("claims", `token has no ${err.claim} claim`);
    if (err.claim === "nbf") return refuse("not_yet_valid", "token is not valid yet (nbf)");
    if (err.claim === "iss") return refuse("issuer", "token has the wrong issuer (iss)");
    if (err.claim === "aud") return refuse("audience", "token has the wrong audience (aud)");
    return refuse("claims", `token claim ${err.claim} is invalid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return refuse("algorithm", "token algorithm is not accepted");
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return refuse("signature", "token signature is invalid");
  }
  return refuse("malformed", "token is malformed");
}

/**
 * Builds the verifier of the keys configured; throws a `RangeError` when a key cannot be read
 * (at start-up, so a bad key never means an open server).
 *
 * @example
 * ```ts
 * const verifier = await createTokenVerifier({ ...config, now: () => Date.now() });
 * const check = await verifier.verify(token); // { ok: true, identity } or { ok: false, ... }
 * ```
 */
export async function createTokenVerifier(options: TokenVerifierOptions): Promise<TokenVerifier> {
  const keys = new Map<string, Key>();
  if (options.authSecret !== null) {
    keys.set("HS256", new TextEncoder().encode(options.authSecret));
  }
  if (options.authPublicKey !== null) {
    const [alg, key] = await importPublicKey(options.authPublicKey);
    keys.set(alg, key);
  }
  if (keys.size === 0) {
    throw new RangeError("a token verifier needs AUTH_SECRET or AUTH_PUBLIC_KEY");
  }
  const algorithms = [...keys.keys()];
  const now = options.now ?? Date.now;
  const { maxTokenBytes, maxInfoBytes } = options;
  return {
    async verify(token: string): Promise<TokenCheck> {
      if (token.length === 0) return refuse("missing", "no token");
      if (token.length > maxTokenBytes) {
        return refuse("too_large", `token is over ${maxTokenBytes} bytes`);
      }
      if (!COMPACT_JWS.test(token)) return refuse("malformed", "token is not a compact JWS");
      const at = now();
      let result: JWTVerifyResult;
      try {
        // The key is picked by the header's alg only among the algorithms configured: jose
        // refuses any other alg (none included) before it asks for a key.
        result = await jwtVerify(token, (header) => keys.get(header.alg)!, {
          algorithms,
          issuer: options.authIssuer ?? undefined,
          audience: options.authAudience ?? undefined,
          requiredClaims: ["sub", "exp"],
          currentDate: new Date(at),
        });
      } catch (err) {
        return refusalOf(err);
      }
      const { iat } = result.payload;
      if (iat !== undefined && iat * 1000 > at + 1000) {
        return refuse("not_yet_valid", "token is issued in the future (iat)");
      }
      const identity = identityOf(result.payload, maxInfoBytes);
      if (typeof identity === "string") return refuse("claims", identity);
      return { ok: true, identity };
    },
  };
}
