/**
 * Smoke test of `deno task bench`: the whole suite in `--quick` mode (tiny numbers) against
 * both servers, asserting zero loss and duplicates and sane output, never timings.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseFlags, scenarioParams } from "../bench/flags.ts";
import { median } from "../bench/report.ts";

type Rows = Record<
  string,
  { baseline: Record<string, number>[]; fanout: Record<string, number>[] }
>;

Deno.test("bench flags: defaults, overrides and errors", () => {
  const quick = parseFlags(["--quick", "--scenario", "fanout", "--clients=7"]);
  assert.deepEqual(quick.scenarios, ["fanout"]);
  assert.equal(scenarioParams("fanout", quick).clients, 7);
  assert.equal(scenarioParams("fanout", quick).senders, 2);
  assert.equal(scenarioParams("fanout", parseFlags([])).clients, 1000);
  assert.throws(() => parseFlags(["--scenario", "nope"]), /--scenario must be one of/);
  assert.throws(() => parseFlags(["--clients", "x"]), /--clients needs a non-negative number/);
  assert.throws(() => parseFlags(["--bogus"]), /unknown flag "--bogus"/);
  assert.equal(median([3, 1, NaN, 2]), 2);
});

Deno.test({
  name: "bench --quick: every scenario runs on both servers with no loss and no duplicates",
  async fn() {
    const json = await Deno.makeTempFile({ suffix: ".json" });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "bench/run.ts", "--quick", "--json", json],
        cwd: new URL("../", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.ok(out.success, `bench failed: ${new TextDecoder().decode(out.stderr)}`);
      for (
        const heading of ["### fanout (", "### fanout-rate (", "### idle (", "### join-storm ("]
      ) {
        assert.ok(stdout.includes(heading), `missing table ${heading} in:\n${stdout}`);
      }
      assert.match(stdout, /\| deliveries\/s \| [\d,]+ \| [\d,]+ \| [\d.]+× \|/);
      const rows: Rows = JSON.parse(await Deno.readTextFile(json));
      for (const scenario of ["fanout", "fanout-rate"]) {
        for (const kind of ["baseline", "fanout"] as const) {
          const r = rows[scenario][kind][0];
          const where = `${scenario}/${kind}: ${JSON.stringify(r)}`;
          assert.ok(r.sent > 0, where);
          assert.equal(r.expected, r.sent * (scenario === "fanout" ? 19 : 9), where);
          assert.equal(r.received, r.expected, where);
          assert.equal(r.lost, 0, where);
          assert.equal(r.duplicates, 0, where);
          assert.equal(r.failedConnections, 0, where);
          assert.ok(r.genCpu >= 0 && r.serverCpu >= 0, where);
        }
      }
      for (const kind of ["baseline", "fanout"] as const) {
        assert.equal(rows.idle[kind][0].connections, 50);
        assert.equal(rows.idle[kind][0].failed, 0);
        assert.ok(rows.idle[kind][0].rssAfter > 0);
        assert.equal(rows.connect[kind][0].failed, 0);
        assert.equal(rows["join-storm"][kind][0].connections, 50);
      }
      const storm = rows["join-storm"].fanout[0];
      assert.ok(storm.presenceFrames >= 1, `no presence frames: ${JSON.stringify(storm)}`);
      assert.ok(storm.presenceFrames <= 5 * 50, `presence is not O(N): ${JSON.stringify(storm)}`);
    } finally {
      await Deno.remove(json);
    }
  },
});
