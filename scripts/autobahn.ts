/**
 * `deno task autobahn`: RFC 6455 conformance. Starts two echo servers, Fanout's transport
 * (`scripts/echo_server.ts`, what `deno task start` serves) and the `deno serve` path's socket
 * (`scripts/echo_serve.ts`), runs the Autobahn|Testsuite fuzzingclient kit
 * (`../shared/autobahn/run.sh` beside the project, or `AUTOBAHN_KIT`) against both in one run and
 * prints its table per server.
 * Exits 1 when a case of Fanout's transport FAILED or one of its closing handshakes failed (as the
 * kit judges); what Deno's server does is printed beside it and does not count (it is not ours to
 * fix: it echoes a close frame over 125 bytes, case 7.3.6).
 *
 * Flags: `--cases LIST` and `--exclude LIST` (the kit's; default every case but 9.*, 12.* and
 * 13.*), `--out DIR` (the report; default a temporary folder), `--max-message-bytes N` and
 * `--max-fragments N` (Fanout's echo; default `deno task start`'s: 4 × `MAX_MESSAGE_BYTES` and
 * 1024), `--timings` (each case's time per server, side by side), `--performance` (section 9
 * alone, with the limits it needs, 16 MiB and 65,537 fragments, and timings),
 * `--timeout-seconds N` (default 300; 1800 with `--performance`).
 *
 * @example
 * ```sh
 * deno task autobahn                       # sections 1-7 and 10, about a minute
 * deno task autobahn --cases '2.*,6.4.*'   # a few cases
 * deno task autobahn --performance         # section 9, several minutes
 * ```
 *
 * @module
 */

import { freePort } from "../bench/servers.ts";
import { startFlags } from "./start_flags.ts";

/** What `deno task autobahn` was asked to do. */
export interface AutobahnArgs {
  cases?: string;
  exclude?: string;
  out?: string;
  maxMessageBytes?: number;
  maxFragments?: number;
  timings: boolean;
  timeoutSeconds: number;
}

/** Section 9's largest message (the kit's note): the echo servers' limit for `--performance`. */
export const PERFORMANCE_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Section 9's most fragments: 9.3.1 and 9.4.1 send 4 MiB in 64-byte fragments, 65,537 frames. */
export const PERFORMANCE_FRAGMENTS = 65_537;

/**
 * Parses the flags of `deno task autobahn`; throws a `RangeError` naming a bad one.
 *
 * @example
 * ```ts
 * parseAutobahnArgs(["--performance"]).cases; // "9.*"
 * ```
 */
export function parseAutobahnArgs(args: string[]): AutobahnArgs {
  const out: AutobahnArgs = { timings: false, timeoutSeconds: 300 };
  let performance = false;
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].split("=", 2);
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new RangeError(`${name} needs a value`);
      return v;
    };
    const positive = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(`${name} needs a positive integer, got "${v}"`);
      }
      return n;
    };
    switch (name) {
      case "--cases":
        out.cases = value();
        break;
      case "--exclude":
        out.exclude = value();
        break;
      case "--out":
        out.out = value();
        break;
      case "--max-message-bytes":
        out.maxMessageBytes = positive(value());
        break;
      case "--max-fragments":
        out.maxFragments = positive(value());
        break;
      case "--timeout-seconds":
        out.timeoutSeconds = positive(value());
        break;
      case "--timings":
        out.timings = true;
        break;
      case "--performance":
        performance = true;
        break;
      default:
        throw new RangeError(`unknown flag "${args[i]}"; see scripts/autobahn.ts for the list`);
    }
  }
  if (performance) {
    out.cases ??= "9.*";
    out.exclude ??= "12.*,13.*";
    out.maxMessageBytes ??= PERFORMANCE_MESSAGE_BYTES;
    out.maxFragments ??= PERFORMANCE_FRAGMENTS;
    out.timings = true;
    if (!args.some((a) => a.startsWith("--timeout-seconds"))) out.timeoutSeconds = 1800;
  }
  return out;
}

