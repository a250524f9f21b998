/**
 * The start-up warm-up: after the server bound its port and before its first accept (clients
 * that come meanwhile wait in the kernel's backlog), a throwaway copy of it (memory engine, silent
 * logger, limits lifted, connections held in memory) takes `WARM_UP_HANDSHAKES` WebSocket
 * handshakes into one room, each welcomed and then gone. V8 compiles the HTTP, WebSocket and join
 * path before any client is served: after a restart every client reconnects at once, and those
 * first handshakes then cost what later ones do. Nothing of the copy stays: no store, no port, no
 * log line, no metric of the real server.
 *
 * @module
 */

import { listen } from "./deno_server.ts";
import type { Fanout } from "./fanout.ts";
import { loadConfig } from "../shared/config.ts";
import { createLogger, type Logger } from "../shared/log.ts";
import { MemoryConn } from "../transport/memory_conn.ts";
import { MemoryListener } from "../transport/memory_listener.ts";
import { WS_PATH } from "../protocol/handshake.ts";
import { SUBPROTOCOL } from "../protocol/frames.ts";

/** What {@linkcode warmUp} did. */
export interface WarmUpReport {
  /** Handshakes welcomed (0 when none were asked for). */
  handshakes: number;
  /** Bytes the throwaway server wrote to them (their 101s, welcomes and presence). */
  bytes: number;
  /** Milliseconds from the throwaway server's start to its end. */
  ms: number;
  /** Why it stopped early, when it did (the real server starts anyway). */
  error?: string;
}

/** Options of {@linkcode warmUp}. */
export interface WarmUpOptions {
  /** Handshakes under way at a time (default 50). */
  window?: number;
  /** Every `plainEvery`-th handshake asks for plain mode, the others for JSON (default 4). */
  plainEvery?: number;
  /** Event-loop turns a wave may take before the warm-up gives up (default 10 000). */
  maxTurns?: number;
  /** Milliseconds clock (default `performance.now`). */
  now?: () => number;
  /** Starts the throwaway server (default {@linkcode listen}; tests wrap it to watch it end). */
  listen?: typeof listen;
}

const encoder = new TextEncoder();

/** The room of the warm-up's handshakes (the throwaway server's only room). */
const WARM_UP_ROOM = "warm-up";

/**
 * The throwaway server's settings: the defaults (no `ENGINE` nor `REDIS_URL`: the memory engine,
 * never the configured store), with the per-address limits lifted (every handshake comes from one
 * address) and no grace at its shutdown.
 */
const WARM_UP_ENV: Record<string, string> = {
  PORT: "0",
  LOG_LEVEL: "error",
  MAX_CONNECTIONS_PER_IP: "10000000",
  HANDSHAKE_RATE_PER_IP: "1000000",
  HANDSHAKE_BURST_PER_IP: "1000000",
  SHUTDOWN_GRACE_MS: "0",
};

/**
 * The upgrade request of client `i` to `room`, as a browser sends it: in JSON mode
 * (`fanout.v1`), or in plain mode (no subprotocol) when `plain`.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(upgradeRequest(3, "lobby")).startsWith("GET /ws?room=lobby "); // true
 * ```
 */
