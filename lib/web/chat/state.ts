/**
 * The chat island's view state as a pure reducer over the client core's events: the Broadcasts
 * log, the Chat timeline (own messages from the outbox and acks, others' from `message`), the
 * metrics and the notices. No DOM, no timers: the island feeds it events and the clock.
 *
 * @module
 */

import type { ChatEvent, ChatItem, LogEntry, LogKind, Refusal, ViewState } from "./types.ts";
import { closeText, ERROR_TEXT, REFUSAL_HINT, REFUSAL_TEXT, STATE_TEXT } from "./text.ts";
import { Close } from "../../protocol/close_codes.ts";
import { messageText } from "../../protocol/frames.ts";

export type * from "./types.ts";
/**
 * The name shown for a sender or peer: its display name, else its verified user id (auth mode),
 * else "anonymous" (a client that gave no name, such as wscat).
 */
function shownName(who: { name: string | null; user?: string }): string {
  return who.name ?? who.user ?? "anonymous";
}

/** A message's `data` as indented JSON for the Broadcasts view; undefined without data. */
function dataOf(e: { data?: unknown }): string | undefined {
  return Object.hasOwn(e, "data") ? JSON.stringify(e.data ?? null, null, 2) : undefined;
}

/** What a `refused` state means for the user. */
function refusalOf(e: { status?: 401 | 403; closeCode?: number; closeReason?: string }): Refusal {
  if (e.status === 403) return "room";
  const expired = e.closeCode === Close.tokenExpired || /expired/i.test(e.closeReason ?? "");
  return expired ? "expired" : "token";
}

/**
 * Applies one event at clock time `now`.
 *
 * @example
 * ```ts
 * let s = initialState("lobby");
 * s = reduce(s, { type: "rtt", ms: 12 }, Date.now());
 * ```
 */
