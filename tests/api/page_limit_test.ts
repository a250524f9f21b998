import assert from "node:assert/strict";
import { pageLimit } from "../../lib/api/page_limit.ts";

Deno.test("pageLimit: 100 by default (at most the maximum), 1 to API_MAX_PAGE when given", () => {
  const q = (s: string) => new URLSearchParams(s);
  assert.equal(pageLimit(q(""), 1000), 100);
  assert.equal(pageLimit(q(""), 20), 20);
  assert.equal(pageLimit(q("limit=1"), 1000), 1);
  assert.equal(pageLimit(q("limit=1000"), 1000), 1000);
  for (const bad of ["limit=1001", "limit=0", "limit=-1", "limit=2.5", "limit=x", "limit="]) {
    assert.match(String(pageLimit(q(bad), 1000)), /limit must be a whole number from 1 to 1000/);
  }
});
