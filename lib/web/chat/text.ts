/**
 * Words the chat island shows for connection states, close codes and server errors.
 *
 * @module
 */

import { Close } from "../../protocol/close_codes.ts";
import type { ConnState, Refusal } from "./types.ts";

/** Readable sentences for server error codes. */
export const ERROR_TEXT: Record<string, string> = {
  rate_limited: "You are sending faster than the server allows.",
  too_large: "That message is larger than the server allows.",
  empty_message: "Empty messages are not sent.",
  unavailable: "The server cannot store messages right now.",
  invalid_text: "That message contains control characters the server does not accept.",
  ref_conflict: "That message was not sent: the server had seen its id with another text.",
  forbidden: "Your token does not allow that here (read-only).",
  token_expired: "Your token expired.",
  invalid_token: "The server refused the new token.",
};

/** What the status says when the server refused us (auth mode). */
export const REFUSAL_TEXT: Record<Refusal, string> = {
  room: "Not allowed in this room",
  expired: "Token expired",
  token: "Token refused",
};

/** What the user can do about each refusal. */
export const REFUSAL_HINT: Record<Refusal, string> = {
  room: "Your token does not grant this room: pick another room, or ask the app for access.",
  expired: "Open the chat again from the app to get a new token, then press Connect.",
  token: "This server needs a valid token: open the chat from the app (its link carries one).",
};

/** Broadcasts line for each connection state. */
export const STATE_TEXT: Record<ConnState, string> = {
  idle: "Not connected",
  connecting: "Connecting…",
  online: "Online",
  reconnecting: "Connection lost, reconnecting",
  offline: "Disconnected",
  refused: "Refused by the server",
};

/** 1006: what runtimes report for a connection that ended without a close frame. */
const DROPPED = 1006;

const CLOSE_TEXT: Record<number, string> = {
  [Close.normal]: "closed",
  [Close.idle]: "server going away",
  [DROPPED]: "connection dropped",
  [Close.policy]: "refused for abuse",
  [Close.restart]: "server restarting",
  [Close.dead]: "no answer to ping",
  [Close.slowConsumer]: "too slow to keep up",
  [Close.tokenExpired]: "token expired",
  [Close.forbidden]: "not allowed",
};

/**
 * A short phrase for a WebSocket close code.
 *
 * @example
 * ```ts
 * closeText(1012); // "server restarting"
 * ```
 */
export function closeText(code: number): string {
  return CLOSE_TEXT[code] ?? `close code ${code}`;
}

/** What {@linkcode statusText} needs to know. */
export interface StatusInput {
  ready: boolean;
  conn: ConnState;
  /** Why, when `conn` is `refused`. */
  refusal?: Refusal | null;
  network: boolean;
  /** Seconds until the next attempt, when one is scheduled. */
  retryIn: number | null;
}

/**
 * The connection status in words: `long` for wide headers, `short` for phones.
 *
 * @example
 * ```ts
 * statusText({ ready: true, conn: "reconnecting", network: true, retryIn: 3 });
 * // { long: "Reconnecting in 3s", short: "Retry in 3s" }
 * ```
 */
export function statusText(p: StatusInput): { long: string; short: string } {
  const both = (text: string, short = text) => ({ long: text, short });
  if (!p.ready) return both("Starting…");
  if (!p.network && p.conn !== "offline" && p.conn !== "refused") return both("No network");
  switch (p.conn) {
    case "idle":
      return both("Not connected", "Idle");
    case "connecting":
      return both("Connecting…");
    case "online":
      return both("Online");
    case "reconnecting":
      return p.retryIn === null || p.retryIn <= 0
        ? both("Reconnecting…", "Retrying…")
        : both(`Reconnecting in ${p.retryIn}s`, `Retry in ${p.retryIn}s`);
    case "offline":
      return both("Disconnected", "Offline");
    case "refused":
      return p.refusal === "room"
        ? both(REFUSAL_TEXT.room, "Not allowed")
        : p.refusal === "expired"
        ? both(REFUSAL_TEXT.expired, "Expired")
        : both(REFUSAL_TEXT.token, "Refused");
  }
}
