/**
 * The client core shared by the web island and the console client: one `FanoutClient` speaks
 * JSON mode (`fanout.v1`), reconnects with backoff and jitter, detects dead connections with an
 * app-level ping, resumes with `since`+`epoch`, deduplicates by `(epoch, offset)` and keeps an
 * outbox of messages until the server acknowledges them. Runtime-agnostic: the socket, clock,
 * random source and timers are injectable and looked up only when used.
 *
 * This file is the public event API; the socket lifecycle and reconnect loop are in
 * `socket_loop.ts`, what each server frame does is in `frame_dispatch.ts`.
 *
 * @module
 */

import { realTimers, type Timers } from "../shared/timers.ts";
import { Close } from "../protocol/close_codes.ts";
import { FrameDispatch } from "./frame_dispatch.ts";
import { Emitter } from "./emitter.ts";
import { parseServerFrames, socketUrl } from "./frames.ts";
import { DEFAULT_PING, Liveness } from "./liveness.ts";
import type { OutboxItem } from "./outbox.ts";
import { ResumePosition } from "./resume_position.ts";
import { Sender } from "./sender.ts";
import { type Attempt, DEFAULT_BACKOFF, SocketLoop } from "./socket_loop.ts";
import { Credentials } from "./credentials.ts";
import { RoomTracks } from "./room_tracks.ts";
import type { ClientEvents, ClientState, FanoutClientOptions, ServerLimits } from "./types.ts";
import { randomToken, secretToken } from "../shared/ids.ts";

export type * from "./types.ts";
export type { OutboxItem };
export { parseServerFrames };
export { CLIENT_EVENT_TYPES } from "./types.ts";

/** A hidden tab counts as having slept (timers throttled, socket maybe dead) after this long. */
const LONG_SLEEP_MS = 5000;

/**
 * A self-healing Fanout connection with an event API.
 *
 * @example
 * ```ts
 * const client = new FanoutClient({ url: "ws://localhost:8000/ws", room: "lobby", name: "Ann" });
 * client.on("message", (m) => console.log(m.name, m.text));
 * client.on("state", (s) => console.log(s.state));
 * client.connect();
 * client.send("hello"); // queued until online, resent until acknowledged
 * ```
 */
export class FanoutClient {
  /**
   * Our private client key (`client=` of the handshake): kept to ourselves, never shown to
   * others; they see the public id the server derives from it ({@linkcode FanoutClient.publicId}).
   */
  readonly clientId: string;
  #url: string;
  #room: string;
  /** The room of the current attempt's handshake (the server's room for a message naming none). */
  #socketRoom: string | null = null;
  #name: string | null;
  #events = new Emitter<ClientEvents>();
  #sender: Sender;
  #position = new ResumePosition();
  #rooms = new RoomTracks();
  #live: Liveness;
  #loop: SocketLoop;
  #frames: FrameDispatch;
  #credentials: Credentials;
  /** A 401 probe already led to one more attempt with a new token since the last welcome. */
  #renewedAfter401 = false;

