/**
 * `deno task bench`: starts Fanout (`main.ts`, JSON mode) and the naive baseline as
 * subprocesses, A/B interleaved with a fresh server per run, the server pinned to core 0 and this
 * load generator to core 1, runs the scenarios, and prints Markdown tables (absolute figures and
 * ratios to the baseline). Flags:
 * `--scenario fanout|fanout-100|fanout-rate|idle|connect|join-storm|api-publish|rooms|restart|all`,
 * `--clients`, `--senders`, `--seconds`, `--inflight`, `--rate`, `--messages` (`api-publish`,
 * `restart`), `--rooms` (`rooms`, `restart`), `--rounds`, `--quick`, `--parallel` (Fanout
 * under `deno serve --parallel` with Redis), `--serve` (Fanout under `deno serve serve.ts`, one
 * process, pinned), `--plain` (Fanout's plain mode against its JSON mode, no baseline),
 * `--peer "<command>"` (another server, e.g. Bun's from `../shared/peers/`, in the baseline's
 * place; with `--plain`, against Fanout's plain mode), `--engine kv` (Fanout on the KV engine
 * against Fanout on the memory engine, no baseline; `restart` always compares the two),
 * `--against <dir>` (another checkout's `main.ts` in the baseline's place: two versions of Fanout
 * in one run), `--json <file>`.
 *
 * @example
 * ```sh
 * deno task bench --scenario fanout --clients 1000 --senders 10 --seconds 10
 * ```
 *
 * @module
 */

import { API_ENV, runApiPublish } from "./api_publish_scenario.ts";
import { runConnect, runConnectPasses, runIdle, runJoinStorm } from "./connect_scenarios.ts";
import { FANOUT_COLUMNS, runFanout } from "./fanout_scenario.ts";
import { roomsEnv, roomsLayout, type RoomsPhase, runRoomsPhase } from "./rooms_scenario.ts";
import { runRestart } from "./restart_scenario.ts";
import { type Column, table } from "./report.ts";
import { canPin, kvStore, pinSelf, type ServerKind, startServer } from "./servers.ts";
import { type Flags, parseFlags, type Scenario, scenarioParams } from "./flags.ts";

const RESTART_COLUMNS: Column[] = [
  { key: "startEmptyMs", label: "start on an empty store: spawn to /healthz 200 (ms)" },
  { key: "fillPerSec", label: "fill: messages acknowledged/s" },
  { key: "filled", label: "messages acknowledged" },
  { key: "storeBytes", label: "KV file at the kill (bytes)" },
  { key: "healthzMs", label: "restart after kill -9: spawn to /healthz 200 (ms)" },
  { key: "recoverMs", label: "restart: spawn to the resuming client's welcome (ms)" },
  { key: "recovered", label: "welcome recovered (1 yes, 0 no)" },
  { key: "missed", label: "messages the client missed" },
  { key: "missedReceived", label: "missed messages in its welcome, exactly" },
  { key: "rssAfter", label: "server RSS after the resume (bytes)" },
];
const API_COLUMNS: Column[] = [
  { key: "perSec", label: "messages/s (HTTP: requests/s)" },
  { key: "ackP50", label: "ack/response p50 (ms)", digits: 1 },
  { key: "ackP90", label: "ack/response p90 (ms)", digits: 1 },
  { key: "ackP99", label: "ack/response p99 (ms)", digits: 1 },
  { key: "p50", label: "delivery p50 (ms)", digits: 1 },
  { key: "p90", label: "delivery p90 (ms)", digits: 1 },
  { key: "p99", label: "delivery p99 (ms)", digits: 1 },
  { key: "max", label: "delivery max (ms)", digits: 1 },
  { key: "deliveriesPerSec", label: "deliveries/s" },
  { key: "sent", label: "messages sent" },
  { key: "errors", label: "failed requests" },
  { key: "expected", label: "deliveries expected" },
  { key: "received", label: "deliveries received" },
  { key: "lost", label: "lost" },
  { key: "duplicates", label: "duplicates" },
  { key: "serverCpu", label: "server CPU (% of a core)" },
  { key: "serverUsPerMessage", label: "server CPU per message (µs)", digits: 1 },
  { key: "genCpu", label: "load generator CPU (% of a core)" },
  { key: "otherCpu", label: "other processes' CPU meanwhile (% of a core)" },
  { key: "failedConnections", label: "failed connections" },
];
const ROOMS_COLUMNS: Column[] = [
  { key: "connections", label: "connections" },
  { key: "memberships", label: "room memberships" },
  { key: "rooms", label: "rooms (server)" },
  { key: "joinMs", label: "time until all joined (ms)" },
  { key: "joinServerUsPerMembership", label: "server CPU to join, per membership (µs)", digits: 1 },
  { key: "rssAfter", label: "server RSS with all joined (bytes)" },
  { key: "rssPerConnection", label: "server RSS per connection (bytes)" },
  { key: "rssPerMembership", label: "server RSS per room membership (bytes)" },
  { key: "heapAfter", label: "server JS heap in use with all joined (bytes)" },
  { key: "heapPerMembership", label: "server JS heap in use per room membership (bytes)" },
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
  { key: "refused", label: "refused frames and handshakes (server)" },
];
/** Passes of `connect` after its first (the warm figures are their median). */
const CONNECT_WARM_PASSES = 3;

