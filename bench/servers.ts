/**
 * Starts the servers under test as subprocesses (Fanout's `main.ts` or the naive baseline),
 * pinned to one core with `taskset` when available, and reads their RSS and CPU time from
 * `/proc`.
 *
 * @module
 */
import { startFlags } from "../scripts/start_flags.ts";

/**
 * Which server: the product (`main.ts`: Fanout's own transport), the product under `deno serve`
 * (`serve.ts`: Deno's HTTP server and sockets), the product under `deno serve --parallel` (one
 * worker per core, rooms shared through a `redis-server` started for it, or through one KV file
 * when the environment says `ENGINE=kv`), or the naive baseline.
 */
export type ServerKind = "fanout" | "fanout-serve" | "fanout-parallel" | "baseline";

/** A running server subprocess. */
export interface ServerHandle {
  kind: ServerKind;
  port: number;
  pid: number;
  /** Fanout in JSON mode (`fanout.v1`) offers the subprotocol; the baseline does not. */
  protocol: string | undefined;
  stop(): Promise<void>;
  /** SIGKILL (`kill -9`): no shutdown at all; resolves once the process is gone. */
  kill(): Promise<void>;
}

const ROOT = new URL("../", import.meta.url).pathname;

/** Environment given to Fanout: high limits so that the benchmark is never rate-limited. */
export const FANOUT_ENV: Record<string, string> = {
  HOST: "127.0.0.1",
  LOG_LEVEL: "warn",
  RATE_LIMIT: "1000000",
  RATE_BURST: "1000000",
  MAX_CONNECTIONS: "100000",
  // Every client of the benchmark comes from 127.0.0.1.
  MAX_CONNECTIONS_PER_IP: "100000",
  HANDSHAKE_RATE_PER_IP: "1000000",
  HANDSHAKE_BURST_PER_IP: "1000000",
  NEW_ROOMS_PER_MINUTE_PER_IP: "100000000",
  RATE_LIMIT_PER_IP: "1000000",
  RATE_BURST_PER_IP: "1000000",
  MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
  IDLE_TIMEOUT_SECONDS: "600",
};

/**
 * True when `taskset` can pin processes (Linux with at least 2 cores).
 *
 * @example
 * ```ts
 * if (canPin()) await pinSelf("1");
 * ```
 */
export function canPin(): boolean {
  if (navigator.hardwareConcurrency < 2) return false;
  try {
    return Deno.statSync("/usr/bin/taskset").isFile;
  } catch {
    return false;
  }
}

/**
 * Pins the current process (all threads) to `cpu` with `taskset`.
 *
 * @example
 * ```ts
 * await pinSelf("1");
 * ```
 */
export async function pinSelf(cpu: string): Promise<boolean> {
  if (!canPin()) return false;
  const out = await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", cpu, String(Deno.pid)],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

/**
 * A free loopback port (closed again before returning).
 *
 * @example
 * ```ts
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts a server and waits until it accepts TCP connections.
 *
 * @example
 * ```ts
 * const srv = await startServer("baseline", { cpu: "0" });
 * await srv.stop();
 * ```
 */
export async function startServer(
  kind: ServerKind,
  options: {
    cpu?: string;
    env?: Record<string, string>;
    pollMs?: number;
    /** For `baseline`: another server's command in the naive one's place (see `--peer`). */
    command?: string[];
    /** For `fanout`: the checkout to run (default this one; see `--against`). */
    root?: string;
  } = {},
): Promise<ServerHandle> {
  const port = freePort();
  const pollMs = options.pollMs ?? 100;
  const deno = Deno.execPath();
  // The parallel server shares rooms through Redis, or through its KV file with ENGINE=kv.
  const redis = kind === "fanout-parallel" && options.env?.ENGINE !== "kv"
    ? await startRedis()
    : null;
  const root = options.root ?? ROOT;
  const args = kind === "fanout"
    ? ["run", ...startFlags(new URL(`file://${root}`)), "main.ts"]
    : kind === "fanout-parallel" || kind === "fanout-serve"
    ? [
      "serve",
      ...(kind === "fanout-parallel" ? ["--parallel"] : []),
      ...startFlags(new URL("../", import.meta.url)),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "serve.ts",
    ]
    : ["run", "--allow-net", "--allow-env", "bench/baseline_naive.ts"];
  const [program, ...programArgs] = kind === "baseline" && options.command
    ? options.command
    : [deno, ...args];
  // The parallel server needs every core: it is not pinned.
  const pin = options.cpu !== undefined && canPin() && kind !== "fanout-parallel";
  const env = kind === "baseline" ? { ...options.env } : { ...FANOUT_ENV, ...options.env };
  if (redis) Object.assign(env, { REDIS_URL: redis.url });
  const child = new Deno.Command(pin ? "taskset" : program, {
    args: pin ? ["-c", options.cpu!, program, ...programArgs] : programArgs,
    cwd: kind === "fanout" ? root : ROOT,
    env: { ...env, PORT: String(port), NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true, () => exited = true);
  const deadline = Date.now() + 30_000;
  while (true) {
    if (exited) {
      await redis?.stop();
      throw new Error(`${kind} server exited before listening on port ${port}`);
    }
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        await redis?.stop();
        throw new Error(`${kind} server did not listen on port ${port} within 30 s`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  return {
    kind,
    port,
    pid: child.pid,
    protocol: kind === "baseline" ? undefined : "fanout.v1",
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 3000);
        await child.status;
        clearTimeout(timer);
      }
      await redis?.stop();
    },
    async kill() {
      if (!exited) child.kill("SIGKILL");
      await child.status;
      await redis?.stop();
    },
  };
}

/**
 * A fresh KV file under `data/` (where `deno task start` may write) for one Fanout on
 * `ENGINE=kv`: the environment naming it, and `remove` (the file and SQLite's side files).
 *
 * @example
 * ```ts
 * const kv = kvStore();
 * const srv = await startServer("fanout", { env: kv.env });
 * await srv.stop();
 * await kv.remove();
 * ```
 */
export function kvStore(): { env: Record<string, string>; path: string; remove(): Promise<void> } {
  const file = `bench-kv-${crypto.randomUUID().slice(0, 8)}.sqlite3`;
  Deno.mkdirSync(new URL("data/", `file://${ROOT}`), { recursive: true });
  const path = `data/${file}`;
  return {
    env: { ENGINE: "kv", KV_PATH: path },
    path,
    async remove() {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) {
        await Deno.remove(`${ROOT}${path}${suffix}`).catch(() => {});
      }
    },
  };
}

/** Starts a throw-away `redis-server` on a free loopback port (no persistence). */
async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
    },
  };
}

