/**
 * The socket lifecycle of the client core: opens one socket per attempt, hands its frames on,
 * gives up on a socket that brings no welcome in time, waits with backoff and jitter after a
 * connection ends before the next attempt, and closes the sockets it lets go of (see
 * `ClosingSockets` below). It owns the connection state and emits `state`.
 *
 * @module
 */

import { Close } from "../protocol/close_codes.ts";
import { type Backoff, backoffDelay } from "../shared/backoff.ts";
import type { Emitter } from "./emitter.ts";
import { parseServerFrames } from "./frames.ts";
import type { Timers } from "../shared/timers.ts";
import type {
  ClientEvents,
  ClientState,
  WebSocketConstructorLike,
  WebSocketLike,
} from "./types.ts";
import { type ServerFrame, SUBPROTOCOL } from "../protocol/frames.ts";

/** What an attempt connects to: the URL and the subprotocols besides `fanout.v1` (a token). */
export interface Attempt {
  url: string;
  protocols: string[];
}

/** The client core's reconnect delays, and when a connection counts as stable, in ms. */
export interface ReconnectBackoff extends Backoff {
  /** A connection that stayed up this long resets the attempt count. */
  stableMs: number;
}

/**
 * Defaults of {@linkcode ReconnectBackoff}: 500 ms doubling up to 15 s, full jitter; stable
 * after 10 s.
 *
 * @example
 * ```ts
 * const backoff = { ...DEFAULT_BACKOFF, baseMs: 100 };
 * ```
 */
export const DEFAULT_BACKOFF: ReconnectBackoff = { baseMs: 500, capMs: 15_000, stableMs: 10_000 };

/**
 * Options of {@linkcode SocketLoop}: its settings, and what it calls back into the client.
 *
 * @example
 * ```ts
 * const options: SocketLoopOptions = {
 *   WebSocket: undefined, timers, random: Math.random, backoff: DEFAULT_BACKOFF,
 *   connectTimeoutMs: 10_000, events, prepare: () => "ws://h/ws?room=lobby",
 *   heard: () => {}, frame: (f) => console.log(f.type), detached: () => {},
 * };
 * ```
 */
export interface SocketLoopOptions {
  /** Socket constructor; `globalThis.WebSocket` (looked up per attempt) when undefined. */
  WebSocket: WebSocketConstructorLike | undefined;
  timers: Timers;
  random: () => number;
  backoff: ReconnectBackoff;
  /** Time a socket may take from creation to the welcome before it is dropped. */
  connectTimeoutMs: number;
  events: Emitter<ClientEvents>;
  /**
   * An attempt starts: returns what to connect to, or a promise of it (a token still to get);
   * a rejected promise counts as a failed attempt.
   */
  prepare(): Attempt | Promise<Attempt>;
  /** Some text arrived on the current socket (before it is parsed). */
  heard(): void;
  /** One frame of the current socket, in order; not called once that socket was let go of. */
  frame(frame: ServerFrame): void;
  /** The current socket was let go of (closed, lost or replaced): stop what relied on it. */
  detached(): void;
  /**
   * A connection ended without the user asking and the next attempt is scheduled; `welcomed`
   * says whether it got as far as a welcome. The client may `retryNow` or `refuse` from here.
   */
  ended?(code: number, reason: string, welcomed: boolean, url: string): void;
}

/**
 * The reconnect loop around one socket at a time.
 *
 * @example
 * ```ts
 * const loop = new SocketLoop(options);
 * loop.connect(); // state "connecting", a socket to prepare()'s URL
 * loop.online(); // on the welcome: state "online"
 * loop.transmit('{"type":"ping","t":0}'); // true while the socket is open
 * loop.disconnect(); // closes with 1000, state "offline"
 * ```
 */
export class SocketLoop {
  #o: SocketLoopOptions;
  #state: ClientState = "idle";
  #attempt = 0;
  #socket: WebSocketLike | null = null;
  #retryTimer: unknown = null;
  #connectTimer: unknown = null;
  #stableTimer: unknown = null;
  #closing = new ClosingSockets();
  /** Counts attempts and teardowns: an attempt whose preparation outlived it is dropped. */
  #ticket = 0;
  /** What the next attempt waits for besides its backoff (see `holdRetry`), or null. */
  #hold: Promise<void> | null = null;
  #welcomed = false;
  #url = "";

