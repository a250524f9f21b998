/**
 * The Deno adapter: listens with `Deno.listen` and serves through Fanout's own HTTP/WebSocket
 * server (`lib/transport/http_server.ts`), upgrades requests of `deno serve` with `Deno.upgradeWebSocket`,
 * reads memory with `Deno.memoryUsage`, and turns SIGINT/SIGTERM into a graceful shutdown.
 * Everything runtime-specific lives here.
 *
 * @module
 */

import { denoAssets } from "./bundle_deno.ts";
import type { Upgrade } from "../hub/upgraded_socket.ts";
import { addressKey } from "../transport/client_address.ts";
import { type Config, type Env, loadConfig } from "../shared/config.ts";
import { createFanout, type Fanout, type FanoutOptions } from "./fanout.ts";
import { servedHere, upgradeWebSocket } from "../transport/http_connection.ts";
import { HttpServer, type ListenerLike } from "../transport/http_server.ts";
import { WS_PATH } from "../protocol/handshake.ts";
import { createLogger, type LogFormat, type Logger } from "../shared/log.ts";
import type { KvHandle } from "../engine/kv/kv_handle.ts";
import type { PeerChannel } from "../engine/kv/kv_peers.ts";

/**
 * Reads the configuration, or prints what is wrong with it in one line and exits 1.
 *
 * @example
 * ```ts
 * const config = loadConfigOrExit(Deno.env.toObject());
 * // with PORT=abc: "fanout: cannot start: PORT must be an integer from 0 to 65535, got "abc"", exit 1
 * ```
 */
export function loadConfigOrExit(
  env: Env,
  exit: (code: number) => never = Deno.exit,
  print: (line: string) => void = console.error,
): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    print(`fanout: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return exit(1);
  }
}

/**
 * Runs a start-up step (listening, starting the engine), or prints why it failed in one line and
 * exits 1: a store that cannot be opened never leaves a half-working server.
 *
 * @example
 * ```ts
 * const server = await startOrExit(listen(config));
 * // with KV_PATH naming a corrupt file: "fanout: cannot start: KV_PATH "x": …", exit 1
 * ```
 */
export async function startOrExit<T>(
  step: Promise<T>,
  exit: (code: number) => never = Deno.exit,
  print: (line: string) => void = console.error,
): Promise<T> {
  try {
    return await step;
  } catch (err) {
    print(`fanout: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return exit(1);
  }
}

/**
 * `KV_PATH` for `Deno.openKv()` without a path: on Deno Deploy its managed KV, elsewhere Deno's
 * default store for the project (outside `data/`: grant write there).
 *
 * @example
 * ```ts
 * const kv = await openDenoKv(DEFAULT_KV); // ENGINE=kv KV_PATH=:default: on Deno Deploy
 * ```
 */
export const DEFAULT_KV = ":default:";

/** What {@linkcode openDenoKv} opens with, and how it waits between tries (tests inject both). */
export interface OpenKvOptions {
  /** Opens the store, with no path for {@linkcode DEFAULT_KV} (default `Deno.openKv`). */
  open?: (path: string | undefined) => Promise<Deno.Kv>;
  /** Waits `ms` (default `setTimeout`). */
  sleep?: (ms: number) => Promise<void>;
}

/** Tries of an open that meets another worker's SQLite lock (waits 5 ms doubling to 100 ms). */
const OPEN_TRIES = 40;

/**
 * Opens the Deno KV store of `ENGINE=kv` at `path` (`:memory:` for none), making its folder
 * first, and proves it readable and writable with one write; throws an error naming the path
 * and the cause otherwise (a corrupt file, no permission, a folder that cannot be made). Workers
 * that open one file together (`WORKERS`, `deno serve --parallel`) can meet each other's SQLite
 * lock for a moment ("database is locked"): that is tried again, for about 3.5 s in all.
 *
 * @example
 * ```ts
 * const kv = await openDenoKv("data/fanout.sqlite3");
 * ```
 */
export async function openDenoKv(path: string, options: OpenKvOptions = {}): Promise<KvHandle> {
  const open = options.open ?? ((p: string | undefined) => Deno.openKv(p));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const fail = (what: string, err: unknown): never => {
    const cause = err instanceof Error ? err.message : String(err);
    const hint =
      err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied
        ? " (deno task start may write under data/ only: keep KV_PATH there or grant --allow-write)"
        : "";
    throw new Error(`KV_PATH "${path}": ${what}: ${cause}${hint}`);
  };
  const slash = path.lastIndexOf("/");
  if (path !== ":memory:" && path !== DEFAULT_KV && slash > 0) {
    const dir = path.slice(0, slash);
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (err) {
      fail(`cannot make its folder ${dir}`, err);
    }
  }
  for (let attempt = 1;; attempt++) {
    let kv: Deno.Kv | null = null;
    try {
      kv = await open(path === DEFAULT_KV ? undefined : path);
      await kv.set(["meta", "opened"], Date.now());
      return kv;
    } catch (err) {
      kv?.close();
      const locked = /database is locked/i.test(String((err as Error)?.message ?? err));
      if (!locked || attempt >= OPEN_TRIES) return fail("cannot be used as a Deno KV store", err);
      await sleep(Math.min(100, 5 * 2 ** (attempt - 1)));
    }
  }
}

