/**
 * Runs one hostile scenario against a Fanout process: starts it with a memory limit (and the
 * real per-address limits unless told otherwise), measures its idle RSS, starts the witness,
 * runs the attack while sampling RSS, then checks that the process still answers `/healthz`,
 * and returns a report: what the attacker got, peak RSS against limit + base, the witness's
 * figures, the `/metrics` values and the checks (each a sentence, and whether it held).
 *
 * @module
 */

import { loadConfig } from "../../lib/shared/config.ts";
import { type ProcessServer, startProcessServer } from "../helpers/process_server.ts";
import { mib, readMetrics, readRss, RssSampler, sourceAddress, Tally } from "./hostile_probe.ts";
import { Witness, type WitnessFigures } from "./hostile_witness.ts";

/**
 * One expectation of a scenario and whether it held.
 *
 * @example
 * ```ts
 * const check: Check = { what: "attacker refused 429", ok: true, got: "429×12" };
 * ```
 */
export interface Check {
  what: string;
  ok: boolean;
  got: string;
}

/**
 * What a scenario's attack returns to the runner.
 *
 * @example
 * ```ts
 * const outcome: AttackOutcome = { got: new Tally(), checks: [], details: {} };
 * ```
 */
export interface AttackOutcome {
  /** What the attacker got, by label. */
  got: Tally;
  /** The row's own expectations (the exact refusal). */
  checks: Check[];
  /** Figures for the report (counts, timings). */
  details: Record<string, number | string>;
}

/**
 * The report of one scenario.
 *
 * @example
 * ```ts
 * report.checks.filter((c) => !c.ok); // what failed
 * ```
 */
export interface HostileReport {
  row: string;
  attack: string;
  got: string;
  memoryLimitMb: number;
  /** Idle RSS measured after start, MiB: the allowance above the memory limit. */
  baseMb: number;
  peakMb: number;
  witness: WitnessFigures;
  metrics: Record<string, number>;
  healthz: number;
  details: Record<string, number | string>;
  checks: Check[];
  seconds: number;
  /** The server's output (stdout and stderr), read after it stopped. */
  output: string;
}

/** What the attack may use. */
export interface HostileContext {
  server: ProcessServer;
  port: number;
  metricsUrl: string;
  /** The configuration the scenario means the server to run with (`loadConfig` of its env). */
  config: ReturnType<typeof loadConfig>;
  /** The attack's `i`-th source address (the witness is 127.0.0.1). */
  address(i: number): string;
}

/** Options of {@linkcode runHostile}. */
export interface HostileSpec {
  row: string;
  attack: string;
  memoryLimitMb: number;
  env?: Record<string, string>;
  /**
   * Environment for the server only, on top of `env`: the checks keep expecting what `env`
   * says. To loosen a limit and see a check fail (e.g. `{ MAX_CONNECTIONS_PER_IP: "100000" }`).
   */
  serverEnv?: Record<string, string>;
  maxOpenFiles?: number;
  /** Witness messages every this many ms (default 100). */
  witnessEveryMs?: number;
  /** Largest witness latency allowed, ms (default 2000). */
  maxLatencyMs?: number;
  run(ctx: HostileContext): Promise<AttackOutcome>;
  /** Checks of what the server printed, once it stopped (its logs are flushed then). */
  afterStop?(
    output: string,
    metrics: Record<string, number>,
    config: HostileContext["config"],
  ): Check[];
}

const DEFAULTS = loadConfig({});

/**
 * The per-address limits at their defaults, to undo the raised ones of the test helpers.
 *
 * @example
 * ```ts
 * runHostile({ ..., env: { ...REAL_ADDRESS_LIMITS, MAX_CONNECTIONS_PER_IP: "8" } });
 * ```
 */
export const REAL_ADDRESS_LIMITS: Record<string, string> = {
  MAX_CONNECTIONS_PER_IP: String(DEFAULTS.maxConnectionsPerIp),
  HANDSHAKE_RATE_PER_IP: String(DEFAULTS.handshakeRatePerIp),
  HANDSHAKE_BURST_PER_IP: String(DEFAULTS.handshakeBurstPerIp),
  NEW_ROOMS_PER_MINUTE_PER_IP: String(DEFAULTS.newRoomsPerMinutePerIp),
  RATE_LIMIT_PER_IP: String(DEFAULTS.rateLimitPerIp),
  RATE_BURST_PER_IP: String(DEFAULTS.rateBurstPerIp),
};

