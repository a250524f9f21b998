/**
 * Several workers of `deno task start` on one port (`WORKERS`): the main thread starts that many
 * Web Workers running `main.ts`; each runs Fanout's own HTTP/WebSocket server (`listen` with
 * `reusePort`, so the transport's defences stay) with its own hub and engine, and the kernel
 * spreads new connections between their listeners (`SO_REUSEPORT`, Linux). Rooms are shared by
 * the engine: the KV engine's workers through their `BroadcastChannel`, or Redis. The main
 * thread prints where the server listens and, on SIGINT/SIGTERM, has every worker shut down
 * gracefully. Every limit applies per worker.
 *
 * @module
 */

import type { Env } from "../shared/config.ts";
import { type Config, loadConfig } from "../shared/config.ts";
import { listen, type RunningServer } from "./deno_server.ts";
import { warmUpBeforeServing } from "./warm_up.ts";

/** What the main thread tells a worker. */
type ToWorker = { kind: "start"; port: number } | { kind: "stop" };

/** What a worker answers. */
type FromWorker =
  | { kind: "listening"; url: string }
  | { kind: "failed"; error: string }
  | { kind: "stopped" };

/** The running workers. */
export interface WorkerGroup {
  /** Where they listen, e.g. `http://localhost:8000/`. */
  url: URL;
  port: number;
  /** Has every worker drain and stop (their sockets closed with 1012), then ends them. */
  shutdown(): Promise<void>;
}

/**
 * True when this code runs in a Web Worker (a worker of {@linkcode startWorkers}).
 *
 * @example
 * ```ts
 * if (inWorker()) serveInWorker(Deno.env.toObject());
 * ```
 */
export function inWorker(): boolean {
  return "WorkerGlobalScope" in globalThis;
}

/**
 * Starts `config.workers` workers running `module` (which calls {@linkcode serveInWorker} in a
 * worker) on `config.port` (a free port shared by all when it is 0), and resolves once each
 * listens; rejects naming the cause when one does not (the others are ended). A worker that fails
 * later is reported to `onFailure` (numbered from 1).
 *
 * @example
 * ```ts
 * const group = await startWorkers(config, new URL(import.meta.url));
 * printUrls(group.url);
 * ```
 */
export async function startWorkers(
  config: Config,
  module: URL,
  onFailure: (worker: number, error: string) => void = () => {},
): Promise<WorkerGroup> {
  let port = config.port;
  if (port === 0) {
    // One free port for every worker: taken with reusePort and let go again.
    const probe = Deno.listen({ hostname: config.host, port: 0, reusePort: true });
    port = (probe.addr as Deno.NetAddr).port;
    probe.close();
  }
  const workers: Worker[] = [];
  const inboxes: (() => Promise<FromWorker>)[] = [];
  for (let i = 0; i < config.workers; i++) {
    const worker = new Worker(module, { type: "module", name: `fanout-${i + 1}` });
    const early: FromWorker[] = [];
    let waiting: ((m: FromWorker) => void) | null = null;
    const take = (m: FromWorker) => {
      if (!waiting) return void early.push(m);
      const w = waiting;
      waiting = null;
      w(m);
    };
    worker.onmessage = (e: MessageEvent<FromWorker>) => take(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      take({ kind: "failed", error: e.message });
    };
    workers.push(worker);
    inboxes.push(() =>
      early.length > 0 ? Promise.resolve(early.shift()!) : new Promise((r) => waiting = r)
    );
  }
  const send = (message: ToWorker) => workers.forEach((w) => w.postMessage(message));
  send({ kind: "start", port });
  const answers = await Promise.all(inboxes.map((next) => next()));
  const failed = answers.find((a) => a.kind !== "listening");
  if (failed) {
    for (const w of workers) w.terminate();
    throw new Error(
      `a worker did not start: ${failed.kind === "failed" ? failed.error : failed.kind}`,
    );
  }
  // A worker that fails later ends alone (its listener with it: the kernel sends new connections
  // to the others); the caller hears of it, and the stop does not wait for its answer.
  const dead = new Set<number>();
  workers.forEach((w, i) =>
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      dead.add(i);
      onFailure(i + 1, e.message);
    }
  );
  const first = answers[0] as { kind: "listening"; url: string };
  let stopping: Promise<void> | undefined;
  return {
    url: new URL(first.url),
    port,
    shutdown() {
      stopping ??= (async () => {
        send({ kind: "stop" });
        await Promise.all(inboxes.map((next, i) => dead.has(i) ? null : next()));
        for (const w of workers) w.terminate();
      })();
      return stopping;
    },
  };
}

/**
 * The worker's side of {@linkcode startWorkers}: reads the config from `env`, warms its handshake
 * path up (`WARM_UP_HANDSHAKES`), listens with `reusePort` on the port the main thread gives, and
 * shuts down when told.
 *
 * @example
 * ```ts
 * if (inWorker()) serveInWorker(Deno.env.toObject());
 * ```
 */
export function serveInWorker(env: Env): void {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
    postMessage(message: FromWorker): void;
  };
  let server: RunningServer | null = null;
  scope.onmessage = async (e) => {
    if (e.data.kind === "start") {
      try {
        const config = loadConfig(env);
        server = await listen({ ...config, port: e.data.port }, {
          reusePort: true,
          beforeServing: warmUpBeforeServing(config.warmUpHandshakes),
        });
        scope.postMessage({ kind: "listening", url: server.url.href });
      } catch (err) {
        scope.postMessage({
          kind: "failed",
          error: err instanceof Error ? err.message : String(err),
        });
      }
      return;
    }
    try {
      await server?.shutdown();
    } finally {
      // Always answered, so that the main thread's stop never waits on this worker in vain.
      scope.postMessage({ kind: "stopped" });
    }
  };
}
