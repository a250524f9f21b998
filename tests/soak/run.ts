/**
 * `deno task soak`: the long version of the robustness suite, against a real server process
 * (`deno run main.ts` with the permissions of `deno task start` on a free port). Phases: zero-loss load with thousands of receivers,
 * then proxy-cut chaos for longer (all, one, some, or a stalled sender cut at a time). Prints figures and exits 1 if anything was lost, duplicated
 * or out of order. Every phase is bounded in time.
 *
 *     deno task soak --clients 2000 --senders 4 --seconds 60 --rate 10 --chaos-seconds 30
 *
 * With `--hostile` it runs the hostile-internet scenarios of issue 11 at full size instead
 * (`tests/soak/hostile_soak.ts`): `deno task soak --hostile [--rows 1,5,combined] [--ci]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startProcessServer } from "../helpers/process_server.ts";
import { runProxyChaos } from "../robustness/chaos_scenario.ts";
import { formatReport, runLoad } from "../robustness/load_scenario.ts";
import { describeReport } from "../robustness/hostile_run.ts";
import { hostileTable, runHostileSoak } from "./hostile_soak.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "2000" },
    senders: { type: "string", default: "4" },
    seconds: { type: "string", default: "60" },
    rate: { type: "string", default: "10" },
    "text-bytes": { type: "string", default: "100" },
    "chaos-seconds": { type: "string", default: "30" },
    "chaos-receivers": { type: "string", default: "20" },
    seed: { type: "string", default: String(Date.now() % 100_000) },
    hostile: { type: "boolean", default: false },
    rows: { type: "string", default: "" },
    ci: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    "deno task soak [--clients N] [--senders S] [--seconds T] [--rate msgs/s per sender]\n" +
      "               [--text-bytes B] [--chaos-seconds C] [--chaos-receivers R] [--seed X]\n" +
      "--seconds 0 or --chaos-seconds 0 skips that phase.\n" +
      "deno task soak --hostile [--rows 1,5,combined] [--ci]: the hostile-internet scenarios\n" +
      "(issue 11) at full size (--ci: at the test suite's size), as a Markdown table.",
  );
  Deno.exit(0);
}
if (values.hostile) {
  const reports = await runHostileSoak({
    size: values.ci ? "ci" : "full",
    rows: values.rows.split(",").map((r) => r.trim()).filter(Boolean),
    onReport: (r) => console.log(describeReport(r)),
  });
  console.log(`\n${hostileTable(reports)}\n`);
  const failed = reports.flatMap((r) =>
    r.checks.filter((c) => !c.ok).map((c) => `row ${r.row}: ${c.what}: got ${c.got}`)
  );
  for (const line of failed) console.log(`FAILED ${line}`);
  console.log(failed.length ? "soak --hostile: FAIL" : "soak --hostile: PASS");
  Deno.exit(failed.length ? 1 : 0);
}
const num = (name: keyof typeof values) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < 0) {
    throw new RangeError(`--${name} must be a number, got ${values[name]}`);
  }
  return n;
};

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(text.match(new RegExp(`^${name} (\\d+)`, "m"))?.[1] ?? NaN);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
let failed = false;
const server = await startProcessServer({
  env: {
    RATE_LIMIT: String(Math.max(20, num("rate") * 2)),
    RATE_BURST: String(Math.max(40, num("rate") * 4)),
    MAX_CONNECTIONS: String(num("clients") + num("senders") + 1000),
  },
});
const base = server.httpUrl("").replace(/\/$/, "");
try {
  const rssStart = await metric(base, "process_resident_memory_bytes");
  console.log(`soak: server pid on port ${server.port}, RSS ${mb(rssStart)}`);
  if (num("seconds") > 0) {
    const report = await runLoad({
      wsUrl: server.wsUrl,
      receivers: num("clients"),
      senders: num("senders"),
      seconds: num("seconds"),
      rate: num("rate"),
      textBytes: num("text-bytes"),
      settleMs: 60_000,
    });
    const rss = await metric(base, "process_resident_memory_bytes");
    console.log(`load: ${formatReport(report)}; server RSS ${mb(rss)}`);
    const ok = report.violations.length === 0 && report.dropped === 0 &&
      report.deliveries === report.expectedDeliveries && report.accepted === report.sent &&
      report.senderDeliveries === report.expectedSenderDeliveries;
    console.log(`load: ${ok ? "PASS" : "FAIL"}`);
    failed ||= !ok;
  }
  if (num("chaos-seconds") > 0) {
    const report = await runProxyChaos({
      targetPort: server.port,
      seconds: num("chaos-seconds"),
      senders: 2,
      receivers: num("chaos-receivers"),
      seed: num("seed"),
    });
    console.log(
      `chaos (seed ${report.seed}): ${report.cuts} cuts ${JSON.stringify(report.cutsByKind)}, ` +
        `${report.severed} connections severed, ${report.replays} replays, ` +
        `${report.connects} connects, ${report.acked}/${report.sent} acked; ` +
        `problems: ${report.problems.join("; ") || "none"}`,
    );
    console.log(`chaos: ${report.problems.length === 0 ? "PASS" : "FAIL"}`);
    failed ||= report.problems.length > 0;
  }
  const rssEnd = await metric(base, "process_resident_memory_bytes");
  const slow = await metric(base, "fanout_slow_consumers_total");
  console.log(`soak: server RSS ${mb(rssStart)} → ${mb(rssEnd)}, slow consumers closed: ${slow}`);
} catch (err) {
  console.error(`soak: error: ${err instanceof Error ? err.stack : err}`);
  failed = true;
} finally {
  await server.stop();
  if (failed) console.log(`server output (tail):\n${server.output().slice(-3000)}`);
}
console.log(failed ? "soak: FAIL" : "soak: PASS");
Deno.exit(failed ? 1 : 0);