/** How long the `idle` scenario waits after the last welcome before its settled reading. */
const IDLE_SETTLE_SECONDS = 40;

/**
 * `idle` runs Fanout without its start-up warm-up: the heap the warm-up's throwaway server left
 * would be in the RSS read before the connections, and they would fill it (10,000 connections:
 * 7.1 KB each with the warm-up, 10.0 without, for about the same RSS with all connected).
 */
const IDLE_ENV: Record<string, string> = { WARM_UP_HANDSHAKES: "0" };

/** The scenarios that compare the baseline with Fanout (all but `api-publish`, `rooms`, `restart`). */
type ServerScenario = Exclude<Scenario, "api-publish" | "rooms" | "restart">;
const COLUMNS: Record<ServerScenario, Column[]> = {
  "fanout": FANOUT_COLUMNS,
  "fanout-100": FANOUT_COLUMNS,
  "fanout-rate": FANOUT_COLUMNS,
  "idle": [
    { key: "connections", label: "idle connections held" },
    { key: "failed", label: "failed connections" },
    { key: "rssPerConnection", label: "server RSS per connection (bytes)" },
    {
      key: "rssSettledPerConnection",
      label: `server RSS per connection after ${IDLE_SETTLE_SECONDS} s idle (bytes)`,
    },
    { key: "rssAfter", label: "server RSS with all connected (bytes)" },
  ],
  "connect": [
    { key: "perSec", label: "connections accepted/s (first pass)" },
    { key: "serverCpu", label: "server CPU (% of a core, first pass)" },
    { key: "serverUsPerConnection", label: "server CPU per connection (µs, first pass)" },
    { key: "perSecWarm", label: "connections accepted/s (median of the next 3 passes)" },
    {
      key: "serverUsPerConnectionWarm",
      label: "server CPU per connection (µs, median of the next 3 passes)",
    },
    { key: "serverMainUsPerConnection", label: "of which on its main thread (µs, first pass)" },
    {
      key: "serverOtherUsPerConnection",
      label: "of which on its other threads: V8's compilers, the collector (µs, first pass)",
    },
    {
      key: "serverMainUsPerConnectionWarm",
      label: "of which on its main thread (µs, median of the next 3 passes)",
    },
    {
      key: "serverOtherUsPerConnectionWarm",
      label: "of which on its other threads (µs, median of the next 3 passes)",
    },
    { key: "failedAll", label: "failed connections (every pass)" },
  ],
  "join-storm": [
    { key: "allUpgradedMs", label: "time until all upgraded (101) (ms)" },
    { key: "allWelcomedMs", label: "time until all welcomed (ms)" },
    { key: "presenceFrames", label: "presence frames (server)" },
    { key: "framesPerClient", label: "frames per client after welcome" },
    { key: "failed", label: "failed connections" },
  ],
};

type Figures = Record<string, number>;

/** The scenarios `--plain` applies to (plain mode has no welcome for `join-storm` to wait for). */
const PLAIN_SCENARIOS: readonly Scenario[] = [
  "fanout",
  "fanout-100",
  "fanout-rate",
  "idle",
  "connect",
];

/** The scenarios `--engine kv` applies to (beside `restart`, which always compares engines). */
const ENGINE_SCENARIOS: readonly Scenario[] = ["fanout", "fanout-100", "fanout-rate", "restart"];

