import assert from "node:assert/strict";
import { startFlags } from "../../scripts/start_flags.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions(
  "startFlags: the start task's --allow-* and --v8-flags= flags, and what is wrong otherwise",
  async () => {
    const flags = startFlags(new URL("../../", import.meta.url));
    assert.ok(flags.includes("--allow-net"), flags.join(" "));
    assert.ok(flags.includes("--v8-flags=--max-semi-space-size=8"), flags.join(" "));
    assert.ok(
      flags.every((f) => f.startsWith("--allow-") || f.startsWith("--v8-flags=")),
      flags.join(" "),
    );
    const dir = await Deno.makeTempDir({ prefix: "fanout_flags_" });
    try {
      const root = new URL(`file://${dir}/`);
      await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ tasks: {} }));
      assert.throws(() => startFlags(root), /deno.json has no "start" task \(got undefined\)/);
      await Deno.writeTextFile(
        `${dir}/deno.json`,
        JSON.stringify({ tasks: { start: "deno run x.ts" } }),
      );
      assert.throws(() => startFlags(root), /the start task grants no permission: "deno run x.ts"/);
      await Deno.writeTextFile(
        `${dir}/deno.json`,
        JSON.stringify({ tasks: { start: "deno run --allow-net --v8-flags=--x=1 x.ts" } }),
      );
      assert.deepEqual(startFlags(root), ["--v8-flags=--x=1", "--allow-net"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
