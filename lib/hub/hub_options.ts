/**
 * The hub's settings and injectable collaborators, and how its parts (outbound queue, presence
 * schedule, join flow, frame router) are built from them.
 *
 * @module
 */

import { realTimers, type Timers } from "../shared/timers.ts";
import type { Config } from "../server/config.ts";
import type { Connection } from "./connection.ts";
import type { Engine } from "../engine/engine.ts";
import { FrameRouter } from "./inbound.ts";
import { JoinFlow } from "./join.ts";
import type { LocalRoom } from "./room.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "./metrics.ts";
import { Outbound } from "./outbound.ts";
import { PresenceSchedule } from "./presence.ts";

/** Settings the hub reads from {@linkcode Config}. */
export type HubConfig = Pick<
  Config,
  | "maxMessageBytes"
  | "historyOnJoin"
  | "rateLimit"
  | "rateBurst"
  | "rateLimitCloseAfter"
  | "maxConnections"
  | "maxConnectionsPerIp"
  | "handshakeRatePerIp"
  | "handshakeBurstPerIp"
  | "newRoomsPerMinutePerIp"
  | "rateLimitPerIp"
  | "rateBurstPerIp"
  | "maxTrackedAddresses"
  | "maxRooms"
  | "maxBufferedBytes"
  | "sendQueueBytes"
  | "presenceIntervalMs"
  | "presenceFramesPerSecond"
  | "flushBytes"
>;

/** Injectable collaborators of the hub. */
export interface HubOptions {
  config: HubConfig;
  engine: Engine;
  logger: Logger;
  metrics?: Metrics;
  /** Monotonic clock for rate limits (default `performance.now`). */
  monotonic?: () => number;
  newId?: () => string;
  /**
   * Runs `fn` once the current turn's work is queued (default `setImmediate`: after the
   * event-loop turn, so every message read in that turn shares one frame per connection).
   */
  defer?: (fn: () => void) => void;
  /** Timers of presence batches and slow-consumer checks (default `setTimeout`/`clearTimeout`). */
  timers?: Timers;
  /** How long a backlog over `maxBufferedBytes` may last without shrinking (default 1000 ms). */
  slowGraceMs?: number;
}

/** What the parts call back into the hub for. */
export interface HubCallbacks {
  /** The local room named `name`, created (and joined in the engine) when new. */
  room: (name: string) => LocalRoom;
  /** Closes a connection with 1012 so that its client rejoins. */
  restart: (conn: Connection, reason: string) => void;
  /** Forgets a closed connection. */
  remove: (conn: Connection) => void;
  /** Every connection held. */
  connections: () => Iterable<Connection>;
}

/** The hub's collaborators. */
export interface HubParts {
  out: Outbound;
  presence: PresenceSchedule;
  join: JoinFlow;
  frames: FrameRouter;
}

/**
 * Builds the hub's parts from its options, with the defaults for timers.
 *
 * @example
 * ```ts
 * const parts = hubParts(options, metrics, { room, restart, remove });
 * parts.out.queue(conn, '{"type":"pong","t":1}');
 * ```
 */
export function hubParts(options: HubOptions, metrics: Metrics, hub: HubCallbacks): HubParts {
  const { config, engine, logger } = options;
  const defer = options.defer ?? setImmediate;
  const timers = options.timers ?? realTimers;
  const out = new Outbound({
    flushBytes: config.flushBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    metrics,
    logger,
    onClosed: hub.remove,
    defer,
    timers,
    slowGraceMs: options.slowGraceMs,
    sendQueueBytes: config.sendQueueBytes,
    connections: hub.connections,
    now: options.monotonic,
  });
  const presence = new PresenceSchedule({
    intervalMs: config.presenceIntervalMs,
    framesPerSecond: config.presenceFramesPerSecond,
    defer,
    timers,
    online: (room, local) => engine.online(room, local),
    queue: (conn, frame) => out.queue(conn, frame),
    metrics,
  });
  const { room, restart } = hub;
  const join = new JoinFlow({ config, engine, logger, metrics, out, presence, room, restart });
  const frames = new FrameRouter({ limits: config, engine, logger, metrics, out });
  return { out, presence, join, frames };
}
