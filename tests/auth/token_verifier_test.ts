import assert from "node:assert/strict";
import { createTokenVerifier, type TokenVerifierOptions } from "../../lib/auth/token_verifier.ts";
import type { TokenRefusal } from "../../lib/auth/identity.ts";
import { hsToken, keyPair, noneToken, TEST_SECRET } from "../helpers/tokens.ts";

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const SEC = Math.floor(NOW / 1000);

function options(overrides: Partial<TokenVerifierOptions> = {}): TokenVerifierOptions {
  return {
    authSecret: TEST_SECRET,
    authPublicKey: null,
    authIssuer: null,
    authAudience: null,
    maxTokenBytes: 8192,
    maxInfoBytes: 1024,
    now: () => NOW,
    ...overrides,
  };
}

async function refusal(token: string, overrides: Partial<TokenVerifierOptions> = {}) {
  const check = await (await createTokenVerifier(options(overrides))).verify(token);
  return check.ok ? "accepted" : check.refusal;
}

Deno.test("an HS256 token gives the user, name, info, grants and expiry in ms", async () => {
  const verifier = await createTokenVerifier(options());
  const token = await hsToken(
    {
      sub: "ann",
      name: "Ann",
      info: { team: 42 },
      rooms: { lobby: "rw", "news-*": "r" },
    },
    TEST_SECRET,
    NOW,
  );
  const check = await verifier.verify(token);
  assert.ok(check.ok);
  assert.equal(check.identity.user, "ann");
  assert.equal(check.identity.name, "Ann");
  assert.deepEqual(check.identity.info, { team: 42 });
  assert.equal(check.identity.expires, (SEC + 3600) * 1000);
  assert.equal(check.identity.grants.access("lobby"), "rw");
  assert.equal(check.identity.grants.access("news-today"), "r");
  assert.equal(check.identity.grants.access("random"), null);
});

Deno.test("each public-key algorithm verifies from a PEM and from a JWK", async () => {
  for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
    const pair = await keyPair(alg);
    const token = await pair.sign({ sub: "bob", rooms: { lobby: "r" } }, NOW);
    for (const key of [pair.pem, pair.jwk]) {
      const verifier = await createTokenVerifier(options({ authSecret: null, authPublicKey: key }));
      const check = await verifier.verify(token);
      assert.ok(check.ok, `${alg} from ${key.slice(0, 10)}: ${JSON.stringify(check)}`);
      assert.equal(check.identity.user, "bob");
    }
  }
});

