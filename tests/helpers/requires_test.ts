import assert from "node:assert/strict";
import { allPermitted, envOr, findBinary, requireBinary } from "./requires.ts";

// The one line a bare `deno test` prints about what it left out.
if (!allPermitted) {
  console.warn(
    "\n!!! SKIPPED the tests that need permissions (network, files, subprocesses, the " +
      "environment): a bare `deno test` grants none. Run `deno task test` to run them all.\n",
  );
}

Deno.test("requires: allPermitted matches what the run was granted", () => {
  const net = Deno.permissions.querySync({ name: "net" }).state === "granted";
  if (!net) assert.equal(allPermitted, false);
  if (allPermitted) assert.equal(net, true);
});

Deno.test("requires: envOr gives the fallback for a variable that is not set", () => {
  assert.equal(envOr("FANOUT_SURELY_UNSET_VARIABLE_42", "fallback"), "fallback");
});

Deno.test("requires: findBinary skips paths that do not exist", () => {
  assert.equal(findBinary(["/nonexistent/fanout-binary"]), null);
});

Deno.test("requires: a missing binary is skipped outside CI and run (to fail) in CI", () => {
  if (!allPermitted) {
    assert.equal(requireBinary("nothing", ["/nonexistent/x"]).ignore, true);
    return;
  }
  const inCi = Deno.env.get("CI") === "true";
  const result = requireBinary("nothing", ["/nonexistent/x"]);
  assert.deepEqual(result, { path: "/nonexistent/x", ignore: !inCi });
});