async function runOne(
  kind: ServerKind,
  scenario: ServerScenario,
  flags: Flags,
  plain = false,
  engine: "memory" | "kv" = "memory",
  root?: string,
): Promise<Figures> {
  const p = scenarioParams(scenario, flags);
  const kv = engine === "kv" ? kvStore() : null;
  const env = { ...kv?.env, ...(scenario === "idle" ? IDLE_ENV : {}) };
  const started = await startServer(kind, { cpu: "0", env, command: flags.peer, root })
    .catch(async (err) => {
      await kv?.remove();
      throw err;
    });
  // Plain mode: the same server, its clients offering no subprotocol.
  const server = plain ? { ...started, protocol: undefined } : started;
  try {
    // Warm-up (JIT, lazily loaded code), the same for both servers; not measured.
    await runConnect(server, flags.quick ? 20 : 300);
    switch (scenario) {
      case "fanout":
      case "fanout-100":
      case "fanout-rate":
        return { ...await runFanout(server, p) };
      case "idle":
        // 40 s idle: past V8's first 30 s, when its memory reducer does not run yet.
        return { ...await runIdle(server, p.clients, flags.quick ? 0 : IDLE_SETTLE_SECONDS) };
      case "connect":
        return { ...await runConnectPasses(server, p.clients, CONNECT_WARM_PASSES) };
      case "join-storm":
        return { ...await runJoinStorm(server, p.clients) };
    }
  } finally {
    await server.stop().finally(() => kv?.remove());
  }
}

/** One round of `api-publish`: one Fanout, the HTTP phase then the socket phase. */
async function runApi(kind: ServerKind, flags: Flags): Promise<{ http: Figures; socket: Figures }> {
  const server = await startServer(kind, { cpu: "0", env: API_ENV });
  try {
    await runConnect(server, flags.quick ? 20 : 300); // the same warm-up as the other scenarios
    const r = await runApiPublish(server, scenarioParams("api-publish", flags));
    return { http: { ...r.http }, socket: { ...r.socket } };
  } finally {
    await server.stop();
  }
}

/** One phase of `rooms` on a fresh Fanout: R rooms per connection, or one room per connection. */
async function runRooms(kind: ServerKind, phase: RoomsPhase, flags: Flags): Promise<Figures> {
  const p = scenarioParams("rooms", flags);
  const server = await startServer(kind, { cpu: "0", env: roomsEnv(p.rooms) });
  try {
    await runConnect(server, flags.quick ? 20 : 300); // the same warm-up as the other scenarios
    return { ...await runRoomsPhase(server, p, phase) };
  } finally {
    await server.stop();
  }
}

