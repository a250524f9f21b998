/**
 * The hub: the pool of live connections per room, the path from an incoming frame to the
 * engine, and the fan-out of accepted messages to every other connection of the room.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { Connection, FrameCache, type SocketLike } from "./connection.ts";
import type { Engine } from "./engine.ts";
import type { Handshake } from "./handshake.ts";
import { connectionIds } from "./ids.ts";
import type { Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { PresenceBatch } from "./presence.ts";
import {
  type ChatMessage,
  type ErrorCode,
  parseClientFrame,
  parsePlainFrame,
  type ServerFrame,
} from "./protocol.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { exceedsBytes } from "./text_size.ts";

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
}

/** Close codes the server uses. */
export const CloseCode = { restart: 1012, policy: 1008, tooBig: 1009, slow: 4008 } as const;

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
  #clearTimer: (handle: unknown) => void;
  #slowGraceMs: number;
  /** Connections over the buffer limit, with the timer that judges them. */
  #slow = new Map<Connection, unknown>();
  #connections = new Set<Connection>();
  #rooms = new Map<string, LocalRoom>();
  #dirty: Connection[] = [];
  #flushScheduled = false;
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
    this.#clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as number));
    this.#slowGraceMs = options.slowGraceMs ?? 1000;
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
      };
      this.#rooms.set(conn.room, room);
    }
    room.joining.set(conn, []);
    let welcome: ServerFrame;
    try {
      await room.ready;
      const recovery = await this.#engine.recover(conn.room, resume, this.#config.historyOnJoin);
      // Leave out the client's own messages, and those this connection sent before its welcome.
      const own = conn.client;
      const history = recovery.history.filter((m) =>
        m.from !== conn.id && (own === null || m.client !== own)
      );
      welcome = {
        type: "welcome",
        id: conn.id,
        room: conn.room,
        epoch: recovery.epoch,
        offset: recovery.offset,
        online: this.#engine.online(conn.room, room.members.size + room.joining.size),
        recovered: recovery.recovered,
        history,
        limits: {
          maxMessageBytes: this.#config.maxMessageBytes,
          rateLimit: this.#config.rateLimit,
          rateBurst: this.#config.rateBurst,
        },
      };
      if (conn.state === "closed") return;
      const held = room.joining.get(conn) ?? [];
      room.joining.delete(conn);
      room.members.add(conn);
      conn.state = "open";
      if (conn.json) conn.pushFirst(JSON.stringify(welcome));
      for (const m of held) {
        if (m.offset > recovery.offset) this.#queue(conn, conn.json ? JSON.stringify(m) : m.text);
      }
      this.#queue(conn, null);
      this.#announce(conn.room, room, "joined", conn);
      this.#log.debug("ws.join", { id: conn.id, room: conn.room, recovered: recovery.recovered });
    } catch (err) {
      this.#log.warn("ws.join_failed", { id: conn.id, room: conn.room, error: String(err) });
      this.#send(conn, {
        type: "error",
        code: "unavailable",
        message: "the server cannot load this room now; retry shortly",
      });
      conn.close(1011, "room unavailable");
      this.remove(conn);
    }
  }

  /** Called on close or error: forgets the connection and announces the leave. */
  remove(conn: Connection): void {
    if (!this.#connections.delete(conn)) return;
    if (this.#slow.has(conn)) {
      this.#clearTimer(this.#slow.get(conn));
      this.#slow.delete(conn);
    }
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
    const max = this.#config.maxMessageBytes;
    if (typeof data !== "string") {
      const size = data instanceof Blob ? data.size : data.byteLength;
      if (size > 4 * max) {
        return this.#abuse(conn, CloseCode.tooBig, "too_large", "frame far over the size limit");
      }
      if (!this.#withinRate(conn)) return;
      return this.#reject(
        conn,
        "unsupported_binary",
        "binary frames are not supported; send UTF-8 text",
      );
    }
    if (exceedsBytes(data, max)) {
      if (data.length > 4 * max) {
        return this.#abuse(conn, CloseCode.tooBig, "too_large", "frame far over the size limit");
      }
      if (!this.#withinRate(conn)) return;
      return this.#reject(conn, "too_large", `frame is larger than the limit of ${max} bytes`);
    }
    const parsed = conn.json ? parseClientFrame(data) : parsePlainFrame(data);
    const ref = parsed.ok
      ? (parsed.frame.type === "message" ? parsed.frame.ref : undefined)
      : parsed.error.ref;
    if (!this.#withinRate(conn, ref)) return;
    if (!parsed.ok) {
      return this.#reject(conn, parsed.error.code, parsed.error.message, parsed.error.ref);
    }
    const frame = parsed.frame;
    if (frame.type === "ping") return this.#send(conn, { type: "pong", t: frame.t });
    this.#publish(conn, frame.text, frame.ref ?? null);
  }

  /**
   * Takes a token for any frame (refused ones too, so a flood of binary or oversized frames is
   * limited like any other); answers `rate_limited`, or closes 1008 on sustained abuse.
   */
  #withinRate(conn: Connection, ref?: string): boolean {
    if (conn.limiter.take()) return true;
    if (conn.limiter.abusive) {
      this.#abuse(conn, CloseCode.policy, "rate_limited", "rate limit exceeded");
    } else {
      this.#reject(
        conn,
        "rate_limited",
        `too many frames: at most ${this.#config.rateLimit} per second`,
        ref,
      );
    }
    return false;
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

  /** Fans an accepted message out to every local connection of its room except the sender. */
  deliver(message: ChatMessage): void {
    const room = this.#rooms.get(message.room);
    if (!room) return;
    for (const [joiner, held] of room.joining) if (joiner.id !== message.from) held.push(message);
    let json: string | undefined;
    let count = 0;
    for (const conn of room.members) {
      if (conn.id === message.from) continue;
      this.#queue(conn, conn.json ? (json ??= JSON.stringify(message)) : message.text);
      count++;
    }
    this.metrics.messagesOut += count;
  }

  /**
   * Shutdown: flushes and closes every socket with 1012 so clients reconnect elsewhere or later.
   * Resolves when every socket has finished closing.
   */
  drain(): Promise<void> {
    this.#flush();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#drained = resolve;
    for (const conn of this.#connections) conn.close(CloseCode.restart, "server restarting");
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
    this.#flushOne(conn);
    conn.close(code, sentence);
    this.remove(conn);
  }

  /** Queues a frame (or just marks the connection, with null) and schedules the turn's flush. */
  #queue(conn: Connection, frame: string | null): void {
    if (frame !== null && conn.push(frame) >= this.#config.flushBytes && conn.state === "open") {
      this.#flushOne(conn);
      return;
    }
    if (conn.dirty) return;
    conn.dirty = true;
    this.#dirty.push(conn);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      this.#defer(this.#flush);
    }
  }

  #flush = (): void => {
    this.#flushScheduled = false;
    const list = this.#dirty;
    this.#dirty = [];
    const cache = new FrameCache();
    for (const conn of list) this.#flushOne(conn, cache);
  };

  #flushOne(conn: Connection, cache?: FrameCache): void {
    conn.dirty = false;
    if (conn.state !== "open") return;
    try {
      this.metrics.framesOut += conn.flush(cache);
    } catch (err) {
      this.#log.warn("ws.send_failed", { id: conn.id, error: String(err) });
      conn.close(1011, "send failed");
      this.remove(conn);
      return;
    }
    const limit = this.#config.maxBufferedBytes;
    if (conn.backlog > 4 * limit) this.#closeSlow(conn, conn.backlog);
    else if (conn.backlog > limit) this.#watchSlow(conn);
  }

  #closeSlow(conn: Connection, backlog: number): void {
    this.metrics.slowConsumers++;
    this.#log.info("ws.slow_consumer", { id: conn.id, room: conn.room, backlog });
    conn.close(CloseCode.slow, "slow consumer");
    this.remove(conn);
  }

  /**
   * Judges a connection over `maxBufferedBytes` one grace period later. Deno counts every byte
   * handed to `send` in `bufferedAmount` until its write completes, and writes progress only
   * between event-loop turns, so right after a burst or a large welcome even a fast reader is
   * over the limit. A connection still over it whose backlog did not shrink is closed 4008; one
   * that is draining is looked at again later. Past 4 times the limit it is closed at once, which
   * bounds memory while the grace runs.
   */
  #watchSlow(conn: Connection): void {
    if (this.#slow.has(conn)) return;
    const mark = conn.backlog;
    const timer = this.#setTimer(() => {
      this.#slow.delete(conn);
      if (conn.state !== "open") return;
      const backlog = conn.backlog;
      if (backlog <= this.#config.maxBufferedBytes) return;
      if (backlog < mark) return this.#watchSlow(conn);
      this.#closeSlow(conn, backlog);
    }, this.#slowGraceMs);
    this.#slow.set(conn, timer);
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