/**
 * Resident set size of a process in bytes (`VmRSS` of `/proc/<pid>/status`), or NaN.
 *
 * @example
 * ```ts
 * rssBytes(server.pid); // e.g. 74145792
 * ```
 */
export function rssBytes(pid: number | "self"): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * CPU time (user + system, all threads) of a process in seconds, from `/proc/<pid>/stat`.
 *
 * @example
 * ```ts
 * const before = cpuSeconds("self");
 * ```
 */
export function cpuSeconds(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
  } catch {
    return NaN;
  }
}

/**
 * CPU time of each live thread of a process, in nanoseconds by thread id (each thread's
 * `/proc/<pid>/task/<tid>/schedstat`; {@linkcode cpuSeconds} counts 10 ms ticks, 5 µs steps over a
 * pass of 2000 handshakes, too coarse to tell two versions apart). Null when unreadable.
 *
 * @example
 * ```ts
 * const before = threadCpuTimes(server.pid);
 * ```
 */
export function threadCpuTimes(pid: number): Map<number, number> | null {
  try {
    const times = new Map<number, number>();
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const stat = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`);
        times.set(Number(task.name), Number(stat.split(" ")[0]));
      } catch {
        // The thread ended while read.
      }
    }
    return times;
  } catch {
    return null;
  }
}

/**
 * Seconds of CPU a process's threads spent between two {@linkcode threadCpuTimes}, all of them and
 * its main thread's (the rest: V8's compilers, the collector's helpers). Thread by thread: a thread
 * new since `before` counts from zero, and one that ended meanwhile (an idle blocking-pool thread)
 * takes only its time in between with it, not its whole life. NaN without both readings.
 *
 * @example
 * ```ts
 * const { all, main } = threadCpuSince(server.pid, before, threadCpuTimes(server.pid));
 * ```
 */
export function threadCpuSince(
  pid: number,
  before: Map<number, number> | null,
  after: Map<number, number> | null,
): { all: number; main: number } {
  if (before === null || after === null) return { all: NaN, main: NaN };
  let all = 0;
  for (const [tid, ns] of after) all += ns - (before.get(tid) ?? 0);
  const main = (after.get(pid) ?? NaN) - (before.get(pid) ?? NaN);
  return { all: all / 1e9, main: main / 1e9 };
}

/**
 * Reads one counter from Fanout's `/metrics` (NaN for the baseline or when missing).
 *
 * @example
 * ```ts
 * await metric(server, "fanout_presence_frames_total"); // e.g. 1000
 * ```
 */
export async function metric(server: ServerHandle, name: string): Promise<number> {
  if (server.kind === "baseline" || server.kind === "fanout-parallel") return NaN;
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  const text = await res.text();
  const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m"));
  return m ? Number(m[1]) : NaN;
}

/**
 * Sums every sample of one metric of Fanout's `/metrics`, whatever its labels (NaN for the
 * baseline; 0 when the metric has no sample yet, as a labelled counter before its first count).
 *
 * @example
 * ```ts
 * await metricSum(server, "fanout_rejected_total"); // e.g. 0: no frame or handshake refused
 * ```
 */
export async function metricSum(server: ServerHandle, name: string): Promise<number> {
  if (server.kind === "baseline" || server.kind === "fanout-parallel") return NaN;
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  const text = await res.text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) {
    sum += Number(m[1]);
  }
  return sum;
}

/**
 * Busy CPU time of the whole machine (all cores, all processes) in seconds, from `/proc/stat`.
 *
 * @example
 * ```ts
 * const before = machineBusySeconds();
 * ```
 */
export function machineBusySeconds(): number {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    return (v.reduce((a, b) => a + b, 0) - idle) / 100;
  } catch {
    return NaN;
  }
}
