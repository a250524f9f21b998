import assert from "node:assert/strict";
import { parseTokenArgs, signToken } from "../../scripts/token.ts";
import { createTokenVerifier } from "../../lib/auth/token_verifier.ts";
import { TEST_SECRET } from "../helpers/tokens.ts";

Deno.test("deno task token: the arguments, with defaults and clear errors", () => {
  assert.deepEqual(parseTokenArgs(["--sub", "ann", "--rooms", "lobby=rw,news-*=r"]), {
    sub: "ann",
    rooms: { lobby: "rw", "news-*": "r" },
    ttlSeconds: 3600,
  });
  assert.equal(parseTokenArgs(["--sub", "a", "--ttl", "90s"]).ttlSeconds, 90);
  assert.equal(parseTokenArgs(["--sub", "a", "--ttl", "2d"]).ttlSeconds, 172800);
  assert.throws(() => parseTokenArgs(["--rooms", "lobby"]), /--sub is required/);
  assert.throws(() => parseTokenArgs(["--sub", "a", "--ttl", "1y"]), /--ttl must be/);
  assert.throws(() => parseTokenArgs(["--sub", "a", "--rooms", "Lobby=rw"]), /invalid room/);
  assert.throws(() => parseTokenArgs(["--sub", "a", "--rooms", "lobby=w"]), /must be "r" or "rw"/);
  assert.throws(() => parseTokenArgs(["--sub", "a", "--info", "[1]"]), /--info must be a JSON/);
  assert.throws(() => parseTokenArgs(["--sub", "a", "--oops", "x"]), /unknown argument "--oops"/);
});

Deno.test("deno task token: what it signs, the server verifies", async () => {
  const now = Date.UTC(2026, 11, 6);
  const token = await signToken(
    parseTokenArgs(["--sub", "ann", "--rooms", "lobby=rw", "--name", "Ann", "--ttl", "10m"]),
    { secret: TEST_SECRET, issuer: "https://app", now },
  );
  const verifier = await createTokenVerifier({
    authSecret: TEST_SECRET,
    authPublicKey: null,
    authIssuer: "https://app",
    authAudience: null,
    maxTokenBytes: 8192,
    maxInfoBytes: 1024,
    now: () => now,
  });
  const check = await verifier.verify(token);
  assert.ok(check.ok, JSON.stringify(check));
  assert.equal(check.identity.user, "ann");
  assert.equal(check.identity.name, "Ann");
  assert.equal(check.identity.expires, now + 600_000);
  assert.equal(check.identity.grants.access("lobby"), "rw");
});