/** The name of Fanout's transport in the report (the one that decides the exit code). */
export const FANOUT_AGENT = "fanout";

/** One case of the kit's `index.json`, as far as it is read here. */
interface CaseResult {
  behavior?: string;
  behaviorClose?: string;
  duration?: number;
}

const PASSING = ["OK", "NON-STRICT", "INFORMATIONAL"];

/**
 * The cases of `agent` the kit counts as failed (behaviour or closing handshake other than OK,
 * NON-STRICT or INFORMATIONAL), with what went wrong, in case order.
 *
 * @example
 * ```ts
 * failures({ fanout: { "2.10": { behavior: "FAILED", behaviorClose: "OK" } } }, "fanout");
 * // ["2.10 (FAILED, close OK)"]
 * ```
 */
export function failures(
  index: Record<string, Record<string, CaseResult>>,
  agent: string,
): string[] {
  const results = index[agent];
  if (results === undefined) return [`no results for "${agent}"`];
  return sortCases(Object.keys(results))
    .filter((c) =>
      !PASSING.includes(results[c].behavior ?? "") ||
      !PASSING.includes(results[c].behaviorClose ?? "")
    )
    .map((c) => `${c} (${results[c].behavior}, close ${results[c].behaviorClose})`);
}

/** Case ids in the suite's order (2.2 before 2.10). */
function sortCases(cases: string[]): string[] {
  const parts = (c: string) => c.split(".").map(Number);
  return [...cases].sort((x, y) => {
    const a = parts(x), b = parts(y);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    }
    return 0;
  });
}

/**
 * A Markdown table of each case's duration (ms) per server, from the kit's `index.json`, in case
 * order, with the sum of each column; with two servers, the first's time over the second's.
 *
 * @example
 * ```ts
 * timingsTable({ a: { "9.1.1": { duration: 12 } }, b: { "9.1.1": { duration: 30 } } });
 * // "| case | a (ms) | b (ms) | a / b |\n|---|---:|---:|---:|\n| 9.1.1 | 12 | 30 | 0.40 |\n| total | 12 | 30 | 0.40 |"
 * ```
 */
export function timingsTable(
  index: Record<string, Record<string, CaseResult>>,
  agents: string[] = Object.keys(index),
): string {
  const cases = sortCases([...new Set(agents.flatMap((a) => Object.keys(index[a] ?? {})))]);
  const ratio = agents.length === 2;
  const over = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b ? (a / b).toFixed(2) : "–";
  const head = `| case | ${agents.map((a) => `${a} (ms)`).join(" | ")} |` +
    (ratio ? ` ${agents[0]} / ${agents[1]} |` : "");
  const rule = `|---|${agents.map(() => "---:").join("|")}|` + (ratio ? "---:|" : "");
  const totals = agents.map(() => 0);
  const cell = (r: CaseResult | undefined) => {
    if (r?.duration === undefined) return "–";
    const bad = r.behavior !== "OK" && r.behavior !== "INFORMATIONAL";
    return `${r.duration}${bad ? ` (${r.behavior})` : ""}`;
  };
  const rows = cases.map((c) => {
    const d = agents.map((a, i) => {
      const ms = index[a]?.[c]?.duration;
      if (ms !== undefined) totals[i] += ms;
      return ms;
    });
    return `| ${c} | ${agents.map((a) => cell(index[a]?.[c])).join(" | ")} |` +
      (ratio ? ` ${over(d[0], d[1])} |` : "");
  });
  const total = `| total | ${totals.join(" | ")} |` +
    (ratio ? ` ${over(totals[0], totals[1])} |` : "");
  return [head, rule, ...rows, total].join("\n");
}

const ROOT = new URL("../", import.meta.url);