/** The directory of the checkout `--against` names (with a trailing slash); throws without one. */
function checkoutRoot(dir: string): string {
  const root = new URL(`${dir.replace(/\/$/, "")}/`, `file://${Deno.cwd()}/`).pathname;
  for (const file of ["main.ts", "deno.json"]) {
    try {
      Deno.statSync(`${root}${file}`);
    } catch {
      throw new Error(`--against ${dir}: no ${file} in ${root}: not a checkout of Fanout`);
    }
  }
  return root;
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const pinned = canPin() && await pinSelf("1");
  // Per scenario, per column (baseline and fanout; http and socket for api-publish), per round.
  const results: Record<string, Record<string, Figures[]>> = {};
  console.log(
    `# Fanout benchmark (${new Date().toISOString()}, ${navigator.hardwareConcurrency} cores, ` +
      `pinned: ${pinned ? "server core 0, generator core 1" : "no"}, rounds: ${flags.rounds})\n`,
  );
  const fanoutKind: ServerKind = flags.parallel
    ? "fanout-parallel"
    : flags.serve
    ? "fanout-serve"
    : "fanout";
  const where = flags.parallel
    ? "; Fanout: deno serve --parallel + Redis, not pinned"
    : flags.serve
    ? "; Fanout: deno serve serve.ts (Deno's server and sockets)"
    : "";
  const againstRoot = flags.against === undefined ? undefined : checkoutRoot(flags.against);
  const peer = flags.peer
    ? `; baseline: ${flags.peer.join(" ")}`
    : againstRoot
    ? `; baseline: Fanout at ${againstRoot}`
    : "";
  for (const scenario of flags.scenarios) {
    const p = scenarioParams(scenario, flags);
    if (flags.plain && !PLAIN_SCENARIOS.includes(scenario)) {
      console.log(`### ${scenario}: skipped (--plain applies to ${PLAIN_SCENARIOS.join(", ")})\n`);
      continue;
    }
    if (flags.engine === "kv" && !ENGINE_SCENARIOS.includes(scenario)) {
      console.log(
        `### ${scenario}: skipped (--engine kv applies to ${ENGINE_SCENARIOS.join(", ")})\n`,
      );
      continue;
    }
    if (
      againstRoot && (scenario === "restart" || scenario === "api-publish" || scenario === "rooms")
    ) {
      console.log(`### ${scenario}: skipped (--against compares the scenarios with a baseline)\n`);
      continue;
    }
    if (scenario === "restart") {
      const out = results[scenario] = { memory: [] as Figures[], kv: [] as Figures[] };
      const rp = { rooms: p.rooms, messages: p.messages, inflight: p.inflight };
      for (let round = 0; round < flags.rounds; round++) {
        const order = round % 2 === 0 ? ["memory", "kv"] as const : ["kv", "memory"] as const;
        for (const engine of order) out[engine].push({ ...await runRestart(engine, rp) });
      }
      const what = `${p.rooms} rooms filled to HISTORY_SIZE ${p.messages} messages, ` +
        `${p.inflight} in flight per room, kill -9, restart, one client resumes ` +
        `with since+epoch; Fanout main.ts on each engine`;
      console.log(table(`${scenario} (${what})`, RESTART_COLUMNS, out.memory, out.kv, {
        first: "memory",
        second: "KV",
        ratio: "KV / memory",
      }));
      continue;
    }
    if (scenario === "api-publish") {
      const out = results[scenario] = { http: [] as Figures[], socket: [] as Figures[] };
      for (let round = 0; round < flags.rounds; round++) {
        const r = await runApi(fanoutKind, flags);
        out.http.push(r.http);
        out.socket.push(r.socket);
      }
      const what = `${p.clients} members, ${p.messages} messages per phase, ${p.inflight} in ` +
        `flight, at most ${p.seconds} s per phase; Fanout only: the naive baseline has no ` +
        `server API${where}`;
      console.log(table(`${scenario} (${what})`, API_COLUMNS, out.socket, out.http, {
        first: "WebSocket (JSON, acks)",
        second: "HTTP POST",
        ratio: "HTTP / WebSocket",
      }));
      continue;
    }
    if (scenario === "rooms") {
      const out = results[scenario] = { many: [] as Figures[], single: [] as Figures[] };
      for (let round = 0; round < flags.rounds; round++) {
        const order = round % 2 === 0 ? ["many", "single"] as const : ["single", "many"] as const;
        for (const phase of order) out[phase].push(await runRooms(fanoutKind, phase, flags));
      }
      const layout = roomsLayout(p.clients, p.rooms);
      const members = p.clients * p.rooms / layout.count;
      const what = `${p.clients} connections in ${p.rooms} rooms each against ` +
        `${p.clients * p.rooms} single-room connections, ${layout.count} rooms of about ` +
        `${Math.round(members)} members, ${p.senders} senders, ${p.inflight} in flight each, ` +
        `${p.seconds} s; Fanout only: the naive baseline has no rooms protocol${where}`;
      console.log(table(`${scenario} (${what})`, ROOMS_COLUMNS, out.many, out.single, {
        first: `${p.rooms} rooms per connection`,
        second: "1 room per connection",
        ratio: "1 room / " + `${p.rooms} rooms`,
      }));
      continue;
    }
    // `--plain`: "baseline" holds Fanout in JSON mode (the peer with `--peer`), "fanout" Fanout
    // in plain mode.
    const out = results[scenario] = { baseline: [] as Figures[], fanout: [] as Figures[] };
    for (let round = 0; round < flags.rounds; round++) {
      const order = round % 2 === 0
        ? ["baseline", "fanout"] as const
        : ["fanout", "baseline"] as const;
      for (const column of order) {
        const versus = (flags.plain && !flags.peer) || flags.engine === "kv" ||
          againstRoot !== undefined;
        const kind: ServerKind = column === "baseline" && !versus ? column : fanoutKind;
        const engine = flags.engine === "kv" && column === "fanout" ? "kv" : "memory";
        const root = column === "baseline" ? againstRoot : undefined;
        out[column].push(
          await runOne(kind, scenario, flags, flags.plain && column === "fanout", engine, root),
        );
      }
    }
    const what = scenario.startsWith("fanout")
      ? `${p.clients} clients, ${p.senders} senders, ` +
        (p.rate > 0 ? `${p.rate} msg/s each` : `${p.inflight} in flight each`) + `, ${p.seconds} s`
      : `${p.clients} clients`;
    const heads = againstRoot
      ? { first: "Fanout there", second: "Fanout here", ratio: "here / there" }
      : flags.plain && flags.peer
      ? { first: "peer", second: "Fanout plain", ratio: "Fanout plain / peer" }
      : flags.plain
      ? { first: "Fanout JSON", second: "Fanout plain", ratio: "plain / JSON" }
      : flags.engine === "kv"
      ? { first: "Fanout memory", second: "Fanout KV", ratio: "KV / memory" }
      : undefined;
    console.log(
      table(
        `${scenario} (${what}${where}${peer})`,
        COLUMNS[scenario],
        out.baseline,
        out.fanout,
        heads,
      ),
    );
  }
  if (flags.json) await Deno.writeTextFile(flags.json, JSON.stringify(results, null, 2));
}