export function reduce(s: ViewState, e: ChatEvent, now: number): ViewState {
  switch (e.type) {
    case "state": {
      if (e.state === s.conn && e.state !== "reconnecting") return s;
      const leaving = s.stats.onlineSince !== null && e.state !== "online";
      const stats = leaving
        ? { ...s.stats, onlineMs: timeOnline(s, now), onlineSince: null }
        : s.stats;
      const next: ViewState = {
        ...s,
        conn: e.state,
        attempt: e.attempt,
        retryAt: e.retryInMs === null ? null : now + e.retryInMs,
        stats,
        lost: e.state === "offline" ? false : s.lost || e.state === "reconnecting",
        refusal: e.state === "refused" ? refusalOf(e) : null,
      };
      if (e.state === "refused") {
        const why = e.closeReason ? `: ${e.closeReason}` : "";
        const logged = addLog(next, now, "status", `${REFUSAL_TEXT[next.refusal!]}${why}`);
        return addNotice(logged, `${REFUSAL_TEXT[next.refusal!]}. ${REFUSAL_HINT[next.refusal!]}`);
      }
      if (e.state === "online" || (e.state === "connecting" && e.attempt > 0)) return next;
      if (e.state !== "reconnecting") return addLog(next, now, "status", STATE_TEXT[e.state]);
      const phrase = e.closeCode === undefined ? "" : closeText(e.closeCode);
      const reason = e.closeReason && e.closeReason.toLowerCase() !== phrase ? e.closeReason : "";
      const why = phrase ? ` (${phrase}${reason ? `: ${reason}` : ""})` : "";
      const wait = e.retryInMs === null ? "" : `, retrying in ${Math.ceil(e.retryInMs / 1000)}s`;
      const head = leaving ? "Connection lost" : `Attempt ${e.attempt} failed`;
      return addLog(next, now, "status", head + why + wait);
    }
    case "welcome": {
      const reconnect = s.lost;
      const next: ViewState = {
        ...s,
        myId: e.id,
        room: e.room,
        lost: false,
        stats: {
          ...s.stats,
          online: e.online,
          onlineSince: s.stats.onlineSince ?? now,
          reconnects: s.stats.reconnects + (reconnect ? 1 : 0),
        },
      };
      // `resumed` only says a resume was asked for; `recovered` says it worked (else a gap follows).
      const how = reconnect
        ? (e.resumed && e.recovered ? "Reconnected, nothing missed" : "Reconnected")
        : "Joined";
      return addLog(next, now, "status", `${how}: #${e.room}, ${e.online} online`);
    }
    case "message": {
      // Only the room shown: another room's (e.g. the old one's, around a switch) is not ours.
      if (e.room !== undefined && e.room !== s.room) return s;
      if (e.own) return ownFromHistory(s, e, now);
      const item: ChatItem = {
        key: `m${e.offset}-${e.id}`,
        kind: "other",
        sender: e.client || e.from,
        name: shownName(e),
        text: messageText(e),
        ts: e.ts,
      };
      const next = {
        ...s,
        chat: cap([...s.chat, item]),
        stats: { ...s.stats, received: s.stats.received + 1 },
      };
      return addLog(next, now, "message", e.text ?? "", shownName(e), false, dataOf(e));
    }
    case "gap": {
      const restarted = e.previousEpoch !== e.epoch;
      const item: ChatItem = {
        key: `gap${s.seq + 1}`,
        kind: "gap",
        sender: "",
        name: "",
        text: restarted
          ? "Server restarted: messages sent meanwhile may be missing"
          : "You were away too long: some messages are no longer kept and may be missing",
        ts: now,
      };
      const next = { ...s, chat: cap([...s.chat, item]) };
      return addLog(
        next,
        now,
        "gap",
        restarted
          ? "History gap: the server restarted and lost its log (new epoch)"
          : "History gap: you were away longer than the server keeps history",
      );
    }
    case "outbox": {
      const byRef = new Map(e.items.map((i) => [i.ref, i]));
      const known = new Set<string>();
      const chat = s.chat.map((c) => {
        if (c.kind !== "own" || c.status === "delivered" || c.status === "failed") return c;
        known.add(c.key);
        const item = byRef.get(c.key);
        return item && item.status !== c.status ? { ...c, status: item.status } : c;
      });
      const added = e.items.filter((i) => !known.has(i.ref))
        .map((i) => ownBubble(i.ref, messageText(i), i.createdAt, i.status));
      return { ...s, chat: cap([...chat, ...added]) };
    }
    case "ack": {
      let found = false;
      const chat = s.chat.map((c) => {
        if (c.kind !== "own" || c.key !== e.ref) return c;
        found = true;
        return { ...c, status: "delivered" as const, ts: e.ts };
      });
      if (!found) chat.push(ownBubble(e.ref, messageText(e), e.ts, "delivered"));
      const next = { ...s, chat: cap(chat), stats: { ...s.stats, sent: s.stats.sent + 1 } };
      return addLog(next, now, "sent", e.text ?? "", "You", true, dataOf(e));
    }
    case "presence": {
      if (e.room !== undefined && e.room !== s.room) return s;
      const next = { ...s, stats: { ...s.stats, online: e.online } };
      if (e.joined) {
        const own = e.joined.id === s.myId;
        return addLog(
          next,
          now,
          "join",
          `${own ? "You" : shownName(e.joined)} joined`,
          undefined,
          own,
        );
      }
      if (e.left) return addLog(next, now, "leave", `${shownName(e.left)} left`);
      const parts = [];
      if (e.joins) parts.push(`${e.joins} joined`);
      if (e.leaves) parts.push(`${e.leaves} left`);
      if (parts.length === 0) return next;
      return addLog(next, now, e.leaves && !e.joins ? "leave" : "join", parts.join(", "));
    }
    case "error": {
      const known = ERROR_TEXT[e.code];
      const text = (known ?? `Server error (${e.code}): ${e.message}`) +
        (e.retrying ? " It will be sent again shortly." : "");
      const failed = e.ref !== undefined && !e.retrying;
      const chat = failed
        ? s.chat.map((c) =>
          c.kind === "own" && c.key === e.ref && c.status !== "delivered"
            ? { ...c, status: "failed" as const }
            : c
        )
        : s.chat;
      return addLog(addNotice({ ...s, chat }, text), now, "error", text);
    }
    case "rtt":
      return { ...s, stats: { ...s.stats, rttMs: e.ms } };
    case "room": {
      if (e.room === s.room) return s;
      let next: ViewState = { ...s, room: e.room, chat: [], myId: null, lost: false };
      if (e.discarded) {
        const n = e.discarded;
        const text = `${n} ${n === 1 ? "message" : "messages"} queued for #${s.room} ` +
          `${n === 1 ? "was" : "were"} not sent: you switched rooms.`;
        next = addNotice(next, text);
      }
      return addLog(next, now, "room", `Switched to #${e.room}`);
    }
    case "notice":
      return addLog(addNotice(s, e.text), now, "error", e.text);
    case "dismiss":
      return { ...s, notices: s.notices.filter((n) => n.seq !== e.seq) };
  }
}

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
    refusal: null,
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

/** Appends a Broadcasts entry (and counts it as an event); `own` marks one of ours. */
function addLog(
  s: ViewState,
  now: number,
  kind: LogKind,
  text: string,
  name?: string,
  own = false,
  data?: string,
): ViewState {
  const seq = s.seq + 1;
  const entry: LogEntry = { seq, at: now, kind, text };
  if (name !== undefined) entry.name = name;
  if (own) entry.own = true;
  if (data !== undefined) entry.data = data;
  return {
    ...s,
    seq,
    log: cap([...s.log, entry]),
    stats: { ...s.stats, events: s.stats.events + 1 },
  };
}

/** Adds a notice above the views (the newest three are kept). */
function addNotice(s: ViewState, text: string): ViewState {
  const seq = s.seq + 1;
  return { ...s, seq, notices: [...s.notices, { seq, text }].slice(-3) };
}

/** A bubble of ours, on the right, keyed by its ref (or by offset and id from history). */
function ownBubble(
  key: string,
  text: string,
  ts: number,
  status: NonNullable<ChatItem["status"]>,
): ChatItem {
  return { key, kind: "own", sender: "me", name: "You", text, ts, status };
}

/** One of our own messages from a fresh join's history: a delivered bubble on the right, once. */
function ownFromHistory(
  s: ViewState,
  e: Extract<ChatEvent, { type: "message" }>,
  now: number,
): ViewState {
  const key = `m${e.offset}-${e.id}`;
  if (s.chat.some((c) => c.key === key)) return s;
  const item = ownBubble(key, messageText(e), e.ts, "delivered");
  const chat = cap([...s.chat, item]);
  return addLog({ ...s, chat }, now, "message", e.text ?? "", "You", true, dataOf(e));
}
