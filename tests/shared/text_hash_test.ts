import assert from "node:assert/strict";
import { textHash } from "../../lib/shared/text_hash.ts";

Deno.test("textHash: a 53-bit integer, equal for equal texts, different for near ones", () => {
  const texts = [
    "",
    "a",
    "b",
    "ab",
    "ba",
    "hello",
    "hellp",
    "é",
    "e\u0301",
    "😀",
    "x".repeat(5000),
  ];
  const hashes = texts.map(textHash);
  for (const h of hashes) assert.ok(Number.isSafeInteger(h) && h >= 0, `${h}`);
  assert.equal(new Set(hashes).size, texts.length, "no collisions among near texts");
  assert.deepEqual(texts.map(textHash), hashes, "deterministic");
  // Reference value of cyrb53 with seed 0 (the published algorithm).
  assert.equal(textHash("a"), 7929297801672961);
});
