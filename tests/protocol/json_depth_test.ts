import assert from "node:assert/strict";
import { exceedsDepth } from "../../lib/protocol/json_depth.ts";

Deno.test("exceedsDepth: scalars are 0 deep, each array or object one more", () => {
  for (const scalar of [null, 1, "x", true]) assert.equal(exceedsDepth(scalar, 0), false);
  assert.equal(exceedsDepth([], 0), true);
  assert.equal(exceedsDepth([], 1), false);
  assert.equal(exceedsDepth({ a: [1, { b: 2 }] }, 3), false);
  assert.equal(exceedsDepth({ a: [1, { b: 2 }] }, 2), true);
});

Deno.test("exceedsDepth: a value nested 100 000 deep is measured without recursion", () => {
  const deep = JSON.parse("[".repeat(100_000) + "]".repeat(100_000));
  assert.equal(exceedsDepth(deep, 32), true);
  assert.equal(exceedsDepth(deep, 100_000), false);
});