/**
 * The channel between the KV engines of this process's workers (`deno serve --parallel`) on the
 * KV file at `path`: a `BroadcastChannel` named after the file's absolute path, so that servers
 * on different files never mix (`:default:`: one channel for the default store, which links
 * Deno Deploy's isolates too); null for `:memory:` (each worker has its own store).
 *
 * @example
 * ```ts
 * const channel = denoKvPeers("data/fanout.sqlite3"); // BroadcastChannel "fanout-kv:/srv/data/fanout.sqlite3"
 * ```
 */
export function denoKvPeers(path: string): PeerChannel | null {
  if (path === ":memory:") return null;
  const absolute = path === DEFAULT_KV ? path : new URL(path, `file://${Deno.cwd()}/`).pathname;
  const channel = new BroadcastChannel(`fanout-kv:${absolute}`);
  return {
    post: (message) => channel.postMessage(message),
    listen: (receive) => channel.onmessage = (event) => receive(event.data),
    close: () => channel.close(),
  };
}

/**
 * The upgrade of the routes: Fanout's own for requests its server read, `Deno.upgradeWebSocket`
 * for requests of `deno serve` (also the conformance echo server's, `scripts/echo_server.ts`).
 *
 * @example
 * ```ts
 * const { socket, response } = denoUpgrade(req, { protocol: "fanout.v1" });
 * ```
 */
export const denoUpgrade: Upgrade = (req, options) =>
  servedHere(req) ? upgradeWebSocket(req, { protocol: options.protocol }) : Deno.upgradeWebSocket(
    // Not read by Fanout's own server: a request of `Deno.serve`, a `Request`.
    req as Request,
    {
      idleTimeout: options.idleTimeout,
      ...(options.protocol ? { protocol: options.protocol } : {}),
    },
  );

/** TCP connections one address may hold beyond its WebSockets, for plain HTTP. */
export const HTTP_CONNECTIONS_PER_IP = 32;

/**
 * TCP connections the listener holds at most: the WebSockets plus a tenth (at least 64) for plain
 * HTTP and connections still sending their request.
 *
 * @example
 * ```ts
 * maxTcpConnections(loadConfig({})); // 11000
 * ```
 */
export function maxTcpConnections(config: Pick<Config, "maxConnections">): number {
  return config.maxConnections + Math.max(64, Math.ceil(config.maxConnections / 10));
}

/** Reads process memory. */
const denoMemory = () => {
  const { rss, heapUsed } = Deno.memoryUsage();
  return { rss, heapUsed };
};

/**
 * Builds a Fanout server with the Deno runtime pieces filled in (for `deno serve` and tests).
 *
 * @example
 * ```ts
 * const fanout = createDenoFanout(loadConfig(Deno.env.toObject()));
 * export default { fetch: fanout.fetch };
 * ```
 */
export function createDenoFanout(config: Config, options: Partial<FanoutOptions> = {}): Fanout {
  return createFanout(config, {
    upgrade: denoUpgrade,
    memory: denoMemory,
    assets: denoAssets,
    openKv: (path: string) => openDenoKv(path),
    kvPeers: denoKvPeers,
    ...options,
  });
}

/** A listening server. */
export interface RunningServer {
  fanout: Fanout;
  /** The HTTP URL, e.g. `http://127.0.0.1:8000/`. */
  url: URL;
  port: number;
  /** Drains, waits for sockets to close (at most `SHUTDOWN_GRACE_MS`) and stops listening. */
  shutdown(): Promise<void>;
  /** Resolves when the listener has stopped. */
  finished: Promise<void>;
}

/**
 * Starts the engine and listens on `config.host:config.port` (with `reusePort`, sharing the port
 * with other listeners of this process: see `deno_workers.ts`).
 *
 * @example
 * ```ts
 * const server = await listen(loadConfig({ PORT: "0" }));
 * console.log(server.url.href);
 * await server.shutdown();
 * ```
 */
