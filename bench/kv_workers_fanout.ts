/**
 * The `fanout` scenario on the KV engine, two ways, A/B interleaved with a fresh server and a
 * fresh KV file (under `data/`) per run: one process (`main.ts`, pinned to core 0, as `deno task
 * bench` runs Fanout) beside `deno serve --parallel serve.ts` with `DENO_JOBS` workers on one KV
 * file (not pinned: it needs every core), or with `--own` beside `WORKERS=N deno task start`
 * (Fanout's own server in each worker, `reusePort`; not pinned either). The load generator is
 * pinned to core 1. Flags: `--clients`, `--senders`, `--inflight`, `--seconds`, `--rounds`,
 * `--workers`, `--own`, `--quick`.
 *
 * @example
 * ```sh
 * deno run -A bench/kv_workers_fanout.ts --clients 1000 --senders 10 --inflight 16 --seconds 10
 * ```
 *
 * @module
 */

import { runConnect } from "./connect_scenarios.ts";
import { FANOUT_COLUMNS, runFanout } from "./fanout_scenario.ts";
import { table } from "./report.ts";
import { canPin, kvStore, pinSelf, type ServerKind, startServer } from "./servers.ts";

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`--${name} must be a positive integer, got "${args[i + 1]}"`);
  }
  return value;
}

/** How the server runs: one process, `deno serve --parallel`, or `WORKERS` under `main.ts`. */
type Mode = "one" | "serve" | "own";

async function runOne(mode: Mode, workers: number, p: Parameters<typeof runFanout>[1]) {
  const kv = kvStore();
  const kind: ServerKind = mode === "serve" ? "fanout-parallel" : "fanout";
  const env = mode === "serve"
    ? { ...kv.env, DENO_JOBS: String(workers) }
    : mode === "own"
    ? { ...kv.env, WORKERS: String(workers) }
    : kv.env;
  // Only the one process is pinned (to core 0): the workers need every core.
  const server = await startServer(kind, { cpu: mode === "one" ? "0" : undefined, env });
  try {
    await runConnect(server, 300); // warm-up, as deno task bench does
    return { ...await runFanout(server, p) };
  } finally {
    await server.stop();
    await kv.remove();
  }
}

if (import.meta.main) {
  const args = Deno.args;
  const quick = args.includes("--quick");
  const p = {
    clients: flag(args, "clients", quick ? 20 : 1000),
    senders: flag(args, "senders", quick ? 2 : 10),
    inflight: flag(args, "inflight", quick ? 4 : 16),
    seconds: flag(args, "seconds", quick ? 1 : 10),
    rate: 0,
  };
  const rounds = flag(args, "rounds", 1);
  const workers = flag(args, "workers", 2);
  const mode: Mode = args.includes("--own") ? "own" : "serve";
  const pinned = canPin() && await pinSelf("1");
  console.log(
    `# KV engine: one process beside ${workers} workers (${new Date().toISOString()}, ` +
      `${navigator.hardwareConcurrency} cores, generator pinned: ${pinned ? "core 1" : "no"})\n`,
  );
  const one: Record<string, number>[] = [];
  const many: Record<string, number>[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ["one", "many"] : ["many", "one"];
    for (const which of order) {
      if (which === "one") one.push(await runOne("one", workers, p));
      else many.push(await runOne(mode, workers, p));
    }
  }
  const what = `${p.clients} clients, ${p.senders} senders, ${p.inflight} in flight each, ` +
    `${p.seconds} s, ENGINE=kv`;
  console.log(table(`fanout (${what})`, FANOUT_COLUMNS, one, many, {
    first: "one process (main.ts, core 0)",
    second: mode === "serve"
      ? `${workers} workers (deno serve --parallel)`
      : `${workers} workers (WORKERS, main.ts)`,
    ratio: "workers / one",
  }));
}