export function upgradeRequest(i: number, room: string, plain = false): Uint8Array {
  const key = btoa(String(i).padStart(16, "k"));
  return encoder.encode(
    `GET ${WS_PATH}?room=${room} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      (plain ? "" : `Sec-WebSocket-Protocol: ${SUBPROTOCOL}\r\n`) + "\r\n",
  );
}

/** Resolves after the current event-loop turn and its immediates (the server flushes there). */
const turnOver = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs `handshakes` WebSocket handshakes through a throwaway server held in memory, `window` at a
 * time, each until its welcome (a plain-mode one: its 101) was written, then ends them. Never
 * throws: a failure is reported in `error`, and the real server starts anyway.
 *
 * @example
 * ```ts
 * const report = await warmUp(2000);
 * console.log(report.handshakes, report.ms); // 2000 140
 * ```
 */
export async function warmUp(
  handshakes: number,
  options: WarmUpOptions = {},
): Promise<WarmUpReport> {
  const {
    window = 50,
    plainEvery = 4,
    maxTurns = 10_000,
    now = () => performance.now(),
    listen: start = listen,
  } = options;
  if (handshakes <= 0) return { handshakes: 0, bytes: 0, ms: 0 };
  const t0 = now();
  let welcomed = 0, bytes = 0, error: string | undefined;
  const failed = (err: unknown) => error ??= err instanceof Error ? err.message : String(err);
  const silent = createLogger({ level: "error", write: () => {} });
  const listener = new MemoryListener();
  let server: Awaited<ReturnType<typeof listen>> | undefined;
  let keeper: MemoryConn | undefined;
  try {
    server = await start(loadConfig(WARM_UP_ENV), { listener, logger: silent, assets: undefined });
    // The room's first member stays through every wave: each counted join is into a held room.
    keeper = new MemoryConn(upgradeRequest(0, WARM_UP_ROOM));
    listener.connect(keeper);
    await waitAnswered([keeper], new Set(), maxTurns);
    while (welcomed < handshakes) {
      const wave: MemoryConn[] = [], plain = new Set<MemoryConn>();
      for (let i = 0; i < window && welcomed + wave.length < handshakes; i++) {
        const n = welcomed + wave.length + 1;
        const conn = new MemoryConn(upgradeRequest(n, WARM_UP_ROOM, n % plainEvery === 0));
        if (n % plainEvery === 0) plain.add(conn);
        wave.push(conn);
        listener.connect(conn);
      }
      await waitAnswered(wave, plain, maxTurns);
      for (const conn of wave) conn.close();
      welcomed += wave.length;
      for (const conn of wave) bytes += conn.bytes;
    }
  } catch (err) {
    failed(err);
  } finally {
    keeper?.close();
    await server?.shutdown().catch(failed);
  }
  const report: WarmUpReport = { handshakes: welcomed, bytes, ms: now() - t0 };
  return error === undefined ? report : { ...report, error };
}

/**
 * Waits until each of `conns` was answered: its 101 and its welcome, or (those in `plain`, which
 * get no welcome frame) its 101.
 */
async function waitAnswered(conns: MemoryConn[], plain: Set<MemoryConn>, maxTurns: number) {
  const done = (c: MemoryConn) => plain.has(c) ? c.writes > 0 : c.framed;
  for (let turns = 0; !conns.every(done); turns++) {
    if (turns >= maxTurns) {
      const waiting = conns.filter((c) => !done(c)).length;
      throw new Error(
        `${waiting} of ${conns.length} handshakes got no answer in ${maxTurns} turns`,
      );
    }
    await turnOver();
  }
}

/**
 * The warm-up as `listen`'s `beforeServing` step: runs {@linkcode warmUp} once the real server's
 * socket is bound (clients that come meanwhile wait in the kernel's backlog) and logs it on the
 * real server's logger ({@linkcode logWarmUp}).
 *
 * @example
 * ```ts
 * const server = await listen(config, { beforeServing: warmUpBeforeServing(config.warmUpHandshakes) });
 * ```
 */
export function warmUpBeforeServing(
  handshakes: number,
  options: WarmUpOptions = {},
): (fanout: Fanout) => Promise<void> {
  return async (fanout) => logWarmUp(await warmUp(handshakes, options), fanout.deps.logger);
}

/**
 * Logs what {@linkcode warmUp} did on the real server's logger: `server.warmed_up` (info), or
 * `server.warm_up_failed` (warn) with the reason; nothing when it was off.
 *
 * @example
 * ```ts
 * logWarmUp({ handshakes: 2000, bytes: 5_000_000, ms: 140 }, logger); // INFO server.warmed_up handshakes=2000 ms=140
 * ```
 */
export function logWarmUp(report: WarmUpReport, logger: Logger): void {
  const fields = { handshakes: report.handshakes, ms: Math.round(report.ms) };
  if (report.error !== undefined) {
    logger.warn("server.warm_up_failed", { ...fields, error: report.error });
  } else if (report.handshakes > 0) logger.info("server.warmed_up", fields);
}
