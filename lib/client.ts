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
import { Outbox, type OutboxItem } from "./client_outbox.ts";
import { Pacer } from "./client_pacer.ts";
import { SeenSet } from "./client_seen.ts";
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
import { exceedsBytes } from "./text_size.ts";

export type * from "./client_types.ts";
export type { OutboxItem };
export { parseServerFrames };

/** Error codes after which a message is dropped from the outbox instead of resent. */
const RETRYABLE = new Set(["rate_limited", "unavailable"]);
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
  #retrySendMs: number;
  #events = new Emitter<ClientEvents>();
  #outbox: Outbox;
  #seen = new SeenSet();
  #live: Liveness;
  #state: ClientState = "idle";
  #attempt = 0;
  #socket: WebSocketLike | null = null;
  #resumeSent: { since: number; epoch: string } | null = null;
  #id: string | null = null;
  #online = 0;
  #rttMs: number | null = null;
  #limits: ServerLimits | null = null;
  #pacer: Pacer | null = null;
  #epoch: string | null = null;
  #since: number | null = null;
  #retryTimer: unknown = null;
  #connectTimer: unknown = null;
  #stableTimer: unknown = null;
  #flushTimer: unknown = null;
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
    this.#retrySendMs = options.retrySendMs ?? 1000;
    this.clientId = options.clientId ?? randomToken(16, this.#random);
    this.#outbox = new Outbox(`${this.clientId}-${randomToken(4, this.#random)}`, this.#now);
    this.#live = new Liveness(
      { ...DEFAULT_PING, ...options.ping },
      this.#timers,
      () => this.#sendFrame({ type: "ping", t: this.#now() }),
      () => this.#drop(CLOSE_DEAD, "no answer to ping"),
    );
    this.#socketUrl(); // throws now, not on connect, when the url, room, name or id is invalid
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
  get outbox(): OutboxItem[] {
    return this.#outbox.items;
  }
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
    if (text.trim() === "") {
      const ref = this.#outbox.nextRef();
      this.#events.emit("error", {
        code: "empty_message",
        message: "text is empty or only whitespace",
        ref,
      });
      return ref;
    }
    const item = this.#outbox.add(text);
    const max = this.#limits?.maxMessageBytes;
    if (max !== undefined && exceedsBytes(messageFrame(text, item.ref), max)) {
      this.#outbox.remove(item.ref);
      this.#events.emit("error", {
        code: "too_large",
        message: `message is larger than the limit of ${max} bytes`,
        ref: item.ref,
      });
      return item.ref;
    }
    if (!this.#flush()) this.#emitOutbox();
    return item.ref;
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
   * the old room) and reconnects at once if connected or connecting.
   */
  setRoom(room: string): void {
    if (room === this.#room) return;
    this.#check({ room });
    this.#room = room;
    this.#epoch = null;
    this.#since = null;
    this.#seen.clear();
    if (this.#outbox.clear().length > 0) this.#emitOutbox();
    this.#restart();
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
    if (hiddenForMs < LONG_SLEEP_MS) return;
    this.notifyOnline();
  }

  #check(change: { room?: string; name?: string | null }): void {
    socketUrl(this.#url, {
      room: change.room ?? this.#room,
      name: change.name !== undefined ? change.name : this.#name,
      client: this.clientId,
      since: null,
      epoch: null,
    });
  }

  #socketUrl(): string {
    const resume = this.#epoch !== null && this.#since !== null;
    return socketUrl(this.#url, {
      room: this.#room,
      name: this.#name,
      client: this.clientId,
      since: resume ? this.#since : null,
      epoch: resume ? this.#epoch : null,
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
    const url = this.#socketUrl();
    this.#resumeSent = this.#epoch !== null && this.#since !== null
      ? { since: this.#since, epoch: this.#epoch }
      : null;
    this.#setState("connecting");
    let socket: WebSocketLike;
    try {
      const ctor = this.#ctor ??
        (globalThis as { WebSocket?: unknown }).WebSocket as WebSocketConstructorLike;
      socket = new ctor(url, [SUBPROTOCOL]);
    } catch (err) {
      this.#events.emit("error", { code: "connect_failed", message: String(err) });
      this.#lost(1006, "could not create the socket");
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
    socket.onclose = ((event: { code?: number; reason?: string }) => {
      // Some runtimes report 0 for a connection that never opened; the standard says 1006.
      const code = event.code !== undefined && event.code >= 1000 ? event.code : 1006;
      if (socket === this.#socket) this.#lost(code, event.reason ?? "");
    }) as (event: never) => void;
    socket.onerror = null;
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
      case "ack": {
        if (frame.ref === null) return;
        const item = this.#outbox.remove(frame.ref);
        if (!item) return;
        this.#events.emit("ack", {
          ref: item.ref,
          offset: frame.offset,
          ts: frame.ts,
          text: item.text,
        });
        this.#emitOutbox();
        return;
      }
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
        return this.#error(frame);
    }
  }

  #welcome(frame: Welcome): void {
    if (this.#connectTimer !== null) this.#timers.clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    const resumed = this.#resumeSent;
    if (this.#epoch !== frame.epoch) this.#seen.clear();
    this.#epoch = frame.epoch;
    this.#since = frame.offset;
    this.#id = frame.id;
    this.#online = frame.online;
    this.#limits = { ...frame.limits };
    this.#pacer = new Pacer(frame.limits, this.#now);
    this.#setState("online");
    this.#events.emit("welcome", {
      id: frame.id,
      room: frame.room,
      epoch: frame.epoch,
      offset: frame.offset,
      online: frame.online,
      recovered: frame.recovered,
      resumed: resumed !== null,
    });
    if (resumed && !frame.recovered) {
      this.#events.emit("gap", {
        room: frame.room,
        previousEpoch: resumed.epoch,
        epoch: frame.epoch,
        since: resumed.since,
      });
    }
    for (const message of frame.history ?? []) this.#message(message);
    this.#live.start();
    this.#stableTimer = this.#timers.setTimeout(() => {
      this.#stableTimer = null;
      this.#attempt = 0;
    }, this.#backoff.stableMs);
    this.#flush();
  }

  #message(message: ChatMessage): void {
    const epoch = this.#epoch ?? "";
    if (this.#since === null || message.offset > this.#since) this.#since = message.offset;
    if (!this.#seen.add(`${epoch}:${message.offset}`)) return;
    if (message.client === this.clientId) return;
    this.#events.emit("message", message);
  }

  #error(frame: Extract<ServerFrame, { type: "error" }>): void {
    const { code, message, ref } = frame;
    const item = ref === undefined ? undefined : this.#outbox.get(ref);
    if (!item) {
      this.#events.emit("error", ref === undefined ? { code, message } : { code, message, ref });
      return;
    }
    if (RETRYABLE.has(code)) {
      this.#outbox.mark(item.ref, "queued");
      this.#pacer?.drain();
      this.#emitOutbox();
      this.#events.emit("error", { code, message, ref, retrying: true });
      this.#scheduleFlush(this.#retrySendMs);
      return;
    }
    this.#outbox.remove(item.ref);
    this.#emitOutbox();
    this.#events.emit("error", { code, message, ref });
  }

  /** Sends queued items while the pacer allows; returns true when the outbox changed. */
  #flush(): boolean {
    if (this.#state !== "online" || this.#flushTimer !== null || !this.#pacer) return false;
    let changed = false;
    for (let item = this.#outbox.next(); item; item = this.#outbox.next()) {
      const wait = this.#pacer.take();
      if (wait > 0) {
        this.#scheduleFlush(wait);
        break;
      }
      if (!this.#sendRaw(messageFrame(item.text, item.ref))) break;
      this.#outbox.mark(item.ref, "sent");
      changed = true;
    }
    if (changed) this.#emitOutbox();
    return changed;
  }

  #scheduleFlush(ms: number): void {
    if (this.#flushTimer !== null) this.#timers.clearTimeout(this.#flushTimer);
    this.#flushTimer = this.#timers.setTimeout(() => {
      this.#flushTimer = null;
      this.#flush();
    }, ms);
  }

  #sendFrame(frame: { type: "ping"; t: number }): void {
    this.#sendRaw(JSON.stringify(frame));
  }

  #sendRaw(data: string): boolean {
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
      socket.onerror = null;
      if (code !== null && socket.readyState < 2) {
        this.#closingSockets++;
        let finished = false;
        const done = () => {
          if (finished) return;
          finished = true;
          if (--this.#closingSockets === 0) {
            for (const wake of this.#closedWaiters.splice(0)) wake();
          }
        };
        socket.onclose = done;
        try {
          socket.close(code, reason);
        } catch {
          done();
        }
      } else {
        socket.onclose = null;
      }
    }
    for (
      const timer of [this.#retryTimer, this.#connectTimer, this.#stableTimer, this.#flushTimer]
    ) {
      if (timer !== null) this.#timers.clearTimeout(timer);
    }
    this.#retryTimer =
      this.#connectTimer =
      this.#stableTimer =
      this.#flushTimer =
        null;
    this.#live.stop();
    this.#pacer = null;
    this.#id = null;
    if (this.#outbox.requeueAll()) this.#emitOutbox();
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

  #emitOutbox(): void {
    this.#events.emit("outbox", { items: this.#outbox.items });
  }
}

function messageFrame(text: string, ref: string): string {
  return JSON.stringify({ type: "message", text, ref });
}
