/**
 * The client core shared by the web island and the console client: one `FanoutClient` speaks
 * JSON mode (`fanout.v1`), reconnects with backoff and jitter, detects dead connections with an
 * app-level ping, resumes with `since`+`epoch`, deduplicates by `(epoch, offset)` and keeps an
 * outbox of messages until the server acknowledges them. Runtime-agnostic: the socket, clock,
 * random source and timers are injectable and looked up only when used.
 *
 * @module
 */

import { backoffDelay, DEFAULT_BACKOFF } from "./client_backoff.ts";
import { Emitter } from "./client_emitter.ts";
import { parseServerFrames, socketUrl } from "./client_frames.ts";
import { DEFAULT_PING, Liveness, type Timers } from "./client_liveness.ts";
import type { OutboxItem } from "./client_outbox.ts";
import { ResumePosition } from "./client_position.ts";
import { Sender } from "./client_sender.ts";
import type {
  ClientEvents,
  ClientState,
  FanoutClientOptions,
  ServerLimits,
  WebSocketConstructorLike,
  WebSocketLike,
} from "./client_types.ts";
import { randomToken } from "./ids.ts";
import { type ChatMessage, type ServerFrame, SUBPROTOCOL } from "./protocol.ts";

export type * from "./client_types.ts";
export type { OutboxItem };
export { parseServerFrames };
export { CLIENT_EVENT_TYPES } from "./client_types.ts";

/** A hidden tab counts as having slept (timers throttled, socket maybe dead) after this long. */
const LONG_SLEEP_MS = 5000;
/** Close code the client uses when it gives up on a silent connection. */
const CLOSE_DEAD = 4000;

