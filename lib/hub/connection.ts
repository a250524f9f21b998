/**
 * One client connection as the hub sees it: its identity, its mode, its rate limiter, its socket
 * with the frames queued for it (the send queue, which `Outbound` fills and flushes:
 * `outbound.ts`), and its subscriptions: one per room it is in (the handshake's room first, then
 * those of its `subscribe` frames), with where it stands in each, so that rooms and connections
 * are many-to-many.
 *
 * @module
 */

import type { AddressEntry } from "./address_limits.ts";
import type { Identity } from "../auth/identity.ts";
import type { RoomAccess } from "../shared/room_grants.ts";
import type { Handshake } from "../protocol/handshake.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import type { RoomRun, RunSlice } from "./room_run.ts";
import type { SocketLike } from "./upgraded_socket.ts";

/** Lifecycle of a connection: waiting for its welcome, open, or gone. */
export type ConnectionState = "joining" | "open" | "closed";

/**
 * A client connection as the hub sees it.
 *
 * @example
 * ```ts
 * const conn = new Connection("c1", socket, handshake, true, limiter);
 * out.queue(conn, '{"type":"pong","t":1}'); // written to conn.socket at the end of the turn
 * ```
 */
export class Connection {
  readonly id: string;
  /** The handshake's room: the first subscription, and the room of a message that names none. */
  readonly room: string;
  readonly name: string | null;
  readonly client: string | null;
  /** JSON mode (`fanout.v1`) when true, plain text mode otherwise. */
  readonly json: boolean;
  readonly limiter: RateLimiter;
  /** The socket; `Outbound` writes to it, the hub wires its events. */
  readonly socket: SocketLike;
  state: ConnectionState = "joining";
  /** The client address's counters (null for connections accepted without one, in tests). */
  address: AddressEntry | null = null;
  /**
   * The rooms this connection is in, by name: the handshake's (`room`) first, then those of its
   * `subscribe` frames. Where it stands in each lives there (`Subscription`, below).
   */
  readonly subs = new Subscriptions();
  /** True once the client sent a `subscribe`: every room then gets per-room frames. */
  multiRoom = false;
  /**
   * The send queue: frames (JSON objects or plain texts) `Outbound` holds for the socket, and
   * ranges of rooms' runs (`RunSlice`); the newest range stays open in `run` until something else
   * is queued.
   */
  queue: (string | RunSlice)[] = [];
  /** The room run this connection gets texts `runFrom` to `runTo` (excluded) of, after `queue`. */
  run: RoomRun | null = null;
  runFrom = 0;
  runTo = 0;
  /**
   * True while the connection follows `run`: it gets every text of it from `runFrom` on, up to
   * the run's end (`runTo` is not kept up to date until it stops following).
   */
  follows = false;
  /**
   * True while `queue` starts with a frame of this connection's alone (its welcome, put there by
   * `Outbound.putFirst`): the frame it is written in is shared with no other connection.
   */
  ownFirst = false;
  /** What `queue` holds, in UTF-16 units (close enough to bytes). */
  queuedBytes = 0;
  /** True while the connection waits in `Outbound`'s flush list. */
  dirty = false;
  /** Who the token says this is (auth mode); null in open mode. */
  identity: Identity | null = null;
  /** The timer that ends the connection when its token expires (auth mode). */
  expiry: unknown = null;
  /** Refreshes asked for so far: only the latest one's outcome is applied. */
  refreshes = 0;

  constructor(
    id: string,
    socket: SocketLike,
    handshake: Handshake,
    json: boolean,
    limiter: RateLimiter,
  ) {
    this.id = id;
    this.socket = socket;
    this.room = handshake.room;
    this.name = handshake.name;
    this.client = handshake.client;
    this.json = json;
    this.limiter = limiter;
  }

  /** Closes the socket once and drops what is queued for it; later calls do nothing. */
  close(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.queue = [];
    this.run = null;
    this.follows = false;
    this.ownFirst = false;
    this.queuedBytes = 0;
    try {
      this.socket.close(code, reason);
    } catch {
      // Already closing: nothing left to do.
    }
  }
}

/** Lifecycle of a subscription: waiting for its welcome, open, or ended. */
export type SubscriptionState = "joining" | "open" | "closed";

