/**
 * The hub: the pool of live connections per room and the fan-out of accepted messages to every
 * other connection of the room, the per-address limits and the socket's lifecycle. The join flow
 * (`join_flow.ts`), the incoming frames (`inbound.ts`), presence batching
 * (`presence_schedule.ts`) and the send queues with their per-turn flush (`outbound.ts`) live in
 * their own files.
 *
 * @module
 */

import { Close } from "../protocol/close_codes.ts";
import { type AddressEntry, AddressLimits } from "./address_limits.ts";
import { Connection, Subscription } from "./connection.ts";
import type { UpgradedSocket } from "./upgraded_socket.ts";
import type { SocketListener } from "../shared/socket_listener.ts";
import { type Engine, type EngineEvents, epochOf } from "../engine/engine.ts";
import type { Handshake } from "../protocol/handshake.ts";
import { Inbound } from "./inbound.ts";
import { JoinFlow } from "./join_flow.ts";
import { connectionIds } from "../shared/ids.ts";
import { LocalRoom } from "./local_room.ts";
import type { Logger } from "../shared/log.ts";
import { Metrics } from "./metrics.ts";
import { Outbound } from "./outbound.ts";
import type { RoomRun } from "./room_run.ts";
import { MessageJsonCache } from "./message_json_cache.ts";
import { PresenceSchedule } from "./presence_schedule.ts";
import {
  type ChatMessage,
  type ErrorCode,
  messageText,
  type ServerFrame,
} from "../protocol/frames.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { realTimers, type Timers } from "../shared/timers.ts";
import type { Config } from "../shared/config.ts";
import type { Identity, TokenVerifier } from "../auth/identity.ts";
import { TokenLifecycle } from "./token_lifecycle.ts";
import type { UnsubscribeReason } from "../protocol/frames.ts";
import { messageJson } from "../protocol/message_json.ts";

/** Metric reasons of the closes the transport decides (`UpgradedSocket.onfail`). */
const TRANSPORT_CLOSES: Record<number, string> = {
  [Close.protocolError]: "protocol_error",
  [Close.invalidData]: "invalid_utf8",
  [Close.tooBig]: "too_large",
  [Close.busy]: "inbound_budget",
};

/** Why a handshake may not become a connection: the status, a one-line reason, its metric. */
export interface HandshakeRefusal {
  status: 429 | 503;
  reason: string;
  metric: string;
  retryAfterSeconds: number;
}

/**
 * Routes frames between connections, rooms and the engine.
 *
 * @example
 * ```ts
 * const hub = new Hub({ config, engine: new MemoryEngine(options), logger: silentLogger });
 * await engine.start(hub.events);
 * const conn = hub.attach(socket, handshake, true, entry); // its events drive it from now on
 * ```
 */
export class Hub {
  readonly metrics: Metrics;
  #config: HubConfig;
  #engine: Engine;
  #log: Logger;
  #monotonic: () => number;
  #newId: () => string;
  #out: Outbound;
  #presence: PresenceSchedule;
  #join: JoinFlow;
  #in: Inbound;
  /** The JSON of the latest messages: one welcome's worth (2 × `MAX_BUFFERED_BYTES`). */
  #json: MessageJsonCache;
  #tokens: TokenLifecycle;
  #connections = new Set<Connection>();
  #rooms = new Map<string, LocalRoom>();
  #addresses: AddressLimits;
  #drained: (() => void) | null = null;

