/**
 * Building blocks of the chat island's reducer (`chat_state.ts`): the initial state, the time
 * online, and helpers that add log entries, notices and bubbles within the caps.
 *
 * @module
 */

import type { ChatEvent, ChatItem, LogEntry, LogKind, ViewState } from "./types.ts";

/** Most entries kept in each view. */
export const MAX_ITEMS = 500;

/**
 * The state before any event.
 *
 * @example
 * ```ts
 * const s = initialState("lobby");
 * ```
 */
export function initialState(room: string): ViewState {
  return {
    conn: "idle",
    attempt: 0,
    retryAt: null,
    room,
    myId: null,
    log: [],
    chat: [],
    notices: [],
    stats: {
      events: 0,
      sent: 0,
      received: 0,
      online: 0,
      onlineMs: 0,
      onlineSince: null,
      reconnects: 0,
      rttMs: null,
    },
    seq: 0,
    lost: false,
  };
}

/**
 * Milliseconds online so far, including the running session.
 *
 * @example
 * ```ts
 * timeOnline(state, Date.now());
 * ```
 */
export function timeOnline(s: Pick<ViewState, "stats">, now: number): number {
  return s.stats.onlineMs + (s.stats.onlineSince === null ? 0 : now - s.stats.onlineSince);
}

/**
 * Keeps the newest {@linkcode MAX_ITEMS} of `list`.
 *
 * @example
 * ```ts
 * cap(items).length <= MAX_ITEMS; // true
 * ```
 */
export function cap<T>(list: T[]): T[] {
  return list.length > MAX_ITEMS ? list.slice(list.length - MAX_ITEMS) : list;
}

/**
 * Appends a Broadcasts entry (and counts it as an event); `own` marks one of ours.
 *
 * @example
 * ```ts
 * s = addLog(s, Date.now(), "status", "Online");
 * s = addLog(s, Date.now(), "sent", "hi", "You", true);
 * ```
 */
export function addLog(
  s: ViewState,
  now: number,
  kind: LogKind,
  text: string,
  name?: string,
  own = false,
): ViewState {
  const seq = s.seq + 1;
  const entry: LogEntry = { seq, at: now, kind, text };
  if (name !== undefined) entry.name = name;
  if (own) entry.own = true;
  return {
    ...s,
    seq,
    log: cap([...s.log, entry]),
    stats: { ...s.stats, events: s.stats.events + 1 },
  };
}

/**
 * Adds a notice above the views (the newest three are kept).
 *
 * @example
 * ```ts
 * s = addNotice(s, "Name not changed.");
 * ```
 */
export function addNotice(s: ViewState, text: string): ViewState {
  const seq = s.seq + 1;
  return { ...s, seq, notices: [...s.notices, { seq, text }].slice(-3) };
}

/**
 * A bubble of ours, on the right, keyed by its ref (or by offset and id from history).
 *
 * @example
 * ```ts
 * ownBubble("tab1-x-1", "hi", Date.now(), "queued");
 * ```
 */
export function ownBubble(
  key: string,
  text: string,
  ts: number,
  status: NonNullable<ChatItem["status"]>,
): ChatItem {
  return { key, kind: "own", sender: "me", name: "You", text, ts, status };
}

/**
 * One of our own messages from a fresh join's history: a delivered bubble on the right, once.
 *
 * @example
 * ```ts
 * s = ownFromHistory(s, { ...message, own: true }, Date.now());
 * ```
 */
export function ownFromHistory(
  s: ViewState,
  e: Extract<ChatEvent, { type: "message" }>,
  now: number,
): ViewState {
  const key = `m${e.offset}-${e.id}`;
  if (s.chat.some((c) => c.key === key)) return s;
  const item = ownBubble(key, e.text, e.ts, "delivered");
  return addLog({ ...s, chat: cap([...s.chat, item]) }, now, "message", e.text, "You", true);
}