/**
 * A connection's membership of one room.
 *
 * @example
 * ```ts
 * const sub = new Subscription(conn, "news", "r", false);
 * conn.subs.set("news", sub);
 * room.joining.set(sub, []);
 * ```
 */
export class Subscription {
  state: SubscriptionState = "joining";
  /** Epoch of this subscription's welcome: only messages of that epoch are delivered to it. */
  epoch = "";
  /**
   * Offset of this subscription's welcome: messages at or below it were in the welcome's history
   * (or before it), so live copies of them are not delivered again.
   */
  floor = 0;
  /** The `ref` of the `subscribe` frame that made it, echoed in its `subscribed` answer. */
  ref: string | undefined = undefined;
  /**
   * The connection sent a message into this room while this subscription was joining: its
   * welcome's history then leaves out what the connection sent (the sender has those as acks).
   */
  sentWhileJoining = false;

  constructor(
    readonly conn: Connection,
    readonly room: string,
    /** What the connection may do here: `rw` in open mode, per its token's grant in auth mode. */
    public access: RoomAccess,
    /** The handshake's room (answered by `welcome`, not `subscribed`). */
    readonly primary: boolean,
  ) {}

  /**
   * True when the server speaks to this room's subscription with per-room frames: a connection
   * that subscribed at least once, or any subscription but the primary. A v1 client (never
   * subscribed) keeps today's protocol for its one room: a reset closes it with 1012.
   */
  get perRoom(): boolean {
    return !this.primary || this.conn.multiRoom;
  }
}

/**
 * A connection's subscriptions by room, in the order they were made. Most connections are in one
 * room: it is held without a map (an empty `Map` alone costs about 240 bytes per connection);
 * a map is made for the others once there are any.
 *
 * @example
 * ```ts
 * const subs = new Subscriptions();
 * subs.set("news", sub);
 * subs.get("news"); // sub
 * [...subs.keys()]; // ["news"]
 * ```
 */
export class Subscriptions {
  /** The oldest subscription (when there is one). */
  #first: Subscription | null = null;
  /** The others, by room, in the order they were made (null while there are none). */
  #others: Map<string, Subscription> | null = null;

  /** How many rooms. */
  get size(): number {
    return (this.#first === null ? 0 : 1) + (this.#others?.size ?? 0);
  }

  /** The subscription to `room`, if any. */
  get(room: string): Subscription | undefined {
    const first = this.#first;
    if (first !== null && first.room === room) return first;
    return this.#others?.get(room);
  }

  /** True when subscribed to `room`. */
  has(room: string): boolean {
    return this.get(room) !== undefined;
  }

  /** Adds (or replaces) the subscription to `room`; `sub.room` must be `room`. */
  set(room: string, sub: Subscription): this {
    if (sub.room !== room) {
      throw new RangeError(`a subscription to ${sub.room} cannot be filed under ${room}`);
    }
    if (this.#first === null || this.#first.room === room) this.#first = sub;
    else (this.#others ??= new Map()).set(room, sub);
    return this;
  }

  /** Removes the subscription to `room`; false when there was none. */
  delete(room: string): boolean {
    if (this.#first !== null && this.#first.room === room) {
      // The next oldest takes its place, so the order stays that of the subscriptions.
      const next = this.#others?.values().next();
      this.#first = next && !next.done ? next.value : null;
      if (this.#first !== null) this.#others!.delete(this.#first.room);
      if (this.#others?.size === 0) this.#others = null;
      return true;
    }
    const deleted = this.#others?.delete(room) ?? false;
    if (this.#others?.size === 0) this.#others = null;
    return deleted;
  }

  /** Removes every subscription. */
  clear(): void {
    this.#first = null;
    this.#others = null;
  }

  /** The subscriptions, oldest first (a copy: changing them meanwhile is safe). */
  values(): Subscription[] {
    const all = this.#first === null ? [] : [this.#first];
    if (this.#others !== null) { for (const sub of this.#others.values()) all.push(sub); }
    return all;
  }

  /** The rooms, oldest first. */
  keys(): string[] {
    return this.values().map((sub) => sub.room);
  }
}
