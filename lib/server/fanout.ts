/**
 * Builds a whole Fanout server (engine, hub, routes) from a config, without listening:
 * `main.ts` and the tests listen through the Deno adapter.
 *
 * @module
 */

import { type AssetStore, createAssetStore } from "../web/assets.ts";
import { settleWithin } from "../shared/timers.ts";
import type { Hono } from "hono";
import { createApp, wsRoute } from "./app.ts";
import type { WebSocketRoute } from "../transport/http_connection.ts";
import type { AppDeps } from "./app.ts";
import type { MemoryUsage } from "../shared/memory_usage.ts";
import type { RequestInfo } from "../shared/request_info.ts";
import type { Upgrade } from "../hub/upgraded_socket.ts";
import { authRequired, type Config } from "../shared/config.ts";
import type { TokenVerifier } from "../auth/identity.ts";
import { createTokenVerifier } from "../auth/token_verifier.ts";
import type { Engine } from "../engine/engine.ts";
import { Hub } from "../hub/hub.ts";
import { createLogger, type Logger, type LogLevel } from "../shared/log.ts";
import { createLogThrottle } from "../shared/log_throttle.ts";
import { MemoryEngine } from "../engine/memory/memory_engine.ts";
import { RedisEngine } from "../engine/redis/redis_engine.ts";
import { KvEngine } from "../engine/kv/kv_engine.ts";
import type { KvHandle } from "../engine/kv/kv_handle.ts";
import type { PeerChannel } from "../engine/kv/kv_peers.ts";

/** Runtime pieces injected into {@linkcode createFanout}. */
export interface FanoutOptions {
  upgrade: Upgrade;
  /** Used as is when given; by default a logger per the config, throttled per event name. */
  logger?: Logger;
  /** Where the default logger writes its lines (default: stdout, stderr for warn and error). */
  logWrite?: (line: string, level: LogLevel) => void;
  memory?: () => MemoryUsage;
  now?: () => number;
  engine?: Engine;
  /**
   * Opens the Deno KV store at a path, for `ENGINE=kv` (the Deno adapter gives `Deno.openKv`,
   * with the folder made and a clear error when the file cannot be used).
   */
  openKv?: (path: string) => Promise<KvHandle>;
  /**
   * Opens the channel to the other workers of this process on the same KV file, for `ENGINE=kv`
   * (the Deno adapter gives a `BroadcastChannel` named after the file; none for `:memory:`).
   */
  kvPeers?: (path: string) => PeerChannel | null;
  /** Interval of engine housekeeping in ms (default 10 000). */
  maintainEveryMs?: number;
  /**
   * Makes the asset store, given the server's logger (default: a store without assets; the Deno
   * adapter gives the bundle and the style sheet).
   */
  assets?: (logger: Logger) => AssetStore;
  /**
   * Checks connection tokens (default: in auth mode, `createTokenVerifier` over the configured
   * keys, on the `now` clock; none in open mode).
   */
  verifier?: TokenVerifier;
}

/** A built server: its app, its parts, and its lifecycle. */
export interface Fanout {
  app: Hono;
  /** Answers a request; `info` carries the client's address (as `Deno.serve` gives it). */
  fetch: (req: Request, info?: RequestInfo) => Response | Promise<Response>;
  /**
   * The WebSocket route by itself: a server that reads requests itself answers `GET /ws` there
   * as `fetch` would, without building a `Request` (`HttpServerOptions.webSocketRoute`).
   */
  webSocketRoute: WebSocketRoute;
  deps: AppDeps;
  /** Starts the engine and the housekeeping timer. */
  start(): Promise<void>;
  /** Refuses new sockets, closes open ones with 1012 and stops the engine. */
  shutdown(): Promise<void>;
}

/**
 * Creates the server.
 *
 * @example
 * ```ts
 * const fanout = createFanout(loadConfig({}), { upgrade: Deno.upgradeWebSocket });
 * await fanout.start();
 * Deno.serve(fanout.fetch);
 * ```
 */
