/**
 * The hub: the pool of live connections per room, the path from an incoming frame to the
 * engine, and the fan-out of accepted messages to every other connection of the room.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { Connection, type SocketLike } from "./connection.ts";
import { type Engine, epochOf } from "./engine.ts";
import type { Handshake } from "./handshake.ts";
import { connectionIds } from "./ids.ts";
import type { Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { PresenceBatch } from "./presence.ts";
import { takeFrame } from "./frame_intake.ts";
import { buildWelcome } from "./welcome.ts";
import { Outbound } from "./outbound.ts";
import type { ChatMessage, ErrorCode, ServerFrame } from "./protocol.ts";
import { RateLimiter } from "./rate_limiter.ts";

/** Settings the hub reads from {@linkcode Config}. */
export type HubConfig = Pick<
  Config,
  | "maxMessageBytes"
  | "historyOnJoin"
  | "rateLimit"
  | "rateBurst"
  | "rateLimitCloseAfter"
  | "maxConnections"
  | "maxBufferedBytes"
  | "presenceIntervalMs"
  | "flushBytes"
>;

/** Injectable collaborators of the hub. */
export interface HubOptions {
  config: HubConfig;
  engine: Engine;
  logger: Logger;
  metrics?: Metrics;
  /** Wall clock in epoch ms (default `Date.now`). */
  now?: () => number;
  /** Monotonic clock for rate limits (default `performance.now`). */
  monotonic?: () => number;
  newId?: () => string;
  /**
   * Runs `fn` once the current turn's work is queued (default `setImmediate`: after the
   * event-loop turn, so every message read in that turn shares one frame per connection).
   */
  defer?: (fn: () => void) => void;
  /** Timer for presence batches and slow-consumer checks (default `setTimeout`). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  /** Cancels a timer of `setTimer` (default `clearTimeout`). */
  clearTimer?: (handle: unknown) => void;
  /** How long a backlog over `maxBufferedBytes` may last without shrinking (default 1000 ms). */
  slowGraceMs?: number;
}

interface LocalRoom {
  members: Set<Connection>;
  joining: Map<Connection, ChatMessage[]>;
  presence: PresenceBatch;
  ready: Promise<void>;
  /** Epoch announced by the engine's latest reset of this room, and how many resets came. */
  epoch: string | null;
  resets: number;
}

/** Close code of a restart or shutdown: clients reconnect. */
export const CLOSE_RESTART = 1012;

/**
 * Routes frames between connections, rooms and the engine.
 *
 * @example
 * ```ts
 * const hub = new Hub({ config, engine: new MemoryEngine(options), logger: silentLogger });
 * const conn = hub.accept(socket, handshake, true);
 * if (conn) socket.onopen = () => hub.open(conn);
 * ```
 */
export class Hub {
  readonly metrics: Metrics;
  #config: HubConfig;
  #engine: Engine;
  #log: Logger;
  #now: () => number;
  #monotonic: () => number;
  #newId: () => string;
  #defer: (fn: () => void) => void;
  #setTimer: (fn: () => void, ms: number) => unknown;
  #out: Outbound;
  #connections = new Set<Connection>();
  #rooms = new Map<string, LocalRoom>();
  #drained: (() => void) | null = null;