async function healthz(server: ProcessServer): Promise<number> {
  try {
    const res = await fetch(server.httpUrl("/healthz"), { signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

/** Which engine a scenario runs against: the default memory engine, or the KV engine. */
export type HostileEngine = "memory" | "kv";

/**
 * The environment of a run on `engine` on top of the scenario's `env`: for the KV engine, a
 * fresh file under `data/` (where the start task may write) and its bounds as tight as the
 * memory engine's: `KV_HISTORY_MB` as `HISTORY_MEMORY_MB`, `KV_MAX_ROOMS` at its least,
 * `MAX_ROOMS`; `remove` deletes the file.
 *
 * @example
 * ```ts
 * const kv = engineEnv("kv", { MEMORY_LIMIT_MB: "128" }); // ENGINE, KV_PATH, KV_HISTORY_MB, ...
 * await kv.remove();
 * ```
 */
export function engineEnv(
  engine: HostileEngine,
  env: Record<string, string>,
): { env: Record<string, string>; remove(): Promise<void> } {
  if (engine === "memory") return { env: {}, remove: () => Promise.resolve() };
  const config = loadConfig(env);
  const data = new URL("../../data/", import.meta.url);
  Deno.mkdirSync(data, { recursive: true });
  const file = `hostile-kv-${crypto.randomUUID().slice(0, 8)}.sqlite3`;
  return {
    env: {
      ENGINE: "kv",
      KV_PATH: `data/${file}`,
      KV_HISTORY_MB: String(config.historyBytes / (1024 * 1024)),
      KV_MAX_ROOMS: String(config.maxRooms),
    },
    async remove() {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) {
        await Deno.remove(new URL(file + suffix, data)).catch(() => {});
      }
    },
  };
}

/**
 * Runs `spec.run` against a fresh server (on `engine`, default memory) and reports.
 *
 * @example
 * ```ts
 * const report = await runHostile({ row: "7", attack: "10 000 sockets", memoryLimitMb: 128,
 *   run: async (ctx) => ({ got: new Tally(), checks: [], details: {} }) });
 * ```
 */
export async function runHostile(
  spec: HostileSpec,
  engine: HostileEngine = "memory",
): Promise<HostileReport> {
  const scenarioEnv = {
    ...REAL_ADDRESS_LIMITS,
    MEMORY_LIMIT_MB: String(spec.memoryLimitMb),
    ...spec.env,
  };
  const store = engineEnv(engine, scenarioEnv);
  const env = { ...scenarioEnv, ...store.env };
  try {
    return await runOn(spec, env, engine);
  } finally {
    await store.remove();
  }
}

async function runOn(
  spec: HostileSpec,
  env: Record<string, string>,
  engine: HostileEngine,
): Promise<HostileReport> {
  const started = performance.now();
  const server = await startProcessServer({
    env: { ...env, ...spec.serverEnv },
    maxOpenFiles: spec.maxOpenFiles,
  });
  const config = loadConfig({ ...env, PORT: "0" });
  const metricsUrl = server.httpUrl("/metrics");
  let witness: Witness | null = null;
  let sampler: RssSampler | null = null;
  try {
    witness = await Witness.start(server.wsUrl, { everyMs: spec.witnessEveryMs });
    await new Promise((r) => setTimeout(r, 300));
    const base = (await readRss(server.pid)).rss;
    sampler = new RssSampler(server.pid, 100);
    const outcome = await spec.run({
      server,
      port: server.port,
      metricsUrl,
      config,
      address: sourceAddress,
    });
    const figures = await witness.stop();
    witness = null;
    const status = await healthz(server);
    const metrics: Record<string, number> = await readMetrics(metricsUrl).catch(() => ({}));
    const peak = await sampler.stop();
    sampler = null;
    await server.stop();
    const maxLatency = spec.maxLatencyMs ?? 2000;
    const bound = spec.memoryLimitMb + mib(base);
    const checks: Check[] = [
      {
        what: "process alive: /healthz 200 after the attack",
        ok: status === 200,
        got: `${status}`,
      },
      {
        what: `peak RSS under MEMORY_LIMIT_MB ${spec.memoryLimitMb} + idle base ${mib(base)} MiB`,
        ok: mib(peak) < bound,
        got: `${mib(peak)} MiB`,
      },
      {
        what: "witness: every message acked and delivered, never closed",
        ok: figures.sent > 0 && figures.delivered === figures.sent &&
          figures.acked === figures.sent && figures.closed === null,
        got: `sent ${figures.sent}, acked ${figures.acked}, delivered ${figures.delivered}` +
          (figures.closed === null ? "" : `, closed ${figures.closed}`),
      },
      {
        what: `witness latency max under ${maxLatency} ms`,
        ok: figures.max < maxLatency,
        got: `p50 ${figures.p50} p99 ${figures.p99} max ${figures.max} ms`,
      },
      ...outcome.checks,
      ...(spec.afterStop?.(server.output(), metrics, config) ?? []),
    ];
    if (engine === "kv") {
      checks.push({
        what: `KV: rooms on disk at most KV_MAX_ROOMS (${config.kvMaxRooms}), bytes at most ` +
          `KV_HISTORY_MB (${mib(config.kvHistoryBytes)} MiB) at the end`,
        ok: (metrics.fanout_kv_disk_rooms ?? Infinity) <= config.kvMaxRooms &&
          (metrics.fanout_kv_disk_bytes ?? Infinity) <= config.kvHistoryBytes,
        got: `${metrics.fanout_kv_disk_rooms} rooms, ${mib(metrics.fanout_kv_disk_bytes ?? 0)} MiB`,
      });
    }
    return {
      row: engine === "kv" ? `${spec.row} (KV)` : spec.row,
      attack: spec.attack,
      got: outcome.got.toString(),
      memoryLimitMb: spec.memoryLimitMb,
      baseMb: mib(base),
      peakMb: mib(peak),
      witness: figures,
      metrics,
      healthz: status,
      details: outcome.details,
      checks,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      output: server.output(),
    };
  } finally {
    await witness?.stop(0).catch(() => {});
    await sampler?.stop();
    await server.stop();
  }
}

/**
 * One line per report for a log: row, what the attacker got, memory, witness, failed checks.
 *
 * @example
 * ```ts
 * console.log(describeReport(report));
 * ```
 */
export function describeReport(r: HostileReport): string {
  const failed = r.checks.filter((c) => !c.ok);
  const w = r.witness;
  return [
    `row ${r.row} (${r.attack}, ${r.seconds} s): attacker got ${r.got || "nothing"}`,
    `  RSS peak ${r.peakMb} MiB (limit ${r.memoryLimitMb} + base ${r.baseMb})`,
    `  witness ${w.delivered}/${w.sent} delivered, p50 ${w.p50} p99 ${w.p99} max ${w.max} ms`,
    `  details ${JSON.stringify(r.details)}`,
    ...failed.map((c) => `  FAILED: ${c.what}: got ${c.got}`),
  ].join("\n");
}
