/**
 * `keySize` against Deno KV itself: a key of 2048 bytes as `keySize` counts them is written, one
 * byte more is refused ("Key too large for write"), for every kind of character it counts.
 */
import assert from "node:assert/strict";
import { keySize } from "../../../lib/engine/kv/kv_messages.ts";
import type { KvKey } from "../../../lib/engine/kv/kv_handle.ts";

/** Deno KV's largest key for a write, in its encoding. */
const MAX_KEY = 2048;

Deno.test("keySize counts what Deno KV counts: ASCII, NUL, 2-, 3- and 4-byte characters, lone surrogates, numbers", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    for (const special of ["", "\u0000", "é", "€", "😀", "\ud800", "\udc00x"]) {
      // A key of exactly MAX_KEY bytes by keySize: ASCII padding around the special character.
      const base: KvKey = ["m", 7];
      const pad = MAX_KEY - keySize([...base, special]);
      const fits: KvKey = [...base, "a".repeat(pad) + special];
      assert.equal(keySize(fits), MAX_KEY);
      await kv.set(fits as Deno.KvKey, 1);
      const over: KvKey = [...base, "a".repeat(pad + 1) + special];
      await assert.rejects(
        () => kv.set(over as Deno.KvKey, 1),
        /Key too large/,
        `one byte over with ${JSON.stringify(special)}`,
      );
    }
  } finally {
    kv.close();
  }
});