  constructor(options: HubOptions) {
    this.#config = options.config;
    this.#engine = options.engine;
    this.#log = options.logger;
    this.metrics = options.metrics ?? new Metrics();
    this.#now = options.now ?? Date.now;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#newId = options.newId ?? connectionIds();
    this.#defer = options.defer ?? setImmediate;
    this.#setTimer = options.setTimer ?? setTimeout;
    this.#out = new Outbound({
      flushBytes: this.#config.flushBytes,
      maxBufferedBytes: this.#config.maxBufferedBytes,
      metrics: this.metrics,
      logger: this.#log,
      onClosed: (conn) => this.remove(conn),
      defer: this.#defer,
      setTimer: this.#setTimer,
      clearTimer: options.clearTimer ?? ((h) => clearTimeout(h as number)),
      slowGraceMs: options.slowGraceMs,
    });
    this.#engine.onReset?.((room, epoch) => this.reset(room, epoch));
  }

  /** Connections currently held (joining or open). */
  get size(): number {
    return this.#connections.size;
  }

  /** Local connections per room. */
  roomSizes(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, room] of this.#rooms) out.set(name, room.members.size + room.joining.size);
    return out;
  }

  /** Sum of bytes waiting for every socket. */
  backlog(): number {
    let total = 0;
    for (const conn of this.#connections) total += conn.backlog;
    return total;
  }

  /** Registers a new socket, or returns null when `maxConnections` are already held. */
  accept(socket: SocketLike, handshake: Handshake, json: boolean): Connection | null {
    if (this.#connections.size >= this.#config.maxConnections) return null;
    const { rateLimit, rateBurst, rateLimitCloseAfter } = this.#config;
    const limiter = new RateLimiter({
      rate: rateLimit,
      burst: rateBurst,
      closeAfter: rateLimitCloseAfter,
      now: this.#monotonic,
    });
    const conn = new Connection(this.#newId(), socket, handshake, json, limiter);
    this.#connections.add(conn);
    this.metrics.connectionsTotal++;
    return conn;
  }

  /** Called when the socket opens: joins the room and sends the welcome with history. */
  async open(conn: Connection, resume: Handshake["resume"] = null): Promise<void> {
    let room = this.#rooms.get(conn.room);
    if (!room) {
      room = {
        members: new Set(),
        joining: new Map(),
        presence: new PresenceBatch(),
        ready: this.#engine.join(conn.room),
        epoch: null,
        resets: 0,
      };
      this.#rooms.set(conn.room, room);
    }
    room.joining.set(conn, []);
    const resets = room.resets;
    try {
      await room.ready;
      const recovery = await this.#engine.recover(conn.room, resume, this.#config.historyOnJoin);
      const online = this.#engine.online(conn.room, room.members.size + room.joining.size);
      const { maxMessageBytes, rateLimit, rateBurst } = this.#config;
      const limits = { maxMessageBytes, rateLimit, rateBurst };
      const welcome = buildWelcome(conn, recovery, online, limits, resume !== null);
      if (conn.state === "closed") return;
      if (room.resets !== resets && room.epoch !== recovery.epoch) {
        // The room's epoch changed while this recovery was read: it may describe the old one.
        return this.#restart(conn, "room history was reset; rejoin");
      }
      const held = room.joining.get(conn) ?? [];
      room.joining.delete(conn);
      room.members.add(conn);
      conn.state = "open";
      conn.epoch = recovery.epoch;
      conn.floor = recovery.offset;
      if (conn.json) conn.pushFirst(JSON.stringify(welcome));
      for (const m of held) {
        if (m.offset > recovery.offset && epochOf(m) === conn.epoch) {
          this.#queue(conn, conn.json ? JSON.stringify(m) : m.text);
        }
      }
      this.#queue(conn, null);
      this.#announce(conn.room, room, "joined", conn);
      this.#log.debug("ws.join", { id: conn.id, room: conn.room, recovered: recovery.recovered });
    } catch (err) {
      this.#log.warn("ws.join_failed", { id: conn.id, room: conn.room, error: String(err) });
      this.metrics.reject("unavailable");
      this.#send(conn, {
        type: "error",
        code: "unavailable",
        message: "the server cannot load this room now; retry shortly",
      });
      // Written now: closing empties the queue, and the turn's flush skips connections that
      // never opened.
      try {
        this.metrics.framesOut += conn.flush();
      } catch {
        // the socket is gone already: the close below is all that is left
      }
      conn.close(1011, "room unavailable");
      this.remove(conn);
    }
  }

  /** Called on close or error: forgets the connection and announces the leave. */
  remove(conn: Connection): void {
    if (!this.#connections.delete(conn)) return;
    this.#out.forget(conn);
    if (this.#drained && this.#connections.size === 0) this.#drained();
    if (conn.state !== "closed") conn.state = "closed";
    const room = this.#rooms.get(conn.room);
    if (!room) return;
    const wasMember = room.members.delete(conn);
    room.joining.delete(conn);
    if (wasMember) this.#announce(conn.room, room, "left", conn);
    if (room.members.size === 0 && room.joining.size === 0) {
      this.#rooms.delete(conn.room);
      this.#engine.leave(conn.room);
    }
  }

  /** Handles one incoming frame. */
  receive(conn: Connection, data: string | ArrayBuffer | Blob): void {
    if (conn.state === "closed") return;
    const intake = takeFrame(conn, data, this.#config);
    switch (intake.kind) {
      case "message":
        return this.#publish(conn, intake.text, intake.ref);
      case "ping":
        return this.#send(conn, { type: "pong", t: intake.t });
      case "reject":
        return this.#reject(conn, intake.code, intake.message, intake.ref);
      case "close":
        return this.#abuse(conn, intake.code, intake.reason, intake.sentence);
    }
  }

  #publish(conn: Connection, text: string, ref: string | null): void {
    const draft = {
      room: conn.room,
      from: conn.id,
      client: conn.client,
      name: conn.name,
      text,
      ref,
    };
    this.#engine.publish(draft).then(
      (result) => {
        if (result.status === "accepted") this.metrics.messagesIn++;
        if (!conn.json) return;
        const ack = result.status === "accepted" ? result.message : result;
        this.#send(conn, { type: "ack", ref, offset: ack.offset, ts: ack.ts });
      },
      (err) => {
        this.#log.warn("publish.failed", { id: conn.id, room: conn.room, error: String(err) });
        this.#reject(
          conn,
          "unavailable",
          "the message could not be stored; it was not sent, retry later",
          ref ?? undefined,
        );
      },
    );
  }

  /**
   * Fans an accepted message out to every local connection of its room except the sender, and
   * only to connections welcomed in the message's epoch (offsets of two epochs must never mix in
   * one connection; one welcomed in another epoch is told to rejoin) whose welcome did not
   * already cover it (offset above the welcome's).
   */
  deliver(message: ChatMessage): void {
    const room = this.#rooms.get(message.room);
    if (!room) return;
    for (const [joiner, held] of room.joining) if (joiner.id !== message.from) held.push(message);
    const epoch = epochOf(message);
    let json: string | undefined;
    let count = 0;
    let stale: Connection[] | null = null;
    const offset = message.offset;
    for (const conn of room.members) {
      if (conn.epoch !== epoch) {
        (stale ??= []).push(conn);
        continue;
      }
      // Not back to the sender, and nothing the welcome already covered (a feed behind Redis
      // can deliver a message after a joiner's welcome held it in its history).
      if (offset <= conn.floor || conn.id === message.from) continue;
      this.#queue(conn, conn.json ? (json ??= JSON.stringify(message)) : message.text);
      count++;
    }
    this.metrics.messagesOut += count;
    if (stale) { for (const conn of stale) this.#restart(conn, "room history was reset; rejoin"); }
  }

  /**
   * Called by the engine when `name` moved to `epoch` (its history was lost or rolled back):
   * every local connection welcomed in another epoch is closed with 1012 so that it rejoins and
   * gets a welcome of the new epoch (with `recovered: false`).
   */
  reset(name: string, epoch: string): void {
    const room = this.#rooms.get(name);
    if (!room) return;
    room.epoch = epoch;
    room.resets++;
    const stale = [...room.members].filter((conn) => conn.epoch !== epoch);
    this.#log.info("ws.room_reset", { room: name, epoch, closing: stale.length });
    for (const conn of stale) this.#restart(conn, "room history was reset; rejoin");
  }

  /** Sends what is queued for `conn`, then closes it with 1012 so that the client rejoins. */
  #restart(conn: Connection, reason: string): void {
    this.#out.flushOne(conn);
    conn.close(CLOSE_RESTART, reason);
    this.remove(conn);
  }

  /**
   * Shutdown: flushes and closes every socket with 1012 so clients reconnect elsewhere or later.
   * Resolves when every socket has finished closing.
   */
  drain(): Promise<void> {
    this.#out.flushAll();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#drained = resolve;
    for (const conn of this.#connections) conn.close(CLOSE_RESTART, "server restarting");
    if (this.#connections.size === 0) resolve();
    return promise;
  }

  #send(conn: Connection, frame: ServerFrame): void {
    if (conn.json) this.#queue(conn, JSON.stringify(frame));
    else if (frame.type === "error") this.#queue(conn, `error: ${frame.message}`);
  }

  #reject(conn: Connection, code: ErrorCode, message: string, ref?: string): void {
    this.metrics.reject(code);
    this.#send(
      conn,
      ref === undefined ? { type: "error", code, message } : { type: "error", code, message, ref },
    );
  }

  #abuse(conn: Connection, code: number, reason: ErrorCode, sentence: string): void {
    this.metrics.reject(reason);
    this.#log.info("ws.closed_abusive", { id: conn.id, room: conn.room, code, reason });
    this.#out.flushOne(conn);
    conn.close(code, sentence);
    this.remove(conn);
  }

  #queue(conn: Connection, frame: string | null): void {
    this.#out.queue(conn, frame);
  }

  #announce(name: string, room: LocalRoom, kind: "joined" | "left", conn: Connection): void {
    room.presence[kind].push({ id: conn.id, name: conn.name });
    this.#schedulePresence(name, room);
  }

  /**
   * Called by the engine when other instances changed the number online in `room`: members get
   * a presence frame with the new `online` count.
   */
  remotePresence(name: string): void {
    const room = this.#rooms.get(name);
    if (!room) return;
    room.presence.remote = true;
    this.#schedulePresence(name, room);
  }

  #schedulePresence(name: string, room: LocalRoom): void {
    if (room.presence.scheduled) return;
    room.presence.scheduled = true;
    const run = () => {
      room.presence.scheduled = false;
      if (room.presence.empty) return;
      const online = this.#engine.online(name, room.members.size + room.joining.size);
      const frame = JSON.stringify(room.presence.take(online));
      for (const member of room.members) {
        if (!member.json) continue;
        this.#queue(member, frame);
        this.metrics.presenceFrames++;
      }
    };
    if (this.#config.presenceIntervalMs === 0) this.#defer(run);
    else this.#setTimer(run, this.#config.presenceIntervalMs);
  }
}