type Welcome = Extract<ServerFrame, { type: "welcome" }>;

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
  readonly clientId: string;
  #url: string;
  #room: string;
  #name: string | null;
  #ctor: WebSocketConstructorLike | undefined;
  #now: () => number;
  #random: () => number;
  #timers: Timers;
  #backoff: typeof DEFAULT_BACKOFF;
  #connectTimeoutMs: number;
  #events = new Emitter<ClientEvents>();
  #sender: Sender;
  #position = new ResumePosition();
  #live: Liveness;
  #state: ClientState = "idle";
  #attempt = 0;
  #socket: WebSocketLike | null = null;
  #resumeSent: { since: number; epoch: string } | null = null;
  #id: string | null = null;
  #online = 0;
  #rttMs: number | null = null;
  #limits: ServerLimits | null = null;
  #retryTimer: unknown = null;
  #connectTimer: unknown = null;
  #stableTimer: unknown = null;
  #closingSockets = 0;
  #closedWaiters: (() => void)[] = [];

  constructor(options: FanoutClientOptions) {
    this.#url = options.url;
    this.#room = options.room;
    this.#name = options.name ?? null;
    this.#ctor = options.WebSocket;
    this.#now = options.now ?? (() => Date.now());
    this.#random = options.random ?? Math.random;
    this.#timers = {
      setTimeout: options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimeout: options.clearTimeout ??
        ((id) => clearTimeout(id as ReturnType<typeof setTimeout>)),
    };
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.clientId = options.clientId ?? randomToken(16, this.#random);
    this.#sender = new Sender({
      prefix: `${this.clientId}-${randomToken(4, this.#random)}`,
      now: this.#now,
      timers: this.#timers,
      retrySendMs: options.retrySendMs ?? 1000,
      events: this.#events,
    });
    this.#live = new Liveness(
      { ...DEFAULT_PING, ...options.ping },
      this.#timers,
      () => this.#transmit(JSON.stringify({ type: "ping", t: this.#now() })),
      () => this.#drop(CLOSE_DEAD, "no answer to ping"),
    );
    this.#check({}); // throws now, not on connect, when the url, room, name or id is invalid
  }

  get state(): ClientState {
    return this.#state;
  }
  /** Connection id from the latest welcome, null while not online. */
  get id(): string | null {
    return this.#id;
  }
  get room(): string {
    return this.#room;
  }
  get name(): string | null {
    return this.#name;
  }
  /** People online in the room (from welcome and presence). */
  get online(): number {
    return this.#online;
  }
  get rttMs(): number | null {
    return this.#rttMs;
  }
  /** Messages not yet acknowledged, oldest first (a copy). */
  get outbox(): OutboxItem[] {
    return this.#sender.items;
  }
  /** Limits from the latest welcome. */
  get limits(): ServerLimits | null {
    return this.#limits && { ...this.#limits };
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof ClientEvents>(type: K, fn: (event: ClientEvents[K]) => void): () => void {
    return this.#events.on(type, fn);
  }

  /** Starts connecting (no-op unless idle or offline). */
  connect(): void {
    if (this.#state !== "idle" && this.#state !== "offline") return;
    this.#attempt = 0;
    this.#open();
  }

  /** Closes with 1000 and stays offline; queued messages stay in the outbox. */
  disconnect(): void {
    if (this.#state === "idle" || this.#state === "offline") return;
    this.#teardown(1000, "bye");
    this.#attempt = 0;
    this.#setState("offline");
  }

  /** Resolves once every socket this client closed has finished closing (at once if none). */
  whenClosed(): Promise<void> {
    if (this.#closingSockets === 0) return Promise.resolve();
    return new Promise((resolve) => this.#closedWaiters.push(resolve));
  }

  /**
   * Queues `text` and sends it when online (paced below the server's rate limit). Returns its
   * ref. Empty or oversized text is not queued: an `error` event with the ref says why.
   */
  send(text: string): string {
    return this.#sender.send(text);
  }

  /** Skips the current backoff wait and connects now. */
  retryNow(): void {
    if (this.#retryTimer === null) return;
    this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#open();
  }

  /**
   * Switches rooms: forgets the resume position, drops the outbox (its messages were meant for
   * the old room) and reconnects at once if connected or connecting. Returns the dropped
   * messages (an `outbox` event reports them gone too), so a UI can say they were not sent.
   */
  setRoom(room: string): OutboxItem[] {
    if (room === this.#room) return [];
    this.#check({ room });
    this.#room = room;
    this.#position.reset();
    const dropped = this.#sender.clear();
    this.#restart();
    return dropped;
  }

  /** Changes the display name and reconnects (resuming, outbox kept) if connected. */
  setName(name: string | null): void {
    if (name === this.#name) return;
    this.#check({ name });
    this.#name = name;
    this.#restart();
  }

  /** The browser is online again: reconnect now if waiting, check the connection if online. */
  notifyOnline(): void {
    if (this.#retryTimer !== null) this.retryNow();
    else if (this.#state === "online") this.#live.checkNow();
  }

  /** The tab is visible again after `hiddenForMs`: after a long sleep, check or reconnect now. */
  notifyVisible(hiddenForMs: number): void {
    if (hiddenForMs >= LONG_SLEEP_MS) this.notifyOnline();
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

  #restart(): void {
    if (this.#state === "idle" || this.#state === "offline") return;
    this.#teardown(1000, "reconnecting with new settings");
    this.#attempt = 0;
    this.#open();
  }

  #open(): void {
    this.#retryTimer = null;
    const url = this.#check({}, true);
    this.#resumeSent = this.#position.resume;
    this.#setState("connecting");
    let socket: WebSocketLike;
    try {
      const ctor = this.#ctor ??
        (globalThis as { WebSocket?: unknown }).WebSocket as WebSocketConstructorLike;
      socket = new ctor(url, [SUBPROTOCOL]);
    } catch (err) {
      this.#events.emit("error", { code: "connect_failed", message: String(err) });
      this.#lost(1006, `could not create the socket: ${err instanceof Error ? err.message : err}`);
      return;
    }
    this.#socket = socket;
    socket.onmessage = ((event: { data: unknown }) => {
      if (socket !== this.#socket || typeof event.data !== "string") return;
      this.#live.heard();
      for (const frame of parseServerFrames(event.data)) {
        if (socket !== this.#socket) return;
        this.#handle(frame);
      }
    }) as (event: never) => void;
    // Deno explains a failed connection only in the error event ("Invalid status code: 404",
    // "dns error", "tcp connect error"); the close that follows says just 1006 (or 0).
    let failure = "";
    socket.onerror = ((event: { message?: unknown } | null) => {
      const message = event?.message;
      if (typeof message === "string" && message !== "") failure = message;
    }) as (event: never) => void;
    socket.onclose = ((event: { code?: number; reason?: string }) => {
      // Some runtimes report 0 for a connection that never opened; the standard says 1006.
      const code = event.code !== undefined && event.code >= 1000 ? event.code : 1006;
      if (socket === this.#socket) this.#lost(code, event.reason || failure);
    }) as (event: never) => void;
    this.#connectTimer = this.#timers.setTimeout(() => {
      this.#connectTimer = null;
      if (socket === this.#socket) this.#drop(CLOSE_DEAD, "no welcome in time");
    }, this.#connectTimeoutMs);
  }

  #handle(frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome":
        return this.#welcome(frame);
      case "message":
        return this.#message(frame);
      case "ack":
        if (frame.ref !== null) this.#sender.ack(frame.ref, frame.offset, frame.ts);
        return;
      case "presence": {
        const { type: _type, ...presence } = frame;
        this.#online = frame.online;
        this.#events.emit("presence", presence);
        return;
      }
      case "pong":
        if (typeof frame.t !== "number") return;
        this.#rttMs = Math.max(0, this.#now() - frame.t);
        this.#events.emit("rtt", { ms: this.#rttMs });
        return;
      case "error":
        return this.#sender.error(frame);
    }
  }

  #welcome(frame: Welcome): void {
    if (this.#connectTimer !== null) this.#timers.clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    const resumed = this.#resumeSent;
    this.#position.welcome(frame.epoch, frame.offset);
    this.#id = frame.id;
    this.#online = frame.online;
    this.#limits = { ...frame.limits };
    this.#setState("online");
    const { type: _type, history, limits: _limits, ...rest } = frame;
    this.#events.emit("welcome", { ...rest, resumed: resumed !== null });
    if (resumed && !frame.recovered) {
      const { room, epoch } = frame;
      this.#events.emit("gap", { room, previousEpoch: resumed.epoch, epoch, since: resumed.since });
    }
    // A fresh join's history holds our own earlier messages too (a reloaded tab shows them);
    // a resumed one leaves them out, and live copies of our own messages are echoes of acks.
    for (const message of history ?? []) this.#message(message, resumed === null);
    this.#live.start();
    this.#stableTimer = this.#timers.setTimeout(() => {
      this.#stableTimer = null;
      this.#attempt = 0;
    }, this.#backoff.stableMs);
    this.#sender.attach((data) => this.#transmit(data), frame.limits);
  }

  #message(message: ChatMessage, freshHistory = false): void {
    if (!this.#position.accept(message.offset)) return;
    const own = message.client === this.clientId;
    if (!own || freshHistory) this.#events.emit("message", { ...message, own });
  }

  #transmit(data: string): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== 1) return false;
    try {
      socket.send(data);
      return true;
    } catch {
      return false;
    }
  }

  /** Gives up on the current socket (dead or too slow) and reconnects. */
  #drop(code: number, reason: string): void {
    this.#teardown(code, reason);
    this.#lost(code, reason);
  }

  /** The connection ended without the user asking: schedule the next attempt. */
  #lost(code: number, reason: string): void {
    this.#teardown(null, "");
    const delay = backoffDelay(this.#attempt, this.#backoff, this.#random, code);
    this.#attempt++;
    this.#retryTimer = this.#timers.setTimeout(() => this.#open(), delay);
    this.#setState("reconnecting", delay, code, reason);
  }

  /** Detaches and (with a code) closes the socket, stops every timer, requeues sent items. */
  #teardown(code: number | null, reason: string): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = null;
      if (code !== null && socket.readyState < 2) this.#close(socket, code, reason);
    }
    for (const timer of [this.#retryTimer, this.#connectTimer, this.#stableTimer]) {
      if (timer !== null) this.#timers.clearTimeout(timer);
    }
    this.#retryTimer = this.#connectTimer = this.#stableTimer = null;
    this.#live.stop();
    this.#id = null;
    this.#sender.detach();
  }

  /** Closes a socket we let go of, counting it until its close event for `whenClosed`. */
  #close(socket: WebSocketLike, code: number, reason: string): void {
    this.#closingSockets++;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      if (--this.#closingSockets === 0) {
        for (const wake of this.#closedWaiters.splice(0)) {
          wake();
        }
      }
    };
    socket.onclose = done;
    try {
      socket.close(code, reason);
    } catch {
      done();
    }
  }

  #setState(state: ClientState, retryInMs: number | null = null, code?: number, reason?: string) {
    this.#state = state;
    const event: ClientEvents["state"] = { state, attempt: this.#attempt, retryInMs };
    if (code !== undefined) {
      event.closeCode = code;
      event.closeReason = reason ?? "";
    }
    this.#events.emit("state", event);
  }
}