  constructor(options: SocketLoopOptions) {
    this.#o = options;
  }

  get state(): ClientState {
    return this.#state;
  }

  /** True while the loop waits out a backoff delay before its next attempt. */
  get waiting(): boolean {
    return this.#retryTimer !== null;
  }

  /** Starts connecting (no-op unless idle, offline or refused). */
  connect(): void {
    if (this.#state !== "idle" && this.#state !== "offline" && this.#state !== "refused") return;
    this.#attempt = 0;
    this.#open();
  }

  /** Closes with 1000 and stays offline (no-op when idle or offline). */
  disconnect(): void {
    if (this.#state === "idle" || this.#state === "offline" || this.#state === "refused") return;
    this.#teardown(1000, "bye");
    this.#attempt = 0;
    this.#setState("offline");
  }

  /** Closes the current socket and connects again at once, if connected or connecting. */
  restart(): void {
    if (this.#state === "idle" || this.#state === "offline" || this.#state === "refused") return;
    this.#teardown(1000, "reconnecting with new settings");
    this.#attempt = 0;
    this.#open();
  }

  /**
   * Makes the attempt scheduled now wait for `until` too, at most `connectTimeoutMs` more (the
   * client asks the server why a handshake failed: the answer may end the retries).
   */
  holdRetry(until: Promise<unknown>): void {
    let timer: unknown = null;
    const hold: Promise<void> = Promise.race([
      until.then(() => {}, () => {}),
      new Promise<void>((resolve) => {
        timer = this.#o.timers.setTimer(resolve, this.#o.connectTimeoutMs);
      }),
    ]).then(() => {
      this.#o.timers.clearTimer(timer);
      if (this.#hold === hold) this.#hold = null;
    });
    this.#hold = hold;
  }

  /** Skips the current backoff wait and connects now (no-op when not waiting). */
  retryNow(): void {
    if (this.#retryTimer === null) return;
    this.#o.timers.clearTimer(this.#retryTimer);
    this.#retryTimer = null;
    this.#open();
  }

  /** Resolves once every socket this loop closed has finished closing (at once if none). */
  whenClosed(): Promise<void> {
    return this.#closing.whenClosed();
  }

  /**
   * The server refused this client (a token refused or expired for good, a room not granted):
   * stops reconnecting; state `refused` with `status` (401 or 403) and the server's reason.
   * `connect()` starts again (with a new token).
   */
  refuse(status: 401 | 403, code: number, reason: string): void {
    if (this.#state === "idle" || this.#state === "offline" || this.#state === "refused") return;
    this.#teardown(1000, "refused");
    this.#attempt = 0;
    this.#setState("refused", null, code, reason, status);
  }

  /** The welcome arrived: the connect deadline is met, the state becomes `online`. */
  online(): void {
    this.#welcomed = true;
    if (this.#connectTimer !== null) this.#o.timers.clearTimer(this.#connectTimer);
    this.#connectTimer = null;
    this.#setState("online");
  }

  /** Starts the timer after which this connection counts as stable (the attempt count resets). */
  stable(): void {
    this.#stableTimer = this.#o.timers.setTimer(() => {
      this.#stableTimer = null;
      this.#attempt = 0;
    }, this.#o.backoff.stableMs);
  }

  /** Sends `data` on the current socket; false when there is no open socket or send threw. */
  transmit(data: string): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== 1) return false;
    try {
      socket.send(data);
      return true;
    } catch {
      return false;
    }
  }

  /** Gives up on the current socket (dead or too slow) and reconnects after a backoff wait. */
  drop(code: number, reason: string): void {
    this.#teardown(code, reason);
    this.#lost(code, reason);
  }

  /** The backoff is over: connect, once what holds the attempt (if anything) has settled. */
  #retryDue(): void {
    this.#retryTimer = null;
    const hold = this.#hold;
    if (hold === null) return this.#open();
    const ticket = this.#ticket;
    hold.then(() => {
      if (ticket === this.#ticket && this.#state === "reconnecting") this.#open();
    });
  }

  #open(): void {
    this.#retryTimer = null;
    this.#welcomed = false;
    this.#url = "";
    const ticket = ++this.#ticket;
    let attempt: Attempt | Promise<Attempt>;
    try {
      attempt = this.#o.prepare();
    } catch (err) {
      attempt = Promise.reject(err);
    }
    this.#setState("connecting");
    if (!(attempt instanceof Promise)) return this.#dial(attempt);
    attempt.then(
      (ready) => {
        if (ticket === this.#ticket && this.#state === "connecting") this.#dial(ready);
      },
      (err) => {
        if (ticket !== this.#ticket || this.#state !== "connecting") return;
        const message = err instanceof Error ? err.message : String(err);
        this.#o.events.emit("error", { code: "token_unavailable", message });
        this.#lost(1006, `could not get a token: ${message}`);
      },
    );
  }

  #dial({ url, protocols }: Attempt): void {
    this.#url = url;
    let socket: WebSocketLike;
    try {
      const ctor = this.#o.WebSocket ??
        (globalThis as { WebSocket?: unknown }).WebSocket as WebSocketConstructorLike;
      socket = new ctor(url, [SUBPROTOCOL, ...protocols]);
    } catch (err) {
      this.#o.events.emit("error", { code: "connect_failed", message: String(err) });
      this.#lost(1006, `could not create the socket: ${err instanceof Error ? err.message : err}`);
      return;
    }
    this.#socket = socket;
    socket.onmessage = ((event: { data: unknown }) => {
      if (socket !== this.#socket || typeof event.data !== "string") return;
      this.#o.heard();
      for (const frame of parseServerFrames(event.data)) {
        if (socket !== this.#socket) return;
        this.#o.frame(frame);
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
    this.#connectTimer = this.#o.timers.setTimer(() => {
      this.#connectTimer = null;
      if (socket === this.#socket) this.drop(Close.dead, "no welcome in time");
    }, this.#o.connectTimeoutMs);
  }

  /** The connection ended without the user asking: schedule the next attempt. */
  #lost(code: number, reason: string): void {
    this.#teardown(null, "");
    const delay = backoffDelay(
      this.#attempt,
      this.#o.backoff,
      this.#o.random,
      code === Close.policy,
    );
    this.#attempt++;
    this.#retryTimer = this.#o.timers.setTimer(() => this.#retryDue(), delay);
    this.#setState("reconnecting", delay, code, reason);
    this.#o.ended?.(code, reason, this.#welcomed, this.#url);
  }

  /** Detaches and (with a code) closes the socket, stops every timer, tells `detached`. */
  #teardown(code: number | null, reason: string): void {
    this.#ticket++;
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = null;
      if (code !== null && socket.readyState < 2) this.#closing.close(socket, code, reason);
    }
    for (const timer of [this.#retryTimer, this.#connectTimer, this.#stableTimer]) {
      if (timer !== null) this.#o.timers.clearTimer(timer);
    }
    this.#retryTimer = this.#connectTimer = this.#stableTimer = null;
    this.#o.detached();
  }

  #setState(
    state: ClientState,
    retryInMs: number | null = null,
    code?: number,
    reason?: string,
    status?: 401 | 403,
  ) {
    this.#state = state;
    const event: ClientEvents["state"] = { state, attempt: this.#attempt, retryInMs };
    if (code !== undefined) {
      event.closeCode = code;
      event.closeReason = reason ?? "";
    }
    if (status !== undefined) event.status = status;
    this.#o.events.emit("state", event);
  }
}

/**
 * Closes sockets and tells when all of them finished closing.
 *
 * @example
 * ```ts
 * const closing = new ClosingSockets();
 * closing.close(socket, 1000, "bye"); // takes over socket.onclose
 * await closing.whenClosed(); // after the socket's close event
 * ```
 */
export class ClosingSockets {
  #count = 0;
  #waiters: (() => void)[] = [];

  /** Closes `socket` with `code` and `reason`, counting it until its close event. */
  close(socket: WebSocketLike, code: number, reason: string): void {
    this.#count++;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      if (--this.#count === 0) {
        for (const wake of this.#waiters.splice(0)) {
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

  /** Resolves once every socket closed here has finished closing (at once if none). */
  whenClosed(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