Deno.test("the bad-token matrix: each forgery or mistake gets its own refusal", async () => {
  const es = await keyPair("ES256");
  const rs = await keyPair("RS256");
  const good = { sub: "ann", rooms: { lobby: "rw" } };
  const cases: [string, string | Promise<string>, TokenRefusal, Partial<TokenVerifierOptions>?][] =
    [
      ["empty", "", "missing"],
      ["not a JWT", "hello", "malformed"],
      ["two parts", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0", "malformed"],
      ["garbage parts", "a.b.c", "malformed"],
      ["bad signature", hsToken(good, "another-secret-0123456789abcdef-xyz", NOW), "signature"],
      ["alg none", noneToken(good, NOW), "algorithm"],
      ["RS256 token against a secret only", rs.sign(good, NOW), "algorithm"],
      [
        "HS256 token against a public key only",
        hsToken(good, TEST_SECRET, NOW),
        "algorithm",
        { authSecret: null, authPublicKey: es.pem },
      ],
      [
        "HS256 signed with the public key's PEM as its secret",
        hsToken(good, es.pem, NOW),
        "algorithm",
        { authSecret: null, authPublicKey: es.pem },
      ],
      [
        "ES256 token signed by another key",
        (async () => await (await keyPair("ES256")).sign(good, NOW))(),
        "signature",
        { authSecret: null, authPublicKey: es.pem },
      ],
      ["expired", hsToken({ ...good, exp: SEC - 1 }, TEST_SECRET, NOW), "expired"],
      ["expires now", hsToken({ ...good, exp: SEC }, TEST_SECRET, NOW), "expired"],
      ["no exp", hsToken({ ...good, exp: undefined }, TEST_SECRET, NOW), "claims"],
      ["no sub", hsToken({ rooms: { lobby: "r" } }, TEST_SECRET, NOW), "claims"],
      ["empty sub", hsToken({ ...good, sub: "" }, TEST_SECRET, NOW), "claims"],
      ["sub with a space", hsToken({ ...good, sub: "a b" }, TEST_SECRET, NOW), "claims"],
      ["sub too long", hsToken({ ...good, sub: "a".repeat(129) }, TEST_SECRET, NOW), "claims"],
      ["nbf in the future", hsToken({ ...good, nbf: SEC + 60 }, TEST_SECRET, NOW), "not_yet_valid"],
      ["iat in the future", hsToken({ ...good, iat: SEC + 60 }, TEST_SECRET, NOW), "not_yet_valid"],
      ["missing iss", hsToken(good, TEST_SECRET, NOW), "claims", { authIssuer: "https://app" }],
      [
        "wrong iss",
        hsToken({ ...good, iss: "https://evil" }, TEST_SECRET, NOW),
        "issuer",
        { authIssuer: "https://app" },
      ],
      [
        "wrong aud",
        hsToken({ ...good, aud: "other" }, TEST_SECRET, NOW),
        "audience",
        { authAudience: "fanout" },
      ],
      [
        "rooms not an object",
        hsToken({ ...good, rooms: "lobby" as never }, TEST_SECRET, NOW),
        "claims",
      ],
      [
        "grant of a bad pattern",
        hsToken({ ...good, rooms: { "a*b": "r" } }, TEST_SECRET, NOW),
        "claims",
      ],
      [
        "grant of a bad access",
        hsToken({ ...good, rooms: { lobby: "w" } }, TEST_SECRET, NOW),
        "claims",
      ],
      [
        "name with a control character",
        hsToken({ ...good, name: "A\u0007" }, TEST_SECRET, NOW),
        "claims",
      ],
      ["info not an object", hsToken({ ...good, info: [1, 2] }, TEST_SECRET, NOW), "claims"],
      [
        "info over MAX_INFO_BYTES",
        hsToken({ ...good, info: { bio: "x".repeat(1100) } }, TEST_SECRET, NOW),
        "claims",
      ],
      [
        "info nested too deep",
        hsToken(
          { ...good, info: JSON.parse('{"a":'.repeat(12) + "1" + "}".repeat(12)) },
          TEST_SECRET,
          NOW,
        ),
        "claims",
      ],
      [
        "token over MAX_TOKEN_BYTES",
        hsToken({ ...good, pad: "x".repeat(400) }, TEST_SECRET, NOW),
        "too_large",
        { maxTokenBytes: 256 },
      ],
    ];
  for (const [what, token, expected, overrides] of cases) {
    assert.equal(await refusal(await token, overrides), expected, what);
  }
});

Deno.test("tokens at the boundaries of MAX_TOKEN_BYTES and MAX_INFO_BYTES are accepted", async () => {
  // info {"b":"xx..."} of exactly 1024 bytes: 8 bytes of JSON around the string.
  const info = { b: "x".repeat(1024 - 8) };
  assert.equal(new TextEncoder().encode(JSON.stringify(info)).length, 1024);
  const token = await hsToken({ sub: "ann", info }, TEST_SECRET, NOW);
  assert.equal(await refusal(token, { maxTokenBytes: token.length }), "accepted");
  assert.equal(await refusal(token, { maxTokenBytes: token.length - 1 }), "too_large");
  const over = await hsToken({ sub: "ann", info: { b: "x".repeat(1024 - 7) } }, TEST_SECRET, NOW);
  assert.equal(await refusal(over), "claims");
});

Deno.test("with both keys, each algorithm verifies with its own key only", async () => {
  const es = await keyPair("ES256");
  const both = { authSecret: TEST_SECRET, authPublicKey: es.pem };
  const good = { sub: "ann" };
  assert.equal(await refusal(await hsToken(good, TEST_SECRET, NOW), both), "accepted");
  assert.equal(await refusal(await es.sign(good, NOW), both), "accepted");
  // The PEM as an HMAC secret: HS256 is allowed, but verified with AUTH_SECRET only.
  assert.equal(await refusal(await hsToken(good, es.pem, NOW), both), "signature");
});

Deno.test("an unreadable or unsupported public key fails at start-up, not per token", async () => {
  await assert.rejects(
    createTokenVerifier(
      options({ authSecret: null, authPublicKey: '{"kty":"EC","crv":"P-384","x":"a","y":"b"}' }),
    ),
    /must be an RSA, EC P-256 or Ed25519 key, got kty "EC" crv "P-384"/,
  );
  await assert.rejects(
    createTokenVerifier(options({
      authSecret: null,
      authPublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    })),
    /could not be read/,
  );
  await assert.rejects(
    createTokenVerifier(options({ authSecret: null })),
    /needs AUTH_SECRET or AUTH_PUBLIC_KEY/,
  );
});

Deno.test("the clock is injected: the same token is valid before exp and refused after", async () => {
  let now = NOW;
  const verifier = await createTokenVerifier(options({ now: () => now }));
  const token = await hsToken({ sub: "ann", exp: SEC + 10 }, TEST_SECRET, NOW);
  assert.ok((await verifier.verify(token)).ok);
  now = NOW + 9_999;
  assert.ok((await verifier.verify(token)).ok);
  now = NOW + 10_000;
  const late = await verifier.verify(token);
  assert.equal(late.ok ? "accepted" : late.refusal, "expired");
});

Deno.test("refusal reasons never contain the token", async () => {
  const token = await hsToken({ sub: "ann" }, "another-secret-0123456789abcdef-xyz", NOW);
  const check = await (await createTokenVerifier(options())).verify(token);
  assert.ok(!check.ok);
  assert.ok(!check.reason.includes(token.split(".")[1]));
});
