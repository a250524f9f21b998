import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  ACCEPT_KEY_LENGTH,
  acceptKey,
  sha1Ascii,
  writeAcceptKey,
} from "../../lib/transport/accept_key.ts";

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("acceptKey: RFC 6455's example, and node:crypto's SHA-1 for random keys", () => {
  assert.equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  for (let i = 0; i < 200; i++) {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const want = createHash("sha1").update(key + guid).digest("base64");
    assert.equal(acceptKey(key), want, key);
  }
});

Deno.test("sha1Ascii: FIPS 180 vectors and every length up to one block and a half", () => {
  assert.equal(hex(sha1Ascii("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  assert.equal(hex(sha1Ascii("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  assert.equal(
    hex(sha1Ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
  );
  for (let n = 0; n <= 119; n++) {
    const text = "x".repeat(n).split("").map((_, i) => String.fromCharCode(33 + ((i * 7) % 90)))
      .join("");
    assert.equal(
      hex(sha1Ascii(text)),
      createHash("sha1").update(text).digest("hex"),
      `length ${n}`,
    );
  }
  assert.throws(() => sha1Ascii("x".repeat(120)), /at most 119 characters, got 120/);
  assert.throws(() => sha1Ascii("é"), /ASCII only, got code 233 at 0/);
});

Deno.test("writeAcceptKey: the value as ASCII bytes at an offset, nothing around it touched", () => {
  const out = new Uint8Array(40).fill(0xaa);
  assert.equal(writeAcceptKey("dGhlIHNhbXBsZSBub25jZQ==", out, 5), 5 + ACCEPT_KEY_LENGTH);
  assert.equal(new TextDecoder().decode(out.subarray(5, 33)), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assert.ok(out.subarray(0, 5).every((b) => b === 0xaa), "before the value");
  assert.ok(out.subarray(33).every((b) => b === 0xaa), "after the value");
  const key = btoa("0123456789abcdef");
  writeAcceptKey(key, out, 0);
  assert.equal(new TextDecoder().decode(out.subarray(0, 28)), acceptKey(key));
});
