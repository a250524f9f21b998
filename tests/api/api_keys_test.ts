import assert from "node:assert/strict";
import { ApiKeys } from "../../lib/api/api_keys.ts";

Deno.test("ApiKeys: which key matched, or null; the scheme is case-blind", async () => {
  const keys = new ApiKeys(["first-key-0123456789", "second-key-0123456789"]);
  assert.equal(await keys.check("Bearer first-key-0123456789"), 0);
  assert.equal(await keys.check("bearer second-key-0123456789"), 1);
  assert.equal(await keys.check("Bearer second-key-012345678"), null, "one character short");
  assert.equal(await keys.check("Bearer second-key-01234567890"), null, "one character more");
  assert.equal(await keys.check("Basic first-key-0123456789"), null);
  assert.equal(await keys.check("first-key-0123456789"), null);
  assert.equal(await keys.check(""), null);
  assert.equal(await keys.check(null), null);
});