  constructor(options: HubOptions) {
    this.#config = options.config;
    this.#engine = options.engine;
    this.metrics = options.metrics ?? new Metrics();
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#newId = options.newId ?? connectionIds();
    const c = options.config;
    this.#addresses = new AddressLimits({
      maxConnections: c.maxConnectionsPerIp,
      handshakeRate: c.handshakeRatePerIp,
      handshakeBurst: c.handshakeBurstPerIp,
      newRoomsPerMinute: c.newRoomsPerMinutePerIp,
      messageRate: c.rateLimitPerIp,
      messageBurst: c.rateBurstPerIp,
      maxTracked: c.maxTrackedAddresses,
      now: this.#monotonic,
    });
    const { config, engine, logger } = options;
    const metrics = this.metrics;
    const defer = options.defer ?? setImmediate;
    const timers = options.timers ?? realTimers;
    this.#log = logger;
    const out = this.#out = new Outbound({
      flushBytes: config.flushBytes,
      maxBufferedBytes: config.maxBufferedBytes,
      metrics,
      logger,
      onClosed: (conn) => this.remove(conn),
      defer,
      timers,
      slowGraceMs: config.slowConsumerGraceMs,
      sendQueueBytes: config.sendQueueBytes,
      connections: () => this.#connections,
      now: options.monotonic,
    });
    const presence = this.#presence = new PresenceSchedule({
      intervalMs: config.presenceIntervalMs,
      framesPerSecond: config.presenceFramesPerSecond,
      defer,
      timers,
      online: (room, local) => engine.online(room, local),
      queue: (conn, frame) => out.queue(conn, frame),
      metrics,
    });
    this.#json = new MessageJsonCache(2 * config.maxBufferedBytes);
    this.#join = new JoinFlow({
      config,
      engine,
      logger,
      metrics,
      out,
      presence,
      room: (name) => this.#room(name),
      json: this.#json,
      restart: (sub, reason) => this.#restart(sub, reason),
    });
    const tokens = this.#tokens = new TokenLifecycle({
      verifier: options.verifier ?? null,
      out,
      metrics,
      logger,
      timers,
      now: options.now ?? Date.now,
      revoke: (sub) => this.#revoke(sub),
    });
    this.#in = new Inbound({
      limits: config,
      engine,
      logger,
      metrics,
      out,
      refresh: (conn, token, ref) => tokens.refresh(conn, token, ref),
      subscribe: (conn, room, resume, ref) => this.subscribe(conn, room, resume, ref),
      unsubscribe: (conn, room, ref) => this.unsubscribe(conn, room, ref),
    });
  }

  /**
   * What the engine tells the hub, passed once to `engine.start`: its messages are fanned out,
   * its presence changes announced, its resets close the connections of the old epoch.
   */
  readonly events: EngineEvents = {
    message: (message) => this.deliver(message),
    presence: (room) => this.remotePresence(room),
    reset: (room, epoch) => this.reset(room, epoch),
    command: (cmd) => {
      const who: DisconnectSelector | null = cmd.user !== undefined
        ? { user: cmd.user }
        : cmd.client !== undefined
        ? { client: cmd.client }
        : cmd.connection !== undefined
        ? { connection: cmd.connection }
        : null;
      if (who !== null) this.disconnect(who, cmd.code, cmd.reason);
    },
  };

  /** Connections currently held (joining or open). */
  get size(): number {
    return this.#connections.size;
  }

  /** Local connections per room. */
  roomSizes(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, room] of this.#rooms) out.set(name, room.size);
    return out;
  }

  /** Client addresses the per-address limits remember now. */
  get addressCount(): number {
    return this.#addresses.size;
  }

  /** Rooms with local connections (O(1)). */
  get roomCount(): number {
    return this.#rooms.size;
  }

  /** Local connections (members and joiners) of one room; 0 when it has none. */
  localSize(room: string): number {
    return this.#rooms.get(room)?.size ?? 0;
  }

  /** Sum of bytes waiting for every socket. */
  backlog(): number {
    let total = 0;
    for (const conn of this.#connections) total += this.#out.backlog(conn);
    return total;
  }

  /**
   * The per-address entry of a handshake from `address`, with the handshake counted; or the
   * refusal when the address is over its handshake rate. Called first, for every `/ws` request.
   */
  handshake(address: string): { ok: true; entry: AddressEntry } | {
    ok: false;
    refusal: HandshakeRefusal;
  } {
    const entry = this.#addresses.entry(address);
    const refusal = this.#addresses.handshake(entry);
    return refusal ? { ok: false, refusal } : { ok: true, entry };
  }

  /**
   * Decides whether a valid handshake into `room` may become a connection: not when the server
   * holds `maxConnections`, the address its `MAX_CONNECTIONS_PER_IP`, or when `room` is new and
   * the address is over its new-room rate or the server holds `MAX_ROOMS` rooms. Null when it may
   * (a new room is counted then).
   */
  admit(room: string, entry: AddressEntry): HandshakeRefusal | null {
    if (this.#connections.size >= this.#config.maxConnections) {
      return {
        status: 503,
        reason: `server is full (${this.#config.maxConnections} connections); retry later`,
        metric: "handshake_full",
        retryAfterSeconds: 5,
      };
    }
    const crowded = this.#addresses.connect(entry);
    if (crowded) return crowded;
    if (this.#rooms.has(room)) return null;
    const admission = this.#engine.admission(room);
    if (admission === "full") {
      return {
        status: 503,
        reason: `server holds its maximum of ${this.#config.maxRooms} rooms; retry later`,
        metric: "handshake_rooms_full",
        retryAfterSeconds: 30,
      };
    }
    return admission === "new" ? this.#addresses.newRoom(entry) : null;
  }

  /**
   * Takes over an upgraded socket that {@linkcode Hub.admit} let in: registers its connection
   * (counted for `entry`'s address; null in tests) in its room, among the joiners, and lets the
   * socket's events drive it from now on (open: join the room; message: a frame; close or error:
   * gone; fail: the transport closed it for a protocol error or a size limit, counted like abuse).
   */
  attach(
    socket: UpgradedSocket,
    handshake: Handshake,
    json: boolean,
    entry: AddressEntry | null,
    identity: Identity | null = null,
  ): Connection {
    const access = identity === null ? "rw" : identity.grants.access(handshake.room);
    if (access === null) {
      // The route refuses such handshakes with 403; reaching here is a bug, never a way in.
      throw new Error(`attach: the identity does not grant room ${handshake.room}`);
    }
    const { rateLimit, rateBurst, rateLimitCloseAfter } = this.#config;
    // The limiter shares the message rate of `entry`'s address.
    const limiter = new RateLimiter({
      rate: rateLimit,
      burst: rateBurst,
      closeAfter: rateLimitCloseAfter,
      now: this.#monotonic,
      shared: entry?.messages,
    });
    const conn = new Connection(this.#newId(), socket, handshake, json, limiter);
    conn.identity = identity;
    const primary = new Subscription(conn, handshake.room, access, true);
    conn.subs.set(handshake.room, primary);
    if (entry) {
      conn.address = entry;
      entry.connections++;
    }
    this.#connections.add(conn);
    this.metrics.connectionsTotal++;
    // The room is held from now on (not from the socket's opening): handshakes answered at
    // once all count against MAX_ROOMS.
    this.#room(handshake.room).joining.set(primary, []);
    this.#tokens.watch(conn);
    const log = this.#log;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      // Once: the handshake it holds is not kept for the life of the connection.
      socket.onopen = null;
      log.debug("ws.open", { id: conn.id, room: conn.room, mode: json ? "json" : "plain" });
      // The join never rejects; a WebSocket ignores the promise, a test's fake socket awaits it.
      return this.#join.open(primary, handshake.resume);
    };
    this.#listen(socket, conn);
    return conn;
  }

  /**
   * What the hub's sockets tell it, one object for all of them (sockets that offer `listen`: no
   * closures per connection).
   */
  #socketEvents: SocketListener<Connection> = {
    message: (conn, data) => this.receive(conn, data),
    close: (conn, event) => {
      this.#log.debug("ws.close", { id: conn.id, room: conn.room, code: event.code });
      this.remove(conn);
    },
    error: (conn) => this.remove(conn),
    fail: (conn, code) => this.#failed(conn, code),
  };

  #failed(conn: Connection, code: number): void {
    const reason = TRANSPORT_CLOSES[code] ?? "protocol_error";
    this.metrics.reject(reason);
    this.#log.info("ws.closed_abusive", { id: conn.id, room: conn.room, code, reason });
  }

  /**
   * The socket's handlers for the life of the connection: the shared listener where the socket
   * offers `listen`, else closures made here so that they hold only `conn` (closures made in
   * `attach` would keep its whole scope: the handshake, the request).
   */
  #listen(socket: UpgradedSocket, conn: Connection): void {
    if (socket.listen) return socket.listen(this.#socketEvents, conn);
    const log = this.#log;
    socket.onmessage = (event: { data: string | ArrayBuffer }) => this.receive(conn, event.data);
    socket.onclose = (event: { code: number }) => {
      log.debug("ws.close", { id: conn.id, room: conn.room, code: event.code });
      this.remove(conn);
    };
    socket.onerror = () => this.remove(conn);
    socket.onfail = (code: number) => this.#failed(conn, code);
  }

  /**
   * Closes every local connection that matches `who` (a verified user, a public client id, or a
   * connection id) with `code` and `reason`, after what was queued for it. Returns how many.
   */
  disconnect(who: DisconnectSelector, code: number, reason: string): number {
    const matches: Connection[] = [];
    for (const conn of this.#connections) {
      if (conn.state === "closed") continue;
      const hit = "user" in who
        ? conn.identity?.user === who.user
        : "client" in who
        ? conn.client === who.client
        : conn.id === who.connection;
      if (hit) matches.push(conn);
    }
    for (const conn of matches) {
      this.#log.info("ws.disconnected", { id: conn.id, room: conn.room, code });
      this.#out.end(conn, code, reason);
    }
    return matches.length;
  }

  /** Periodic housekeeping: forgets addresses that have nothing left to count. */
  maintain(): void {
    this.#addresses.sweep();
  }

  #room(name: string): LocalRoom {
    let room = this.#rooms.get(name);
    if (!room) {
      room = new LocalRoom(name, this.#engine.join(name));
      this.#rooms.set(name, room);
    }
    return room;
  }

  /** Called on close or error: forgets the connection and announces the leave. */
  remove(conn: Connection): void {
    if (!this.#connections.delete(conn)) return;
    if (conn.address) this.#addresses.release(conn.address);
    this.#out.forget(conn);
    this.#tokens.forget(conn);
    if (this.#drained && this.#connections.size === 0) this.#drained();
    if (conn.state !== "closed") conn.state = "closed";
    for (const sub of conn.subs.values()) this.#leave(sub);
    conn.subs.clear();
  }

  /** Takes `sub` out of its room: the leave is announced, an empty room is left. */
  #leave(sub: Subscription): void {
    sub.state = "closed";
    const room = this.#rooms.get(sub.room);
    if (!room) return;
    const wasMember = room.members.delete(sub);
    room.joining.delete(sub);
    if (wasMember) {
      this.#presence.announce(room, "left", sub.conn);
      this.#engine.memberLeft(sub.room, sub.conn.id);
    }
    if (room.size === 0) {
      this.#rooms.delete(sub.room);
      this.#engine.leave(sub.room);
    }
  }

  /**
   * A `subscribe` frame: joins `room` over the open connection (its welcome is a `subscribed`
   * frame with the room's position, members and history, resumed from `resume` when given). The
   * room must be granted (auth mode), not joined already, within `MAX_ROOMS_PER_CONNECTION`, and
   * a new room within the address's new-room rate and `MAX_ROOMS`.
   */
  subscribe(
    conn: Connection,
    name: string,
    resume: { since: number; epoch: string } | null,
    ref: string | undefined,
  ): void {
    conn.multiRoom = true;
    const refuse = (
      code: "forbidden" | "too_many_rooms" | "invalid_room" | "unavailable" | "rate_limited",
      message: string,
    ) => this.#refuseRoom(conn, name, code, message, ref);
    if (!conn.json) return refuse("invalid_room", "plain mode has one room per connection");
    if (conn.subs.has(name)) return refuse("invalid_room", `already subscribed to room ${name}`);
    const access = conn.identity === null ? "rw" : conn.identity.grants.access(name);
    if (access === null) return refuse("forbidden", `the token does not grant room ${name}`);
    const max = this.#config.maxRoomsPerConnection;
    if (conn.subs.size >= max) {
      return refuse(
        "too_many_rooms",
        `at most ${max} rooms per connection (MAX_ROOMS_PER_CONNECTION)`,
      );
    }
    if (!this.#rooms.has(name)) {
      const admission = this.#engine.admission(name);
      if (admission === "full") {
        return refuse(
          "unavailable",
          `server holds its maximum of ${this.#config.maxRooms} rooms; retry later`,
        );
      }
      if (admission === "new" && conn.address && this.#addresses.newRoom(conn.address)) {
        return refuse("rate_limited", "too many new rooms from your address; retry in a minute");
      }
    }
    const sub = new Subscription(conn, name, access, false);
    sub.ref = ref;
    conn.subs.set(name, sub);
    this.#room(name).joining.set(sub, []);
    void this.#join.open(sub, resume);
  }

  /** An `unsubscribe` frame: leaves `room`; `unsubscribed` confirms, nothing of it follows. */
  unsubscribe(conn: Connection, name: string, ref: string | undefined): void {
    const sub = conn.subs.get(name);
    if (!sub) {
      return this.#refuseRoom(conn, name, "not_subscribed", `not subscribed to room ${name}`, ref);
    }
    if (sub.primary && conn.state === "joining") {
      // The connection's welcome is still on its way: it must come first.
      return this.#refuseRoom(
        conn,
        name,
        "invalid_room",
        `the handshake's room ${name} is still joining: unsubscribe after the welcome`,
        ref,
      );
    }
    conn.multiRoom = true;
    conn.subs.delete(name);
    this.#leave(sub);
    this.#ended(sub, "requested", undefined, ref);
  }

  #refuseRoom(
    conn: Connection,
    room: string,
    code: ErrorCode,
    message: string,
    ref: string | undefined,
  ): void {
    this.metrics.reject(code);
    const frame: ServerFrame = { type: "error", code, message, room };
    if (ref !== undefined) frame.ref = ref;
    this.#out.send(conn, frame);
  }

  /** Tells the client that `sub` ended (`unsubscribed` with why). */
  #ended(sub: Subscription, reason: UnsubscribeReason, message?: string, ref?: string): void {
    const frame: ServerFrame = { type: "unsubscribed", room: sub.room, reason };
    if (message !== undefined) frame.message = message;
    if (ref !== undefined) frame.ref = ref;
    this.#out.send(sub.conn, frame);
  }

  /**
   * Restarts a subscription whose room moved to a new epoch: a v1 connection (one room, never
   * subscribed) is closed with 1012 and rejoins; otherwise only that subscription ends, with
   * `unsubscribed` (`reset`), and the client subscribes again with its `since`+`epoch`.
   */
  #restart(sub: Subscription, reason: string): void {
    if (!sub.perRoom) return this.#out.end(sub.conn, Close.restart, `${reason}; rejoin`);
    sub.conn.subs.delete(sub.room);
    this.#leave(sub);
    this.#ended(sub, "reset", `${reason}: subscribe again with since and epoch`);
  }

  /**
   * A refreshed token no longer grants `sub`'s room: a v1 connection is closed (forbidden, 4403);
   * otherwise that subscription ends with `unsubscribed` (`forbidden`).
   */
  #revoke(sub: Subscription): void {
    const message = `the refreshed token no longer grants room ${sub.room}`;
    if (!sub.perRoom) {
      this.#out.send(sub.conn, { type: "error", code: "forbidden", message });
      return this.#out.end(sub.conn, Close.forbidden, "room no longer granted");
    }
    sub.conn.subs.delete(sub.room);
    this.#leave(sub);
    this.#ended(sub, "forbidden", message);
  }

  /** Handles one incoming frame. */
  receive(conn: Connection, data: string | ArrayBuffer | Blob): void {
    if (conn.state !== "closed") this.#in.receive(conn, data);
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
    for (const [joiner, held] of room.joining) {
      if (joiner.conn.id !== message.from) held.push(message);
    }
    const epoch = epochOf(message);
    const offset = message.offset;
    const out = this.#out;
    // The message's JSON goes once into the room's JSON run of this turn. Members that get all of
    // it follow the run (`Outbound.follow`): they are taken once per turn, at its first message,
    // and only the others (senders, plain and multi-room connections, new members) are visited
    // per message. A change of the room's members, or a message of another epoch or out of
    // order, ends the following: every member is visited again.
    let jsonRun = room.jsonRun;
    if (
      jsonRun !== null && jsonRun.followers !== null &&
      (jsonRun.version !== room.members.version || jsonRun.epoch !== epoch ||
        offset <= jsonRun.lastOffset)
    ) out.unfollowAll(jsonRun);
    let visit: Iterable<Subscription> = room.members;
    if (jsonRun === null) {
      jsonRun = out.run(room, true);
      jsonRun.version = room.members.version;
      jsonRun.epoch = epoch;
      const followers = jsonRun.followers = new Map<string, unknown>();
      for (const sub of room.members) {
        const conn = sub.conn;
        if (
          conn.json && !conn.multiRoom && conn.run === null && sub.epoch === epoch &&
          offset > sub.floor && conn.id !== message.from
        ) out.follow(conn, jsonRun, sub);
        else jsonRun.explicit.push(sub);
      }
      if (followers.size > 0) visit = jsonRun.explicit as Subscription[];
      else jsonRun.followers = null;
    } else if (jsonRun.followers !== null) {
      // A follower that sends gets the run up to its message, and is visited from now on.
      out.unfollow(jsonRun, message.from);
      visit = jsonRun.explicit as Subscription[];
    }
    jsonRun.lastOffset = offset;
    let jsonAt = -1;
    let count = 0;
    if (jsonRun.followers !== null && jsonRun.followers.size > 0) {
      count = jsonRun.followers.size;
      jsonAt = out.append(jsonRun, messageJson(message));
    }
    let plainRun: RoomRun | null = null;
    let plainAt = 0;
    let stale: Subscription[] | null = null;
    for (const sub of visit) {
      if (sub.epoch !== epoch) {
        (stale ??= []).push(sub);
        continue;
      }
      const conn = sub.conn;
      // Not back to the sender, and nothing the welcome already covered (a feed behind Redis
      // can deliver a message after a joiner's welcome held it in its history).
      if (offset <= sub.floor || conn.id === message.from) continue;
      if (conn.json) {
        // Stringified here, not through the welcomes' cache: keeping every live message in
        // it (a map keyed by message) cost more than the one stringify a later welcome adds.
        if (jsonAt < 0) jsonAt = out.append(jsonRun, messageJson(message));
        out.queueRun(conn, jsonRun, jsonAt);
      } else {
        if (plainRun === null) {
          plainRun = out.run(room, false);
          plainAt = out.append(plainRun, messageText(message));
        }
        out.queueRun(conn, plainRun, plainAt);
      }
      count++;
    }
    this.metrics.messagesOut += count;
    if (stale) { for (const sub of stale) this.#restart(sub, "room history was reset"); }
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
    const stale = [...room.members].filter((sub) => sub.epoch !== epoch);
    this.#log.info("ws.room_reset", { room: name, epoch, closing: stale.length });
    for (const sub of stale) this.#restart(sub, "room history was reset");
  }

  /**
   * Shutdown: flushes and closes every socket with 1012 so clients reconnect elsewhere or later.
   * Resolves when every socket has finished closing.
   */
  drain(): Promise<void> {
    this.#out.flushAll();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#drained = resolve;
    for (const conn of this.#connections) conn.close(Close.restart, "server restarting");
    if (this.#connections.size === 0) resolve();
    return promise;
  }

  /**
   * Called by the engine when other instances changed the number online in `room`: members get
   * a presence frame with the new `online` count.
   */
  remotePresence(name: string): void {
    const room = this.#rooms.get(name);
    if (room) this.#presence.remote(room);
  }
}

/** Which connections {@linkcode Hub.disconnect} closes: a user's, a client's, or one. */
export type DisconnectSelector = { user: string } | { client: string } | { connection: string };

/** Settings the hub reads from {@linkcode Config}. */
export type HubConfig = Pick<
  Config,
  | "maxMessageBytes"
  | "maxDataDepth"
  | "maxRoomsPerConnection"
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
  | "slowConsumerGraceMs"
  | "presenceIntervalMs"
  | "presenceFramesPerSecond"
  | "maxWelcomeMembers"
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
  /**
   * Timers of presence batches, slow-consumer checks and token expiry (default
   * `setTimeout`/`clearTimeout`).
   */
  timers?: Timers;
  /** Wall clock in epoch ms, against which tokens expire (default `Date.now`). */
  now?: () => number;
  /** Checks the tokens of `refresh` frames (auth mode; default none: open mode). */
  verifier?: TokenVerifier | null;
}