  constructor(options: FanoutClientOptions) {
    this.#url = options.url;
    this.#room = options.room;
    this.#name = options.name ?? null;
    const now = options.now ?? (() => Date.now());
    const random = options.random ?? Math.random;
    const timers: Timers = {
      setTimer: options.setTimeout ?? realTimers.setTimer,
      clearTimer: options.clearTimeout ?? realTimers.clearTimer,
    };
    const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    // A key from `crypto.getRandomValues`, unless the test injected its own random source.
    this.clientId = options.clientId ??
      (options.random ? randomToken(16, random) : secretToken(16));
    const events = this.#events;
    const sender = this.#sender = new Sender({
      prefix: `${this.clientId}-${randomToken(4, random)}`,
      now,
      timers,
      retrySendMs: options.retrySendMs ?? 1000,
      events,
      mainRoom: () => this.#room === this.#socketRoom ? undefined : this.#room,
    });
    const credentials: Credentials = this.#credentials = new Credentials({
      token: options.token ?? null,
      auth: options.auth ?? false,
      getToken: options.getToken ?? null,
      fetch: options.fetch,
      timers,
      now,
      refreshAheadMs: options.refreshAheadMs ?? 30_000,
      events,
      transmit: (data: string): boolean => loop.transmit(data),
    });
    const loop: SocketLoop = this.#loop = new SocketLoop({
      WebSocket: options.WebSocket,
      timers,
      random,
      backoff,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      events,
      prepare: (): Attempt | Promise<Attempt> => {
        const url = this.#check({}, true);
        this.#socketRoom = this.#room;
        this.#frames.begin();
        const token = credentials.obtain();
        return token instanceof Promise
          ? token.then((t) => ({ url, protocols: credentials.protocols(t) }))
          : { url, protocols: credentials.protocols(token) };
      },
      ended: (code, reason, welcomed, url) => this.#ended(code, reason, welcomed, url),
      heard: () => this.#live.heard(),
      frame: (frame) => this.#frames.handle(frame),
      detached: () => {
        credentials.detached();
        this.#live.stop();
        this.#frames.detached();
        sender.detach();
      },
    });
    this.#live = new Liveness(
      { ...DEFAULT_PING, ...options.ping },
      timers,
      () => loop.transmit(JSON.stringify({ type: "ping", t: now() })),
      () => loop.drop(Close.dead, "no answer to ping"),
    );
    this.#frames = new FrameDispatch({
      now,
      events,
      sender,
      position: this.#position,
      rooms: this.#rooms,
      transmit: (data) => loop.transmit(data),
      welcomed: (expires) => {
        this.#renewedAfter401 = false;
        credentials.welcomed(expires);
        loop.online();
      },
      refreshed: (expires) => credentials.welcomed(expires),
      ready: (limits) => {
        // A listener of the welcome or its history may have disconnected or switched rooms.
        if (loop.state !== "online") return;
        this.#live.start();
        loop.stable();
        // Every followed room again, each from where it stands.
        this.#rooms.subscribeAll((data) => loop.transmit(data));
        // Unless a listener switched rooms: the new main room's messages wait for its answer.
        if (!this.#frames.holding) sender.attach((data) => loop.transmit(data), limits);
      },
      holding: () => sender.detach(),
      mainJoined: () => {
        const limits = this.#frames.limits;
        if (limits) sender.attach((data) => loop.transmit(data), limits);
      },
      mainLost: () => loop.restart(),
    });
    this.#check({}); // throws now, not on connect, when the url, room, name or id is invalid
  }

  get state(): ClientState {
    return this.#loop.state;
  }
  /** Connection id from the latest welcome, null while not online. */
  get id(): string | null {
    return this.#frames.id;
  }
  /**
   * Our public client id from the latest welcome: the `client` of our messages as others see
   * them (what the server derived from {@linkcode FanoutClient.clientId}); null before it.
   */
  get publicId(): string | null {
    return this.#frames.publicId;
  }
  get room(): string {
    return this.#room;
  }
  get name(): string | null {
    return this.#name;
  }
  /** People online in the main room (from its welcome and presence). */
  get online(): number {
    return this.#frames.online;
  }
  get rttMs(): number | null {
    return this.#frames.rttMs;
  }
  /** Messages not yet acknowledged, oldest first (a copy). */
  get outbox(): OutboxItem[] {
    return this.#sender.items;
  }
  /** Limits from the latest welcome. */
  get limits(): ServerLimits | null {
    return this.#frames.limits;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof ClientEvents>(type: K, fn: (event: ClientEvents[K]) => void): () => void {
    return this.#events.on(type, fn);
  }

  /** Starts connecting (no-op unless idle or offline). */
  connect(): void {
    this.#loop.connect();
  }

  /** Closes with 1000 and stays offline; queued messages stay in the outbox. */
  disconnect(): void {
    this.#loop.disconnect();
  }

  /** Resolves once every socket this client closed has finished closing (at once if none). */
  whenClosed(): Promise<void> {
    return this.#loop.whenClosed();
  }

  /**
   * Queues a message and sends it when online (paced below the server's rate limit): a text, or
   * `{ text?, data?, room? }` where `data` is any JSON value delivered to the others as sent and
   * `room` one followed with `subscribe` (default: the main room). Returns its
   * ref. Empty or oversized text, text with control characters other than tab and newline, or a
   * message with neither text nor data is not queued: an `error` event with the ref says why.
   */
  send(message: string | { text?: string; data?: unknown; room?: string }): string {
    return this.#sender.send(message);
  }

  /** Skips the current backoff wait and connects now. */
  retryNow(): void {
    this.#loop.retryNow();
  }

  /**
   * Switches rooms by reconnecting: forgets the resume position, drops the outbox (its messages
   * were meant for the old room) and reconnects at once if connected or connecting. Returns the
   * dropped messages (an `outbox` event reports them gone too), so a UI can say they were not
   * sent. {@linkcode FanoutClient.switchRoom} keeps the connection instead when online.
   */
  setRoom(room: string): OutboxItem[] {
    if (room === this.#room) return [];
    this.#check({ room });
    this.#room = room;
    this.#position.reset();
    const dropped = this.#sender.clear();
    this.#loop.restart();
    return dropped;
  }

  /**
   * Switches the main room over the open connection when online: `unsubscribe` of the old room,
   * `subscribe` of the new one, on the same socket; the new room's join is reported as a
   * `welcome` event (same connection id, its history as `message` events), and nothing of the
   * old room is delivered after the call. As with {@linkcode FanoutClient.setRoom}, the resume
   * position is forgotten and the outbox dropped (returned, and an `outbox` event reports it);
   * messages sent meanwhile wait for the new room's answer. A reconnect then joins the new room
   * by its handshake. When not online, or when the server refuses the `subscribe` (a room the
   * token does not grant, too many rooms), it falls back to `setRoom`'s reconnect, so the
   * refusal shows as for any handshake (e.g. the state `refused`). A room followed with
   * `subscribe` is no longer followed: it becomes the main room, joined afresh.
   *
   * @example
   * ```ts
   * const dropped = client.switchRoom("dev"); // same socket when online
   * if (dropped.length > 0) console.log(`${dropped.length} message(s) not sent`);
   * ```
   */
  switchRoom(room: string): OutboxItem[] {
    if (room === this.#room) return [];
    this.#check({ room });
    const followed = this.#rooms.delete(room);
    if (this.#loop.state !== "online") return this.setRoom(room);
    const old = this.#room;
    const transmit = (data: string) => this.#loop.transmit(data);
    this.#room = room;
    this.#position.reset();
    const dropped = this.#sender.clear();
    const sent = (!followed || transmit(JSON.stringify({ type: "unsubscribe", room }))) &&
      transmit(JSON.stringify({ type: "unsubscribe", room: old })) &&
      this.#frames.subscribeMain(room);
    if (!sent) this.#loop.restart();
    return dropped;
  }

  /** The rooms this client is in: its main room first, then those followed with `subscribe`. */
  get rooms(): string[] {
    return [this.#room, ...this.#rooms.names()];
  }

  /**
   * Follows `room` over the same connection, besides the main room: its messages arrive as
   * `message` events (with their `room`; `onMessage` gets only this room's), a `subscribed` event
   * says it is joined, and after every reconnect it resumes with its own `since`+`epoch`. Throws
   * for an invalid room, the main room or one already followed.
   *
   * @example
   * ```ts
   * const news = client.subscribe("news", { onMessage: (m) => show(m) });
   * client.send({ text: "hi", room: "news" });
   * news.unsubscribe();
   * ```
   */
  subscribe(
    room: string,
    handlers: { onMessage?: (m: ClientEvents["message"]) => void } = {},
  ): { room: string; unsubscribe(): void } {
    this.#check({ room });
    if (room === this.#room || this.#rooms.has(room)) {
      throw new TypeError(`already in room ${JSON.stringify(room)}`);
    }
    this.#rooms.add(room);
    if (this.#loop.state === "online") this.#rooms.subscribe(room, (d) => this.#loop.transmit(d));
    const onMessage = handlers.onMessage;
    const off = onMessage ? this.on("message", (m) => m.room === room && onMessage(m)) : () => {};
    return {
      room,
      unsubscribe: () => {
        off();
        this.unsubscribe(room);
      },
    };
  }

  /** Stops following `room` (not the main room): `unsubscribe` is sent if online. */
  unsubscribe(room: string): void {
    if (!this.#rooms.delete(room)) return;
    this.#loop.transmit(JSON.stringify({ type: "unsubscribe", room }));
  }

  /** Changes the display name and reconnects (resuming, outbox kept) if connected. */
  setName(name: string | null): void {
    if (name === this.#name) return;
    this.#check({ name });
    this.#name = name;
    this.#loop.restart();
  }

  /**
   * Pings the server now if online (e.g. to show the round-trip time before the first periodic
   * ping) and unless a ping already waits for its answer. Does nothing in any other state: unlike
   * {@linkcode FanoutClient.notifyOnline}, it never cuts a backoff wait short.
   */
  ping(): void {
    if (this.#loop.state === "online") this.#live.checkNow();
  }

  /**
   * The browser is online again (its `online` event): reconnect now if waiting out a backoff
   * delay, check the connection if online. Code that only wants a ping calls `ping()`.
   */
  notifyOnline(): void {
    if (this.#loop.waiting) this.retryNow();
    else this.ping();
  }

  /** The tab is visible again after `hiddenForMs`: after a long sleep, check or reconnect now. */
  notifyVisible(hiddenForMs: number): void {
    if (hiddenForMs >= LONG_SLEEP_MS) this.notifyOnline();
  }

  /**
   * Replaces the fixed token (the `token` option) for the next attempts, e.g. after `refused`;
   * call `connect()` then. A client with `getToken` asks that instead.
   */
  setToken(token: string): void {
    this.#credentials.set(token);
  }

  /**
   * A connection ended (the next attempt is scheduled). In auth mode: 4403 means refused; 4401
   * (expired) means a new token now, or refused without `getToken`; a handshake that failed
   * before any welcome is probed, and a 401 or 403 stops the retries (a 401 after one more
   * attempt with a new token, when one can be had), so a refused client never loops.
   */
  #ended(code: number, reason: string, welcomed: boolean, url: string): void {
    const credentials = this.#credentials;
    const loop = this.#loop;
    if (!credentials.enabled) return;
    if (code === Close.forbidden) return loop.refuse(403, code, reason);
    if (code === Close.tokenExpired) {
      return credentials.renewable ? loop.retryNow() : loop.refuse(401, code, reason);
    }
    if (welcomed) return;
    // The next attempt waits for the answer: a refusal must end the retries before another one.
    const probing = credentials.probe(url).then((refusal) => {
      if (refusal === null || loop.state === "online" || loop.state === "refused") return;
      if (refusal.status === 401 && credentials.renewable && !this.#renewedAfter401) {
        this.#renewedAfter401 = true; // the attempt already scheduled gets a new token
        return;
      }
      loop.refuse(refusal.status, code, refusal.reason);
    });
    loop.holdRetry(probing);
  }

  /** The socket URL for the current settings (with `change` applied); throws when invalid. */
  #check(change: { room?: string; name?: string | null }, resume = false): string {
    const position = resume ? this.#position.resume : null;
    return socketUrl(this.#url, {
      room: change.room ?? this.#room,
      name: change.name !== undefined ? change.name : this.#name,
      client: this.clientId,
      since: position?.since ?? null,
      epoch: position?.epoch ?? null,
    });
  }
}
