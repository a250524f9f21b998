/**
 * Types of the client core's public API: options, states, events and the socket it needs.
 * Import them from `lib/client/client.ts`, which re-exports everything here.
 *
 * @module
 */

import type {
  ChatMessage,
  ErrorCode,
  Peer,
  ServerLimits,
  SubscribedFrame,
  UnsubscribeReason,
  WelcomeFrame,
} from "../protocol/frames.ts";
import type { OutboxItem } from "./outbox.ts";

/** The parts of a WebSocket the client uses. Handler parameters are `never` so that the DOM's
 * own `WebSocket` fits; the client reads `data`, `code` and `reason` from the events. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor, e.g. `globalThis.WebSocket` or a fake in tests. */
export type WebSocketConstructorLike = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

/**
 * Connection state: `idle` before {@linkcode FanoutClient.connect}; `connecting` while a socket
 * opens (first or later attempt); `online` after the welcome; `reconnecting` while waiting
 * `retryInMs` for the next attempt; `offline` after `disconnect()`; `refused` when the server
 * refused the token or the room (auth mode: `status` 401 or 403; no more attempts until
 * `connect()`).
 */
export type ClientState =
  | "idle"
  | "connecting"
  | "online"
  | "reconnecting"
  | "offline"
  | "refused";

/** Options of the client core. Only `url` and `room` are required. */
export interface FanoutClientOptions {
  /** Base WebSocket URL, e.g. `ws://localhost:8000/ws`; room/name/client/since/epoch are added. */
  url: string;
  room: string;
  name?: string | null;
  /**
   * Private client key (8-64 of `[A-Za-z0-9_-]`), kept by the client and sent only in the
   * handshake; the server derives the public id others see from it. Default: 16 characters from
   * `crypto.getRandomValues` (from `random` when that is given).
   */
  clientId?: string;
  /** Default `globalThis.WebSocket`, looked up when connecting. */
  WebSocket?: WebSocketConstructorLike;
  /** Wall clock in ms (default `Date.now`). */
  now?: () => number;
  /** Random source in [0, 1) (default `Math.random`). */
  random?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (id: unknown) => void;
  backoff?: { baseMs?: number; capMs?: number; stableMs?: number };
  ping?: { intervalMs?: number; timeoutMs?: number };
  /** Time a socket may take from creation to the welcome before it is dropped (default 10 000). */
  connectTimeoutMs?: number;
  /** Delay before resending after `rate_limited` or `unavailable` (default 1000). */
  retrySendMs?: number;
  /**
   * A token for a server in auth mode, carried in the subprotocol `fanout.token.<jwt>`. Without
   * `getToken` it cannot be renewed: once it expires the client is `refused`.
   */
  token?: string;
  /**
   * Returns a (new) token: called before every attempt and ahead of the token's expiry, whose
   * result is sent as a `refresh` over the open socket. A rejection counts as a failed attempt.
   */
  getToken?: () => string | Promise<string>;
  /** How long before a token's expiry it is refreshed (default 30 000; at most half its life). */
  refreshAheadMs?: number;
  /** Used to ask the server why a handshake failed (401 or 403); default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * The server requires tokens (auth mode): a failed handshake is probed for a 401 or 403 even
   * without a token (an anonymous reader in a room that is not public), so it is never retried
   * in a loop. Implied by `token` and `getToken`.
   */
  auth?: boolean;
}

/** Events of the client core and their payloads. */
export interface ClientEvents {
  /** Every state change. `reconnecting` carries the wait and the close that caused it. */
  state: {
    state: ClientState;
    attempt: number;
    retryInMs: number | null;
    /** Close code (1006 when the connection failed or dropped without a close frame). */
    closeCode?: number;
    /**
     * Why the connection ended: the close frame's reason; else, when the socket reported an
     * error first, the runtime's explanation from that error event (Deno: "NetworkError: failed
     * to connect to WebSocket: Invalid status code: 404", "…: dns error", "…: tcp connect
     * error"; browsers give none); else the client's own reason ("no answer to ping"); else "".
     */
    closeReason?: string;
    /** `refused` only: 401 (token missing, invalid or expired for good) or 403 (room not granted). */
    status?: 401 | 403;
  };
  /**
   * The welcome without its history (replayed as `message` events); `resumed` when `since` was
   * sent; `members` lists the room's members, ourselves first (empty from an older server). Also
   * the main room's join over the open connection (`switchRoom`, or the main room subscribed
   * again after a reset): then built from the server's `subscribed` answer, with the same
   * connection id and without `user` and `expires`.
   */
  welcome: Omit<WelcomeFrame, "type" | "history" | "limits"> & { resumed: boolean };
  /**
   * A message, once per `(epoch, offset)`: someone else's (live or from history, `own: false`),
   * or one of our own (`client` equal to the welcome's public id) from the history of a fresh
   * join (`own: true`), e.g. after a reload or a room switch. Live copies of our own messages
   * are never emitted: the `ack` reports those.
   */
  message: ChatMessage & { own: boolean };
  /**
   * A resume failed: messages between `since` and the new position may be missing (the room lost
   * its history, the gap is older than the server keeps, or it did not fit in one welcome).
   */
  gap: { room: string; previousEpoch: string | null; epoch: string; since: number | null };
  /** The server stored one of our messages. */
  ack: { ref: string; offset: number; ts: number; text?: string; data?: unknown };
  /** The outbox changed. */
  outbox: { items: OutboxItem[] };
  /**
   * Someone joined or left a room we are in, or its count changed: `room` names it (the main
   * room's when absent, from a server before many rooms); `online` is that room's count.
   */
  presence: {
    room?: string;
    online: number;
    joined?: Peer;
    left?: Peer;
    joins?: number;
    leaves?: number;
  };
  /**
   * A server error (or a local check with the same code). `retrying`: the message is kept.
   * `room`: the server refused to let us follow that room (a `subscribe`, `ref` `sub:<room>`),
   * which is no longer followed unless the code is `rate_limited` or `unavailable`.
   */
  error: {
    code: ErrorCode | string;
    message: string;
    ref?: string;
    retrying?: boolean;
    room?: string;
  };
  /** Round-trip time of the latest ping. */
  rtt: { ms: number };
  /** Auth mode: the server accepted a refreshed token, which now expires at `expires` (epoch ms). */
  refreshed: { expires: number };
  /**
   * A room followed with `subscribe` is joined (again, after each reconnect): its position,
   * members and whether the resume recovered everything; its history follows as `message` events.
   */
  subscribed: Omit<SubscribedFrame, "type" | "history" | "ref"> & { resumed: boolean };
  /**
   * The server ended a followed room: `forbidden` (a refreshed token no longer grants it) or
   * `requested`. (A `reset` is followed by a new `subscribe` at once, and is not reported.)
   */
  unsubscribed: { room: string; reason: UnsubscribeReason; message?: string };
}

/**
 * Every event type of the client core, for code that listens to all of them.
 *
 * @example
 * ```ts
 * for (const type of CLIENT_EVENT_TYPES) client.on(type, (e) => console.log(type, e));
 * ```
 */
export const CLIENT_EVENT_TYPES = [
  "state",
  "welcome",
  "message",
  "gap",
  "ack",
  "outbox",
  "presence",
  "error",
  "rtt",
  "refreshed",
  "subscribed",
  "unsubscribed",
] as const satisfies readonly (keyof ClientEvents)[];

/** Limits the server announced in its welcome. */
export type { ServerLimits };
