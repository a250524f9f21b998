/**
 * Real connection tokens for tests, signed with `npm:jose`: an HS256 secret, key pairs for the
 * public-key algorithms, and the forgeries the bad-token matrix needs (`alg: none`, HS256 signed
 * with a public key as its secret).
 *
 * @module
 */

import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from "jose";

/** A 32-byte HS256 secret for tests. */
export const TEST_SECRET = "test-secret-0123456789abcdef-0123";

/** Claims a test token carries; `exp` defaults to an hour from `now`. */
export type TestClaims = JWTPayload & {
  rooms?: Record<string, string>;
  name?: unknown;
  info?: unknown;
};

/**
 * Signs `claims` with HS256 and `secret`, adding `exp` one hour after `now` (epoch ms) unless
 * `claims` sets it (`exp: undefined` leaves it out).
 *
 * @example
 * ```ts
 * const token = await hsToken({ sub: "ann", rooms: { lobby: "rw" } });
 * ```
 */
export async function hsToken(
  claims: TestClaims,
  secret = TEST_SECRET,
  now = Date.now(),
): Promise<string> {
  return await new SignJWT(withExp(claims, now)).setProtectedHeader({ alg: "HS256" }).sign(
    new TextEncoder().encode(secret),
  );
}

function withExp(claims: TestClaims, now: number): JWTPayload {
  const out: JWTPayload = { ...claims };
  if (!("exp" in claims)) out.exp = Math.floor(now / 1000) + 3600;
  if (out.exp === undefined) delete out.exp;
  return out;
}

/** A public-key signer: its PEM and JWK for the server, and a function that signs. */
export interface KeyPairSigner {
  alg: "RS256" | "ES256" | "EdDSA";
  pem: string;
  jwk: string;
  sign(claims: TestClaims, now?: number): Promise<string>;
}

/**
 * A fresh key pair of `alg`.
 *
 * @example
 * ```ts
 * const es = await keyPair("ES256");
 * const token = await es.sign({ sub: "ann", rooms: { lobby: "r" } });
 * ```
 */
export async function keyPair(alg: KeyPairSigner["alg"]): Promise<KeyPairSigner> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return {
    alg,
    pem: await exportSPKI(publicKey),
    jwk: JSON.stringify(await exportJWK(publicKey)),
    sign: async (claims, now = Date.now()) =>
      await new SignJWT(withExp(claims, now)).setProtectedHeader({ alg }).sign(privateKey),
  };
}

function b64url(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * An unsigned token (`alg: none`) with `claims`, and an empty signature part replaced by `x` so
 * that it has three non-empty parts.
 *
 * @example
 * ```ts
 * noneToken({ sub: "ann" }); // "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbm4ifQ.x"
 * ```
 */
export function noneToken(claims: TestClaims, now = Date.now()): string {
  return `${b64url(JSON.stringify({ alg: "none" }))}.${
    b64url(JSON.stringify(withExp(claims, now)))
  }.x`;
}
