/**
 * Runs Fanout as a separate process (`deno run main.ts`, or `deno serve --parallel serve.ts`,
 * with the permissions of `deno task start`) on a
 * free loopback port, for tests that need several instances or that kill one.
 *
 * @module
 */

import { startFlags } from "../../scripts/start_flags.ts";
import { freePort, LOOPBACK_CLIENTS } from "./server.ts";

/** A Fanout process under test. */
export interface ProcessServer {
  port: number;
  /** The process id (to read its memory from `/proc/<pid>/status`). */
  pid: number;
  /** `ws://127.0.0.1:PORT/ws?<query>`. */
  wsUrl(query?: Record<string, string>): string;
  httpUrl(path: string): string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` to the process. */
  signal(signal: Deno.Signal): void;
  /** The exit code, once the process is gone and its output read to the end. */
  exited: Promise<number>;
  /** SIGTERM (graceful), then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once: a crash. */
  kill(): Promise<void>;
}

/** Options of {@linkcode startProcessServer}. */
export interface ProcessServerOptions {
  env?: Record<string, string>;
  /** Runs `deno serve --parallel` with this many workers instead of `deno run`. */
  workers?: number;
  /** Longest wait for the listening line (ms). */
  timeoutMs?: number;
  /**
   * Runs the process under this open-file limit, soft and hard (`ulimit -n` in bash, which then
   * execs Deno, so `pid` stays the server's; Deno raises its soft limit to the hard one).
   */
  maxOpenFiles?: number;
}

const ROOT = new URL("../../", import.meta.url);

/**
 * Starts `main.ts` in a subprocess and waits for its "Fanout listening on" line (or its
 * `server.listening` event with `LOG_FORMAT=json`).
 *
 * @example
 * ```ts
 * const srv = await startProcessServer({ env: { REDIS_URL: redis.url } });
 * try { await TestClient.join(srv.wsUrl({ room: "r" })); } finally { await srv.stop(); }
 * ```
 */
export async function startProcessServer(
  options: ProcessServerOptions = {},
): Promise<ProcessServer> {
  const port = freePort();
  const env = {
    HOST: "127.0.0.1",
    PORT: String(port),
    PRESENCE_INTERVAL_MS: "10",
    SHUTDOWN_GRACE_MS: "500",
    LOG_LEVEL: "warn",
    ...LOOPBACK_CLIENTS,
    ...options.env,
  };
  const flags = startFlags(ROOT);
  const args = options.workers
    ? ["serve", "--parallel", "--port", String(port), "--host", "127.0.0.1", ...flags, "serve.ts"]
    : ["run", ...flags, "main.ts"];
  if (options.workers) {
    Object.assign(env, {
      DENO_JOBS: String(options.workers),
      LOG_LEVEL: "info",
    });
  }
  const files = options.maxOpenFiles;
  if (files !== undefined && (!Number.isInteger(files) || files < 16)) {
    throw new RangeError(`maxOpenFiles must be an integer of at least 16, got ${files}`);
  }
  const command = files === undefined ? Deno.execPath() : "bash";
  const child = new Deno.Command(command, {
    args: files === undefined
      ? args
      : ["-c", `ulimit -n ${files} && exec "$0" "$@"`, Deno.execPath(), ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const { promise: listening, resolve } = Promise.withResolvers<void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      if (/Fanout listening on|"event":"server\.listening"/.test(text)) resolve();
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let done = false;
  const status = child.status.then((s) => {
    done = true;
    return s;
  });
  const signal = (sig: Deno.Signal) => {
    if (done) return;
    try {
      child.kill(sig);
    } catch { /* already gone */ }
  };
  const exit = async (sig: Deno.Signal, graceMs: number) => {
    signal(sig);
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, graceMs);
    await status;
    clearTimeout(timer);
    await pumps;
  };
  const timeoutMs = options.timeoutMs ?? 20_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    listening.then(() => "ok"),
    status.then((s) => `exited with code ${s.code}`),
    new Promise<string>((r) =>
      timer = setTimeout(() => r(`not listening after ${timeoutMs} ms`), timeoutMs)
    ),
  ]);
  clearTimeout(timer);
  if (outcome !== "ok") {
    await exit("SIGKILL", 0);
    throw new Error(`Fanout process on port ${port} ${outcome}:\n${text.slice(-2000)}`);
  }
  // `deno serve --parallel` prints the line from its first worker only: wait until every worker
  // has started its engine (logged at info level).
  if (options.workers) {
    const started = () => text.match(/engine\.started/g)?.length ?? 0;
    for (let i = 0; i < 200 && started() < options.workers; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const base = `127.0.0.1:${port}`;
  return {
    port,
    pid: child.pid,
    wsUrl: (query = {}) => `ws://${base}/ws?${new URLSearchParams(query)}`,
    httpUrl: (path) => `http://${base}${path}`,
    output: () => text,
    signal,
    exited: status.then(async (s) => (await pumps, s.code)),
    stop: (graceMs = 3000) => exit("SIGTERM", graceMs),
    kill: () => exit("SIGKILL", 0),
  };
}
