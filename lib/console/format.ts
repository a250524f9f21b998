/**
 * Text the console client prints: message lines, dim status lines, error lines, and the JSON
 * lines of `--json`. Pure functions; colours are ANSI escapes used only when `style.color`.
 *
 * @module
 */

import type { ClientEvents } from "../client/client.ts";
import type { ChatMessage, Peer } from "../protocol/frames.ts";

/** Output styling. */
export interface Style {
  /** ANSI colours (only on a TTY and without `NO_COLOR`). */
  color: boolean;
  /** Show times in UTC instead of local time (tests). */
  utc?: boolean;
}

/**
 * Decides whether to colour: only on a terminal, and never when `NO_COLOR` is set and not empty
 * (https://no-color.org).
 *
 * @example
 * ```ts
 * useColor(true, { NO_COLOR: "1" }); // false
 * ```
 */
export function useColor(isTerminal: boolean, env: Record<string, string | undefined>): boolean {
  return isTerminal && !env.NO_COLOR;
}

const paint = (code: string, reset: string) => (style: Style, text: string) =>
  style.color ? `\x1b[${code}m${text}\x1b[${reset}m` : text;
const dim = paint("2", "22");
const bold = paint("1", "22");
const red = paint("31", "39");
const yellow = paint("33", "39");
const cyan = paint("36", "39");

// C0/C1 controls (ESC included: no terminal escapes from other people), and bidi overrides.
const UNSAFE = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

/**
 * Makes untrusted text safe for one terminal line: line breaks become `⏎`, tabs a space, other
 * control and bidi characters `�`.
 *
 * @example
 * ```ts
 * safeText("a\nb\x1b[2J"); // "a⏎b�[2J"
 * ```
 */
export function safeText(text: string): string {
  return text.replace(/\r?\n/g, "⏎").replace(/\t/g, " ").replace(UNSAFE, "\ufffd");
}

/**
 * `HH:MM:SS` of an epoch-ms timestamp, local time (or UTC).
 *
 * @example
 * ```ts
 * clockTime(Date.UTC(2026, 0, 1, 9, 5, 7), true); // "09:05:07"
 * ```
 */
export function clockTime(ts: number, utc = false): string {
  const d = new Date(ts);
  const parts = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds()];
  return parts.map((n) => String(n).padStart(2, "0")).join(":");
}

/**
 * Name to show for a sender or peer: the display name, else the connection id.
 *
 * @example
 * ```ts
 * who({ name: null, from: "c1-2" }); // "c1-2"
 * ```
 */
export function who(peer: { name: string | null; id?: string; from?: string }): string {
  return peer.name !== null && peer.name !== "" ? peer.name : (peer.from ?? peer.id ?? "?");
}

/**
 * `[HH:MM:SS] <name or short id>: <text>`; a message with `data` shows it as compact JSON, after
 * its text when it has both.
 *
 * @example
 * ```ts
 * formatMessage(message, { color: false, utc: true }); // "[09:05:07] Bob: hi"
 * formatMessage({ ...message, text: undefined, data: { a: 1 } }, style); // '[09:05:07] Bob: {"a":1}'
 * ```
 */
export function formatMessage(m: ChatMessage, style: Style): string {
  const time = `[${clockTime(m.ts, style.utc)}]`;
  const data = Object.hasOwn(m, "data") ? JSON.stringify(m.data ?? null) : null;
  const body = m.text === undefined
    ? safeText(data ?? "")
    : safeText(m.text) + (data === null ? "" : ` ${dim(style, safeText(data))}`);
  return `${dim(style, time)} ${bold(style, cyan(style, safeText(who(m))))}: ${body}`;
}

/**
 * A room as lines show it when more than one room is joined: `#<room>`, yellow.
 *
 * @example
 * ```ts
 * formatRoom("news", { color: false }); // "#news"
 * ```
 */
export function formatRoom(room: string, style: Style): string {
  return yellow(style, `#${safeText(room)}`);
}

/**
 * One's own line as sent: `[HH:MM:SS] you: <text>`, dim.
 *
 * @example
 * ```ts
 * formatOwn("hi", Date.UTC(2026, 0, 1, 9), { color: false, utc: true }); // "[09:00:00] you: hi"
 * ```
 */
export function formatOwn(text: string, ts: number, style: Style): string {
  return dim(style, `[${clockTime(ts, style.utc)}] you: ${safeText(text)}`);
}

/**
 * A dim status line starting with `* `.
 *
 * @example
 * ```ts
 * formatStatus("Bob joined (2 online)", { color: false }); // "* Bob joined (2 online)"
 * ```
 */
