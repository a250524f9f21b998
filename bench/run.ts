/**
 * `deno task bench`: starts Fanout (`main.ts`, JSON mode) and the naive baseline as
 * subprocesses, A/B interleaved with a fresh server per run, the server pinned to core 0 and this
 * load generator to core 1, runs the scenarios, and prints Markdown tables (absolute figures and
 * ratios to the baseline). Flags:
 * `--scenario fanout|fanout-100|fanout-rate|idle|connect|join-storm|all`, `--clients`,
 * `--senders`, `--seconds`, `--inflight`, `--rate`, `--rounds`, `--quick`, `--parallel` (Fanout
 * under `deno serve --parallel` with Redis), `--serve` (Fanout under `deno serve serve.ts`, one
 * process, pinned), `--json <file>`.
 *
 * @example
 * ```sh
 * deno task bench --scenario fanout --clients 1000 --senders 10 --seconds 10
 * ```
 *
 * @module
 */

import { runConnect, runIdle, runJoinStorm } from "./connect_scenarios.ts";
import { runFanout } from "./fanout_scenario.ts";
import { type Column, table } from "./report.ts";
import { canPin, pinSelf, type ServerKind, startServer } from "./servers.ts";
import { parseFlags, type Scenario, scenarioParams } from "./flags.ts";

const FANOUT_COLUMNS: Column[] = [
  { key: "deliveriesPerSec", label: "deliveries/s" },
  { key: "p50", label: "p50 latency (ms)", digits: 1 },
  { key: "p90", label: "p90 latency (ms)", digits: 1 },
  { key: "p99", label: "p99 latency (ms)", digits: 1 },
  { key: "max", label: "max latency (ms)", digits: 1 },
  { key: "sent", label: "messages sent" },
  { key: "expected", label: "deliveries expected" },
  { key: "received", label: "deliveries received" },
  { key: "lost", label: "lost" },
  { key: "duplicates", label: "duplicates" },
  { key: "perFrame", label: "deliveries per frame", digits: 1 },
  { key: "serverCpu", label: "server CPU (% of a core)" },
  { key: "serverNsPerDelivery", label: "server CPU per delivery (ns)" },
  { key: "genCpu", label: "load generator CPU (% of a core)" },
  { key: "otherCpu", label: "other processes' CPU meanwhile (% of a core)" },
  { key: "failedConnections", label: "failed connections" },
];
const COLUMNS: Record<Scenario, Column[]> = {
  "fanout": FANOUT_COLUMNS,
  "fanout-100": FANOUT_COLUMNS,
  "fanout-rate": FANOUT_COLUMNS,
  "idle": [
    { key: "connections", label: "idle connections held" },
    { key: "failed", label: "failed connections" },
    { key: "rssPerConnection", label: "server RSS per connection (bytes)" },
    { key: "rssAfter", label: "server RSS with all connected (bytes)" },
  ],
  "connect": [
    { key: "perSec", label: "connections accepted/s" },
    { key: "serverCpu", label: "server CPU (% of a core)" },
    { key: "serverUsPerConnection", label: "server CPU per connection (µs)" },
    { key: "failed", label: "failed connections" },
  ],
  "join-storm": [
    { key: "allUpgradedMs", label: "time until all upgraded (101) (ms)" },
    { key: "allWelcomedMs", label: "time until all welcomed (ms)" },
    { key: "presenceFrames", label: "presence frames (server)" },
    { key: "framesPerClient", label: "frames per client after welcome" },
    { key: "failed", label: "failed connections" },
  ],
};

async function runOne(kind: ServerKind, scenario: Scenario, flags: ReturnType<typeof parseFlags>) {
  const p = scenarioParams(scenario, flags);
  const server = await startServer(kind, { cpu: "0" });
  try {
    // Warm-up (JIT, lazily loaded code), the same for both servers; not measured.
    await runConnect(server, flags.quick ? 20 : 300);
    switch (scenario) {
      case "fanout":
      case "fanout-100":
      case "fanout-rate":
        return { ...await runFanout(server, p) };
      case "idle":
        return { ...await runIdle(server, p.clients) };
      case "connect":
        return { ...await runConnect(server, p.clients) };
      case "join-storm":
        return { ...await runJoinStorm(server, p.clients) };
    }
  } finally {
    await server.stop();
  }
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const pinned = canPin() && await pinSelf("1");
  const results: Record<
    string,
    { baseline: Record<string, number>[]; fanout: Record<string, number>[] }
  > = {};
  console.log(
    `# Fanout benchmark (${new Date().toISOString()}, ${navigator.hardwareConcurrency} cores, ` +
      `pinned: ${pinned ? "server core 0, generator core 1" : "no"}, rounds: ${flags.rounds})\n`,
  );
  for (const scenario of flags.scenarios) {
    const out = results[scenario] = {
      baseline: [] as Record<string, number>[],
      fanout: [] as Record<string, number>[],
    };
    const p = scenarioParams(scenario, flags);
    for (let round = 0; round < flags.rounds; round++) {
      const order = round % 2 === 0
        ? ["baseline", "fanout"] as const
        : ["fanout", "baseline"] as const;
      for (const column of order) {
        const kind: ServerKind = column === "baseline"
          ? column
          : flags.parallel
          ? "fanout-parallel"
          : flags.serve
          ? "fanout-serve"
          : column;
        out[column].push(await runOne(kind, scenario, flags));
      }
    }
    const what = scenario.startsWith("fanout")
      ? `${p.clients} clients, ${p.senders} senders, ` +
        (p.rate > 0 ? `${p.rate} msg/s each` : `${p.inflight} in flight each`) + `, ${p.seconds} s`
      : `${p.clients} clients`;
    const where = flags.parallel
      ? "; Fanout: deno serve --parallel + Redis, not pinned"
      : flags.serve
      ? "; Fanout: deno serve serve.ts (Deno's server and sockets)"
      : "";
    console.log(
      table(`${scenario} (${what}${where})`, COLUMNS[scenario], out.baseline, out.fanout),
    );
  }
  if (flags.json) await Deno.writeTextFile(flags.json, JSON.stringify(results, null, 2));
}
