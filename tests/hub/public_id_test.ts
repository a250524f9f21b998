import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parseHandshake } from "../../lib/protocol/handshake.ts";
import { identify, PUBLIC_ID_LENGTH, publicClientId } from "../../lib/hub/public_id.ts";

/** The derivation written independently, with node:crypto. */
const expected = (key: string) =>
  createHash("sha256").update(`fanout-client:${key}`).digest("base64url").slice(0, 16);

Deno.test("publicClientId: 16 characters of base64url(SHA-256('fanout-client:' + key))", async () => {
  for (const key of ["abcdefgh", "tab-3f9a0c11", "x".repeat(64), "AZaz09_-AZaz09_-"]) {
    const id = await publicClientId(key);
    assert.equal(id, expected(key));
    assert.equal(id.length, PUBLIC_ID_LENGTH);
    assert.match(id, /^[A-Za-z0-9_-]{16}$/, "a valid key itself, so it can be tried as one");
  }
  assert.equal(await publicClientId("abcdefgh"), await publicClientId("abcdefgh"), "stable");
  assert.notEqual(await publicClientId("abcdefgh"), await publicClientId("abcdefgi"));
});

Deno.test("publicClientId: a public id used as a key gives another public id", async () => {
  let id = await publicClientId("victim-key-0001");
  const seen = new Set([id]);
  for (let i = 0; i < 20; i++) {
    id = await publicClientId(id);
    assert.ok(!seen.has(id), `${id} came back`);
    seen.add(id);
  }
});

Deno.test("identify: the handshake the hub gets holds the public id, never the key", async () => {
  const parsed = parseHandshake(new URL("ws://h/ws?room=dev&name=Ann&client=tab-3f9a0c11"));
  assert.ok(parsed.ok);
  const handshake = await identify(parsed.value);
  assert.deepEqual(handshake, {
    room: "dev",
    name: "Ann",
    client: expected("tab-3f9a0c11"),
    resume: null,
  });
  assert.ok(!JSON.stringify(handshake).includes("tab-3f9a0c11"));
  const keyless = parseHandshake(new URL("ws://h/ws"));
  assert.ok(keyless.ok);
  assert.equal((await identify(keyless.value)).client, null);
});
