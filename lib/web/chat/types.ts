/**
 * Types of the chat island's view state and of the events that change it.
 *
 * @module
 */

/** Connection states, as the client core names them. */
export type ConnState =
  | "idle"
  | "connecting"
  | "online"
  | "reconnecting"
  | "offline"
  | "refused";

/** Why the server refused the client (auth mode): the room, an expired token, or the token. */
export type Refusal = "room" | "expired" | "token";

/** Kinds of Broadcasts entries. */
export type LogKind = "message" | "sent" | "join" | "leave" | "status" | "gap" | "error" | "room";

/** One line of the Broadcasts view. */
export interface LogEntry {
  seq: number;
  at: number;
  kind: LogKind;
  text: string;
  name?: string;
  /** Ours (a sent message, one from our own history, our own join): not read out. */
  own?: true;
  /** A message's `data`, as indented JSON. */
  data?: string;
}

/** One bubble (or gap marker) of the Chat view. */
export interface ChatItem {
  key: string;
  kind: "own" | "other" | "gap";
  /** Sender key for grouping (public client id, else connection id). */
  sender: string;
  name: string;
  text: string;
  ts: number;
  /** Own messages: `queued` (not on the wire yet), `sent` (waiting for ack), `delivered`, or
   * `failed` (the server refused it for good). */
  status?: "queued" | "sent" | "delivered" | "failed";
}

/** A readable error shown above the views. */
export interface Notice {
  seq: number;
  text: string;
}

/** Everything the island renders. */
export interface ViewState {
  conn: ConnState;
  /** Why the server refused us, while `conn` is `refused`. */
  refusal: Refusal | null;
  attempt: number;
  /** Clock time of the next reconnect attempt, when one is scheduled. */
  retryAt: number | null;
  room: string;
  myId: string | null;
  log: LogEntry[];
  chat: ChatItem[];
  notices: Notice[];
  stats: {
    events: number;
    sent: number;
    received: number;
    online: number;
    onlineMs: number;
    onlineSince: number | null;
    reconnects: number;
    rttMs: number | null;
  };
  seq: number;
  /** True once a connection was lost; the next welcome counts as a reconnect. */
  lost: boolean;
}

/** Outbox item as the client core reports it. */
export interface OutboxView {
  ref: string;
  text?: string;
  data?: unknown;
  status: "queued" | "sent";
  createdAt: number;
}

/** Events the reducer understands (the client core's events, plus UI actions). */
export type ChatEvent =
  | {
    type: "state";
    state: ConnState;
    attempt: number;
    retryInMs: number | null;
    closeCode?: number;
    closeReason?: string;
    status?: 401 | 403;
  }
  | {
    type: "welcome";
    id: string;
    room: string;
    online: number;
    recovered: boolean;
    resumed: boolean;
  }
  | {
    type: "message";
    /** The room it was sent in (the client core's events always name it). */
    room?: string;
    id: string;
    from: string;
    client?: string | null;
    name: string | null;
    /** The sender's verified user id (auth mode). */
    user?: string;
    /** Absent when the message carries only `data`. */
    text?: string;
    /** Structured payload (any JSON value), when the message has one. */
    data?: unknown;
    ts: number;
    offset: number;
    /** One of ours (our public client id), from the history of a fresh join. */
    own?: boolean;
  }
  | {
    type: "gap";
    room: string;
    previousEpoch: string | null;
    epoch: string;
    since: number | null;
  }
  | { type: "ack"; ref: string; ts: number; text?: string; data?: unknown }
  | { type: "outbox"; items: OutboxView[] }
  | {
    type: "presence";
    /** The room whose presence changed (absent from a server before many rooms). */
    room?: string;
    online: number;
    joined?: { id: string; name: string | null; user?: string };
    left?: { id: string; name: string | null; user?: string };
    joins?: number;
    leaves?: number;
  }
  | { type: "error"; code: string; message: string; ref?: string; retrying?: boolean }
  | { type: "rtt"; ms: number }
  /** The user switched rooms; `discarded` unsent messages of the old room were dropped. */
  | { type: "room"; room: string; discarded?: number }
  /** A message for the user from the island itself (bad saved name, refused rename, ...). */
  | { type: "notice"; text: string }
  | { type: "dismiss"; seq: number };

/** Props of the `Chat` island (plain JSON, rendered into the page). */
export interface ChatProps {
  room: string;
  /** Display name from the URL (valid by the server's rule), else null; the browser then uses the
   * saved name or a guest name. */
  name: string | null;
  /** Path of the WebSocket endpoint, e.g. `/ws`. */
  wsPath: string;
  /**
   * The server requires tokens (auth mode): the page takes one from `#token=` (kept for the tab)
   * and says when the server refuses it instead of reconnecting.
   */
  auth: boolean;
  /** The server's limits, shown before the welcome confirms them. */
  limits: { maxMessageBytes: number; rateLimit: number; rateBurst: number };
  /** Reconnect backoff override (tests use a short one), else the client's default. */
  backoff: { baseMs: number; capMs: number } | null;
}