/** Starts one echo server and waits until it accepts connections (at most 30 s). */
async function startEcho(
  name: string,
  args: string[],
  port: number,
): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT.pathname,
    env: { HOST: "127.0.0.1", PORT: String(port), NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  child.status.finally(() => exited = true);
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    await child.status;
  };
  const deadline = Date.now() + 30_000;
  while (true) {
    if (exited) throw new Error(`the ${name} echo server exited before listening on ${port}`);
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { url: `ws://127.0.0.1:${port}`, stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the ${name} echo server did not listen on ${port} within 30 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

if (import.meta.main) {
  let args: AutobahnArgs;
  try {
    args = parseAutobahnArgs(Deno.args);
  } catch (err) {
    console.error(`autobahn: ${(err as Error).message}`);
    Deno.exit(2);
  }
  const kit = Deno.env.get("AUTOBAHN_KIT") ?? new URL("../shared/autobahn/run.sh", ROOT).pathname;
  try {
    Deno.statSync(kit);
  } catch {
    console.error(
      `autobahn: no conformance kit at ${kit} (the shared folder beside the project, or set ` +
        `AUTOBAHN_KIT=/path/to/run.sh)`,
    );
    Deno.exit(2);
  }
  const out = args.out ?? await Deno.makeTempDir({ prefix: "autobahn-report-" });
  const flags = startFlags(ROOT);
  const limit = [
    ...(args.maxMessageBytes ? ["--max-message-bytes", String(args.maxMessageBytes)] : []),
    ...(args.maxFragments ? ["--max-fragments", String(args.maxFragments)] : []),
  ];
  const ownPort = freePort();
  const servePort = freePort();
  const servers = await Promise.all([
    startEcho("Fanout transport", ["run", ...flags, "scripts/echo_server.ts", ...limit], ownPort),
    startEcho("deno serve", [
      "serve",
      ...flags,
      "--host",
      "127.0.0.1",
      "--port",
      String(servePort),
      "scripts/echo_serve.ts",
    ], servePort),
  ]);
  let code = 3;
  try {
    const kitArgs = ["--out", out];
    if (args.cases !== undefined) kitArgs.push("--cases", args.cases);
    if (args.exclude !== undefined) kitArgs.push("--exclude", args.exclude);
    console.error(
      `autobahn: fanout=${servers[0].url} (Fanout's transport), ` +
        `deno-serve=${servers[1].url} (Deno.upgradeWebSocket); at most ${args.timeoutSeconds} s`,
    );
    // `timeout` signals the kit's whole process group (bash and its Python) when time is up.
    const status = await new Deno.Command("timeout", {
      args: [
        "--kill-after=10",
        String(args.timeoutSeconds),
        "bash",
        kit,
        ...kitArgs,
        `${FANOUT_AGENT}=${servers[0].url}`,
        `deno-serve=${servers[1].url}`,
      ],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    code = status.code;
    if (code === 124 || code === 137) {
      console.error(`autobahn: stopped after ${args.timeoutSeconds} s (--timeout-seconds)`);
    } else if (code === 0 || code === 1) {
      // The kit's 1 counts both servers: the verdict is Fanout's transport's alone.
      const index = JSON.parse(await Deno.readTextFile(`${out}/index.json`));
      if (args.timings) {
        console.log(`## Time per case\n\n${timingsTable(index, [FANOUT_AGENT, "deno-serve"])}\n`);
      }
      const ours = failures(index, FANOUT_AGENT);
      const theirs = failures(index, "deno-serve");
      if (theirs.length > 0) {
        console.error(`autobahn: deno-serve (Deno's server, not gating): ${theirs.join(", ")}`);
      }
      if (ours.length > 0) {
        console.error(`autobahn: FAILED (Fanout's transport): ${ours.join(", ")}`);
      } else console.error("autobahn: PASS (Fanout's transport: no FAILED case, every close OK)");
      code = ours.length > 0 ? 1 : 0;
    }
    console.error(`autobahn: report in ${out} (index.json, one HTML page per case)`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  Deno.exit(code);
}