export function formatStatus(text: string, style: Style): string {
  return dim(style, `* ${text}`);
}

/**
 * A red line for a server or client error; `line` is the input line number of the message. An
 * error naming a `room` is a room the server would not let us join.
 *
 * @example
 * ```ts
 * formatError({ code: "too_large", message: "too big", ref: "r" }, { color: false });
 * // "! too_large: too big (message not delivered)"
 * formatError({ code: "too_large", message: "too big", ref: "r" }, { color: false }, 3);
 * // "! too_large: too big (line 3 not delivered)"
 * formatError({ code: "forbidden", message: "no", ref: "sub:b", room: "b" }, { color: false });
 * // "! forbidden: no (#b not joined)"
 * ```
 */
export function formatError(e: ClientEvents["error"], style: Style, line?: number): string {
  const which = line === undefined ? "message" : `line ${line}`;
  const what = e.retrying
    ? " (will retry)"
    : e.room !== undefined
    ? ` (#${safeText(e.room)} not joined)`
    : e.ref
    ? ` (${which} not delivered)`
    : "";
  return red(style, `! ${e.code}: ${safeText(e.message)}${what}`);
}

/**
 * Why the first connection failed, from the `reconnecting` state event: the reason the client
 * core gives (e.g. Deno's "Invalid status code: 404", "dns error", "tcp connect error"), else
 * what the close code says.
 *
 * @example
 * ```ts
 * connectFailure("ws://h/ws", { state: "reconnecting", attempt: 1, retryInMs: 300,
 *   closeCode: 1006, closeReason: "NetworkError: failed to connect to WebSocket: dns error" });
 * // "could not connect to ws://h/ws (dns error, close code 1006)"
 * ```
 */
export function connectFailure(url: string, s: ClientEvents["state"]): string {
  const given = (s.closeReason ?? "")
    .replace(/^(NetworkError: )?failed to connect to WebSocket: /i, "").trim();
  const why = given !== ""
    ? safeText(given)
    : s.closeCode === 4000
    ? "no welcome from the server in time"
    : "nothing answered";
  return `could not connect to ${url} (${why}, close code ${s.closeCode})`;
}

/**
 * `Connected to <url> (room <room>, <n> online)`.
 *
 * @example
 * ```ts
 * formatConnected("ws://h/ws", "dev", 3); // "Connected to ws://h/ws (room dev, 3 online)"
 * ```
 */
export function formatConnected(url: string, room: string, online: number): string {
  return `Connected to ${url} (room ${room}, ${online} online)`;
}

/**
 * Text of a presence change.
 *
 * @example
 * ```ts
 * presenceText({ online: 3, joined: { id: "c1", name: "Ann" } }); // "Ann joined (3 online)"
 * presenceText({ online: 4, joins: 2, leaves: 1 }); // "2 joined, 1 left (4 online)"
 * presenceText({ online: 5 }); // "5 online" (the count changed on other servers)
 * ```
 */
export function presenceText(p: ClientEvents["presence"]): string {
  const name = (peer: Peer) => safeText(who(peer));
  if (p.joined) return `${name(p.joined)} joined (${p.online} online)`;
  if (p.left) return `${name(p.left)} left (${p.online} online)`;
  const parts = [];
  if (p.joins) parts.push(`${p.joins} joined`);
  if (p.leaves) parts.push(`${p.leaves} left`);
  return parts.length ? `${parts.join(", ")} (${p.online} online)` : `${p.online} online`;
}

/**
 * Text of a lost connection.
 *
 * @example
 * ```ts
 * lostText({ state: "reconnecting", attempt: 2, retryInMs: 1200, closeCode: 1006 });
 * // "Connection lost (1006); reconnecting in 1.2 s (attempt 2)"
 * ```
 */
export function lostText(s: ClientEvents["state"]): string {
  const reason = s.closeReason ? `: ${safeText(s.closeReason)}` : "";
  const code = s.closeCode === undefined ? "" : ` (${s.closeCode}${reason})`;
  const wait = ((s.retryInMs ?? 0) / 1000).toFixed(1);
  return `Connection lost${code}; reconnecting in ${wait} s (attempt ${s.attempt})`;
}

/**
 * One `--json` line: `{"event": kind, ...payload}` (a message's own `type` is left out).
 *
 * @example
 * ```ts
 * jsonLine("presence", { online: 2 }); // '{"event":"presence","online":2}'
 * ```
 */
export function jsonLine(kind: string, payload: object = {}): string {
  const { type: _type, ...rest } = payload as Record<string, unknown>;
  return JSON.stringify({ event: kind, ...rest });
}
