/**
 * `deno task bench:js`: Fanout's own JavaScript, in one process over fake connections (no socket,
 * no kernel), for one scenario:
 *
 * - `fanout` (the default, `bench/inproc_fanout.ts`): CPU per delivery when `senders` of `clients`
 *   members of one room write `perTurn` messages each per event-loop turn (JSON mode, or plain
 *   mode with `--mode plain`);
 * - `connect` (`bench/inproc_connect.ts`): CPU per connection for `connections` handshakes into
 *   one room, `window` at a time, to their welcomes, and for their leaves.
 *
 * Runs to runs on this machine differ by about ±5 %, far less than the socket benchmark's; with
 * `--against <checkout>` it alternates runs of this checkout and another one (each in a process
 * of its own, with its own start task's V8 flags, on core 0 when `taskset` is there) and prints
 * both, which resolves 2-3 %. The other checkout needs `listen()`'s `listener` option (003cf81).
 *
 * Flags: `--scenario fanout|connect`, `--against <dir>`, `--rounds` (3); for `fanout`:
 * `--mode json|plain` (json), `--clients` (100), `--senders` (10), `--per-turn` (5), `--turns`
 * (2000 per pass), `--passes` (5; the first two are not counted); for `connect`: `--connections`
 * (2000), `--window` (50), `--passes` (8; the first three are not counted).
 *
 * @example
 * ```sh
 * deno task bench:js
 * git worktree add /tmp/before HEAD~1 && deno task bench:js --scenario connect --against /tmp/before
 * ```
 *
 * @module
 */

import { canPin } from "./servers.ts";
import { runInproc } from "./inproc_fanout.ts";
import { runInprocConnect } from "./inproc_connect.ts";
import { startFlags } from "../scripts/start_flags.ts";

/** Each scenario's flags of sizes, with their defaults. */
const SIZES = {
  fanout: { "--clients": 100, "--senders": 10, "--per-turn": 5, "--turns": 2000, "--passes": 5 },
  connect: { "--connections": 2000, "--window": 50, "--passes": 8 },
};

type Scenario = keyof typeof SIZES;

/** One run's figure compared across checkouts, and the line printed for it. */
interface Outcome {
  figure: number;
  line: string;
}

/** What the command line asks for; an unknown flag or a bad value throws, naming it. */
function parseArgs(args: string[]): {
  scenario: Scenario;
  sizes: Record<string, number>;
  worker: string;
  against: string;
  rounds: number;
  plain: boolean;
} {
  let scenario: Scenario = "fanout", worker = "", against = "", rounds = 3, plain = false;
  const given: Record<string, number> = {};
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new RangeError(`${name} needs a value`);
    if (name === "--worker") worker = value;
    else if (name === "--against") against = value;
    else if (name === "--mode") {
      if (value !== "json" && value !== "plain") {
        throw new RangeError(`--mode must be json or plain, got "${value}"`);
      }
      plain = value === "plain";
    } else if (name === "--scenario") {
      if (!(value in SIZES)) {
        throw new RangeError(`--scenario must be one of ${Object.keys(SIZES)}, got "${value}"`);
      }
      scenario = value as Scenario;
    } else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(`${name} needs a positive integer, got "${value}"`);
      }
      if (name === "--rounds") rounds = n;
      else given[name] = n;
    }
  }
  const sizes: Record<string, number> = { ...SIZES[scenario] };
  for (const [name, n] of Object.entries(given)) {
    if (!(name in sizes)) {
      throw new RangeError(
        `unknown flag "${name}" for --scenario ${scenario}; see bench/inproc.ts`,
      );
    }
    sizes[name] = n;
  }
  if (plain && scenario !== "fanout") throw new RangeError("--mode plain is for --scenario fanout");
  return { scenario, sizes, worker, against, rounds, plain };
}

/** Runs `scenario` against the checkout at `root` in this process. */
async function runHere(
  scenario: Scenario,
  root: string,
  s: Record<string, number>,
  plain: boolean,
): Promise<Outcome> {
  if (scenario === "connect") {
    const r = await runInprocConnect(root, {
      connections: s["--connections"],
      window: s["--window"],
      passes: s["--passes"],
    });
    return {
      figure: r.joinUs,
      line: `join ${r.joinUs.toFixed(1)} µs, leave ${r.leaveUs.toFixed(1)} µs per connection ` +
        `(${r.bytesPerConnection.toFixed(0)} bytes)`,
    };
  }
  const r = await runInproc(root, {
    clients: s["--clients"],
    senders: s["--senders"],
    perTurn: s["--per-turn"],
    turns: s["--turns"],
    passes: s["--passes"],
    plain,
  });
  return {
    figure: r.cpuNsPerDelivery,
    line: `${r.cpuNsPerDelivery.toFixed(1)} ns per delivery (${
      r.bytesPerDelivery.toFixed(0)
    } bytes)`,
  };
}

/** Runs `root` in a process of its own (pinned to core 0 when it can be) and returns its outcome. */
async function runChild(root: string, args: string[]): Promise<Outcome> {
  const self = new URL(import.meta.url).pathname;
  // Each checkout runs with the V8 flags of its own `deno task start`.
  const v8 = startFlags(new URL(root)).filter((f) => f.startsWith("--v8-flags="));
  const deno = [Deno.execPath(), "run", "-A", ...v8, self];
  const argv = [...deno, "--worker", root, ...args];
  const [program, ...rest] = canPin() ? ["taskset", "-c", "0", ...argv] : argv;
  const out = await new Deno.Command(program, {
    args: rest,
    cwd: new URL(root).pathname,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`the run of ${root} failed (exit ${out.code})`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

if (import.meta.main) {
  const { scenario, sizes, worker, against, rounds, plain } = parseArgs(Deno.args);
  if (worker !== "") {
    console.log(JSON.stringify(await runHere(scenario, worker, sizes, plain)));
    Deno.exit(0);
  }
  const here = new URL("../", import.meta.url).href;
  const roots = against === ""
    ? [here]
    : [here, new URL(`${against.replace(/\/$/, "")}/`, `file://${Deno.cwd()}/`).href];
  const args = [
    ...["--scenario", scenario, "--mode", plain ? "plain" : "json"],
    ...Object.entries(sizes).flatMap(([k, v]) => [k, `${v}`]),
  ];
  const results = new Map<string, number[]>(roots.map((r) => [r, []]));
  const unit = scenario === "connect" ? "µs per join" : "ns per delivery";
  for (let round = 0; round < rounds; round++) {
    for (const root of roots) {
      const r = await runChild(root, args);
      results.get(root)!.push(r.figure);
      console.log(`${new URL(root).pathname}: ${r.line}`);
    }
  }
  for (const [root, xs] of results) {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      `${new URL(root).pathname}: mean ${mean.toFixed(1)} ${unit} over ${xs.length} runs`,
    );
  }
}