export function createFanout(config: Config, options: FanoutOptions): Fanout {
  // Every event an anonymous client can trigger at will (ws.refused, ws.closed_abusive,
  // http.error, ...) goes through the throttle; server.* events always pass.
  const throttle = options.logger ? null : createLogThrottle(
    createLogger({ level: config.logLevel, format: config.logFormat, write: options.logWrite }),
    { linesPerEvent: config.logLinesPerEvent, level: config.logLevel },
  );
  const logger = options.logger ?? throttle!;
  const now = options.now ?? Date.now;
  const engine = options.engine ??
    createEngine(config, { logger, now, openKv: options.openKv, kvPeers: options.kvPeers });
  // Keys are imported asynchronously: `start` waits for them and fails on a key it cannot read,
  // so a bad key never means a server that runs.
  const keys = options.verifier || !authRequired(config)
    ? null
    : createTokenVerifier({ ...config, now });
  keys?.catch(() => {}); // reported by start()
  const verifier: TokenVerifier | null = options.verifier ??
    (keys === null ? null : { verify: async (token) => await (await keys).verify(token) });
  const hub = new Hub({ config, engine, logger, now, verifier });
  const deps: AppDeps = {
    config,
    hub,
    engine,
    logger,
    upgrade: options.upgrade,
    memory: options.memory ?? (() => ({ rss: 0, heapUsed: 0 })),
    now,
    startedAt: now(),
    lifecycle: { draining: false },
    inbound: { held: 0, max: config.inboundBytes },
    transport: null,
    assets: options.assets?.(logger) ?? createAssetStore(() => Promise.resolve([])),
    verifier,
  };
  const app = createApp(deps);
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    app,
    fetch: (req, info) => app.fetch(req, info),
    webSocketRoute: wsRoute(deps),
    deps,
    async start() {
      await keys;
      await engine.start(hub.events);
      timer = setInterval(() => {
        engine.maintain(now());
        hub.maintain();
        engine.reportPresence?.(hub.roomSizes());
      }, options.maintainEveryMs ?? 10_000);
      logger.info("engine.started", { engine: engine.name });
      if (verifier === null) {
        logger.info("auth.open", {
          note: "anyone may join any room; set AUTH_SECRET or AUTH_PUBLIC_KEY to require tokens",
        });
      } else {
        logger.info("auth.tokens", { anonymous: config.allowAnonymous ? "public rooms" : "no" });
      }
    },
    async shutdown() {
      deps.lifecycle.draining = true;
      clearInterval(timer);
      await settleWithin(hub.drain(), config.shutdownGraceMs);
      await engine.close();
      throttle?.flush();
    },
  };
}

/**
 * Creates the engine the config asks for.
 *
 * @example
 * ```ts
 * createEngine(loadConfig({}), { logger: silentLogger }).name; // "memory"
 * createEngine(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }), { logger }).name; // "redis"
 * createEngine(loadConfig({ ENGINE: "kv" }), { logger, openKv: (p) => Deno.openKv(p) }).name; // "kv"
 * ```
 */
export function createEngine(
  config: Config,
  options: {
    logger: Logger;
    now?: () => number;
    openKv?: (path: string) => Promise<KvHandle>;
    kvPeers?: (path: string) => PeerChannel | null;
  },
): Engine {
  const common = {
    historySize: config.historySize,
    dedupTtlMs: config.dedupTtlMs,
    maxRefs: config.dedupMaxRefs,
    roomTtlMs: config.roomTtlMs,
    now: options.now,
  };
  if (config.engine === "kv") {
    const openKv = options.openKv;
    if (!openKv) throw new Error("ENGINE=kv needs a way to open Deno KV (FanoutOptions.openKv)");
    return new KvEngine({
      ...common,
      kv: () => openKv(config.kvPath),
      historyBytes: config.kvHistoryBytes,
      roomHistoryBytes: config.roomHistoryBytes,
      maxRooms: config.maxRooms,
      maxDiskRooms: config.kvMaxRooms,
      maxDiskRefs: config.kvMaxRefs,
      historyReadBytes: 2 * config.maxBufferedBytes,
      tailBytes: config.historyBytes,
      logger: options.logger,
      peers: options.kvPeers?.(config.kvPath) ?? undefined,
      presenceTtlMs: config.presenceTtlMs,
    });
  }
  if (config.redisUrl !== null) {
    return new RedisEngine({
      ...common,
      maxRooms: config.maxRooms,
      historyReadBytes: 2 * config.maxBufferedBytes,
      now: options.now ?? Date.now,
      url: config.redisUrl,
      logger: options.logger,
      keyPrefix: config.redisKeyPrefix,
      commandTimeoutMs: config.redisTimeoutMs,
      pingIntervalMs: config.redisPingIntervalMs,
      presenceTtlMs: config.presenceTtlMs,
    });
  }
  return new MemoryEngine({
    ...common,
    historyBytes: config.historyBytes,
    roomHistoryBytes: config.roomHistoryBytes,
    maxRooms: config.maxRooms,
  });
}