export async function listen(
  config: Config,
  options: Partial<FanoutOptions> & {
    fanout?: Fanout;
    reusePort?: boolean;
    /**
     * Where connections come from instead of `Deno.listen` on `HOST:PORT` (the in-process
     * benchmark hands it fake connections).
     */
    listener?: ListenerLike & { addr: { hostname: string; port: number } };
    /**
     * Runs once the socket is bound and before the first connection is accepted, given the
     * server (`main.ts`'s start-up warm-up): clients that come meanwhile wait in the kernel's
     * backlog instead of being refused. When it throws, the listener and the engine are closed
     * and `listen` rejects with its error.
     */
    beforeServing?: (fanout: Fanout) => Promise<unknown>;
  } = {},
): Promise<RunningServer> {
  const fanout = options.fanout ?? createDenoFanout(config, options);
  if (!options.fanout) await fanout.start();
  // With `reusePort` (the workers of `WORKERS`), several listeners share the port: the kernel
  // spreads new connections between them.
  const listener = options.listener ?? Deno.listen({
    hostname: config.host,
    port: config.port,
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  const addr = listener.addr as Deno.NetAddr;
  const shown = addr.hostname === "0.0.0.0" || addr.hostname === "::" ? "localhost" : addr.hostname;
  const { logger, hub } = fanout.deps;
  const http = new HttpServer({
    handler: fanout.fetch,
    webSocketRoute: fanout.webSocketRoute,
    origin: `http://${
      addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname
    }:${addr.port}`,
    limits: {
      maxHeadBytes: config.maxHeaderBytes,
      maxBodyBytes: config.maxBodyBytes,
      requestTimeoutMs: config.requestTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      maxWsMessageBytes: 4 * config.maxMessageBytes,
      wsCloseTimeoutMs: config.closeTimeoutMs,
      inbound: fanout.deps.inbound,
    },
    maxConnections: maxTcpConnections(config),
    // Behind a trusted proxy every connection comes from the proxy: the per-address limits then
    // count the proxy's header in the hub, not the TCP peer here.
    maxConnectionsPerAddress: config.trustProxy.kind === "off"
      ? config.maxConnectionsPerIp + HTTP_CONNECTIONS_PER_IP
      : Infinity,
    addressKey,
    idleTimeoutMs: config.idleTimeoutSeconds * 1000,
    onRefused: (reason) => {
      hub.metrics.reject(reason);
      logger.info("tcp.refused", { reason });
    },
    onAcceptError: (err, open) =>
      logger.warn("server.accept_failed", {
        error: String((err as Error)?.message ?? err),
        open,
        hint: "out of file descriptors? raise the open-file limit or lower MAX_CONNECTIONS",
      }),
    onError: (err) => logger.error("http.error", { error: String(err) }),
  });
  fanout.deps.transport = { connections: () => http.connections };
  try {
    await options.beforeServing?.(fanout);
  } catch (err) {
    listener.close();
    if (!options.fanout) await fanout.shutdown();
    throw err;
  }
  const finished = http.serve(listener);
  let stopping: Promise<void> | undefined;
  return {
    fanout,
    url: new URL(`http://${shown}:${addr.port}/`),
    port: addr.port,
    finished,
    shutdown() {
      stopping ??= (async () => {
        await fanout.shutdown();
        await http.close(config.shutdownGraceMs);
        await finished;
      })();
      return stopping;
    },
  };
}

/** Options of {@linkcode exitOnSignals}. */
export interface ExitOnSignalsOptions {
  /** Where `server.stopping` and `server.stopped` go (the server's own logger). */
  logger?: Logger;
  /** Ends the process (default `Deno.exit`). */
  exit?: (code: number) => void;
  /** Registers a signal handler (default `Deno.addSignalListener`). */
  addSignalListener?: (signal: Deno.Signal, handler: () => void) => void;
}

/**
 * On SIGINT or SIGTERM: runs `shutdown` once, then exits 0 (also when the grace period runs
 * out). Further signals while stopping are ignored, so a signal sent to the whole process group
 * (as `timeout` and `deno task` do) stops the server once.
 *
 * @example
 * ```ts
 * exitOnSignals(() => server.shutdown(), config.shutdownGraceMs, { logger });
 * ```
 */
export function exitOnSignals(
  shutdown: () => Promise<void>,
  graceMs: number,
  options: ExitOnSignalsOptions = {},
): void {
  const {
    logger: log = createLogger(),
    exit = Deno.exit,
    addSignalListener = Deno.addSignalListener,
  } = options;
  let stopping = false;
  const onSignal = (signal: Deno.Signal) => () => {
    if (stopping) return;
    stopping = true;
    log.info("server.stopping", { signal });
    const timer = setTimeout(() => exit(0), graceMs + 500);
    shutdown().finally(() => {
      clearTimeout(timer);
      log.info("server.stopped");
      exit(0);
    });
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    addSignalListener(signal, onSignal(signal));
  }
}

/**
 * Prints where the server listens, HTTP and WebSocket: a sentence for people, or with the
 * `json` log format one `server.listening` event line, whatever the log level.
 *
 * @example
 * ```ts
 * printUrls(new URL("http://localhost:8000/"));
 * // Fanout listening on http://localhost:8000/  (WebSocket: ws://localhost:8000/ws)
 * printUrls(new URL("http://localhost:8000/"), "json");
 * // {"time":"…","level":"info","event":"server.listening","http":"http://localhost:8000/","ws":"ws://localhost:8000/ws"}
 * ```
 */
export function printUrls(
  url: URL,
  format: LogFormat = "pretty",
  print: (line: string) => void = console.log,
  now: () => number = Date.now,
): void {
  const ws = new URL(WS_PATH, url);
  ws.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (format === "json") {
    // The same line format as every other event (the level does not apply: always printed).
    createLogger({ format, write: (line) => print(line), now }).info("server.listening", {
      http: url.href,
      ws: ws.href,
    });
  } else print(`Fanout listening on ${url.href}  (WebSocket: ${ws.href})`);
}
