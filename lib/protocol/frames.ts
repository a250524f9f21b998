/**
 * Wire protocol v1: the frames clients and servers exchange, and the parser of client frames.
 * See `docs/PROTOCOL.md` for the prose version with examples.
 *
 * @module
 */

import { controlCharProblem } from "./control_chars.ts";
import { exceedsDepth } from "./json_depth.ts";
import { ROOM_PATTERN } from "./handshake.ts";

/** Subprotocol a client offers to speak JSON mode. */
export const SUBPROTOCOL = "fanout.v1";

/** Codes of error frames; each comes with a human sentence. */
export type ErrorCode =
  | "invalid_json"
  | "invalid_message"
  | "unknown_type"
  | "empty_message"
  | "too_large"
  | "rate_limited"
  | "unsupported_binary"
  | "unavailable"
  | "ref_conflict"
  | "invalid_text"
  | "too_deep"
  | "forbidden"
  | "invalid_token"
  | "token_expired"
  | "invalid_room"
  | "too_many_rooms"
  | "not_subscribed";

/** A token's public `info` claim: a small JSON object (auth mode). */
export type UserInfo = { [key: string]: unknown };

/** A broadcast message as stored in history and sent to clients. */
export interface ChatMessage {
  type: "message";
  room: string;
  offset: number;
  id: string;
  from: string;
  /** Public id of the sender's client (derived from its private key), null without one. */
  client: string | null;
  name: string | null;
  /** The message's text; absent when it carries only `data`. */
  text?: string;
  /** Structured payload: any JSON value, delivered as sent; absent when it carries only text. */
  data?: unknown;
  ts: number;
  /** The sender's verified user id (the token's `sub`); only in auth mode. */
  user?: string;
  /** The sender's public `info` from its token; only in auth mode, when the token has one. */
  info?: UserInfo;
}

/** A connection as shown in presence frames. */
export interface Peer {
  id: string;
  name: string | null;
  /** The verified user id; only in auth mode, absent for anonymous readers. */
  user?: string;
  /** The token's public `info`; only in auth mode, when the token has one. */
  info?: UserInfo;
}

/**
 * A connection in a room's member list (`welcome.members`, the engine's `members`): a peer with
 * its public client id.
 */
export interface Member extends Peer {
  /** Public id of the connection's client (never its private key), null without one. */
  client: string | null;
}

/** Frames a JSON-mode client sends. */
export type ClientFrame =
  | { type: "message"; text?: string; data?: unknown; ref?: string; room?: string }
  | { type: "ping"; t: number | null }
  | { type: "refresh"; token: string; ref?: string }
  | {
    type: "subscribe";
    room: string;
    resume: { since: number; epoch: string } | null;
    ref?: string;
  }
  | { type: "unsubscribe"; room: string; ref?: string };

/** Limits the server announces in its welcome. */
export interface ServerLimits {
  maxMessageBytes: number;
  rateLimit: number;
  rateBurst: number;
}

/** The first frame of a JSON-mode connection. */
export interface WelcomeFrame {
  type: "welcome";
  id: string;
  /** This connection's public client id (as in its messages' `client`), null without a key. */
  client: string | null;
  room: string;
  epoch: string;
  offset: number;
  online: number;
  /**
   * Members of the room, this connection first, at most `MAX_WELCOME_MEMBERS` (`online` stays
   * the full count: fewer members than `online` means the list was cut, or is catching up).
   */
  members: Member[];
  recovered: boolean;
  history: ChatMessage[];
  limits: ServerLimits;
  /** The verified user id (auth mode; null for an anonymous reader). */
  user?: string | null;
  /** What the token allows in this room (auth mode): `r` (read) or `rw` (also send). */
  access?: "r" | "rw";
  /** When the token expires, epoch ms (auth mode; null for an anonymous reader). */
  expires?: number | null;
}

/**
 * The answer to a `subscribe`: the room's welcome, without what the connection's `welcome`
 * already said (id, client, limits, user, expires).
 */
export interface SubscribedFrame extends
  Pick<
    WelcomeFrame,
    "room" | "epoch" | "offset" | "online" | "members" | "recovered" | "history" | "access"
  > {
  type: "subscribed";
  /** The `ref` of the `subscribe` it answers. */
  ref?: string;
}

/**
 * Why a subscription ended: the client asked (`requested`), the room's history was reset (a new
 * epoch: subscribe again with `since`+`epoch` and get `recovered: false` and recent history), or
 * a refreshed token no longer grants the room (`forbidden`).
 */
export type UnsubscribeReason = "requested" | "reset" | "forbidden";

/** Frames the server sends in JSON mode. */
export type ServerFrame =
  | WelcomeFrame
  | SubscribedFrame
  | {
    type: "unsubscribed";
    room: string;
    reason: UnsubscribeReason;
    message?: string;
    ref?: string;
  }
  | ChatMessage
  | { type: "ack"; ref: string | null; offset: number; ts: number; room?: string }
  | {
    type: "presence";
    /** The room whose presence changed. */
    room?: string;
    online: number;
    joined?: Peer;
    left?: Peer;
    joins?: number;
    leaves?: number;
  }
  | { type: "pong"; t: number | null }
  | { type: "refreshed"; expires: number; ref?: string }
  | { type: "error"; code: ErrorCode; message: string; ref?: string; room?: string };

/** A rejected frame: the error code, a sentence saying what was wrong, and the `ref` if known. */
export interface ProtocolError {
  code: ErrorCode;
  message: string;
  ref?: string;
}

/** Result of {@linkcode parseClientFrame}. */
export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; error: ProtocolError };

/** Longest accepted `ref`, in characters. */
export const MAX_REF_LENGTH = 128;

/** Deepest nesting of `data` accepted by default (`MAX_DATA_DEPTH`). */
export const DEFAULT_MAX_DATA_DEPTH = 32;

/**
 * The text a plain-mode client receives for a message: its `text`, else the compact JSON of its
 * `data`.
 *
 * @example
 * ```ts
 * messageText({ text: "hi" }); // "hi"
 * messageText({ data: { price: 3 } }); // '{"price":3}'
 * ```
 */
export function messageText(message: { text?: string; data?: unknown }): string {
  return message.text ?? JSON.stringify(message.data === undefined ? null : message.data);
}

function fail(code: ErrorCode, message: string, ref?: string): ParseResult {
  return { ok: false, error: ref === undefined ? { code, message } : { code, message, ref } };
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

/** What a message's body must be, for a socket's frame and an API request alike. */
export type MessageBody = { text?: string; data?: unknown };

/**
 * Checks the `text` and `data` of a message: at least one of them; `text` a non-empty string
 * without control characters; `data` any JSON value nested at most `maxDataDepth` levels.
 * Returns the body (only the fields present) or the error.
 *
 * @example
 * ```ts
 * checkMessage({ data: { price: 3 } }, 32); // { data: { price: 3 } }
 * checkMessage({}, 32); // { code: "invalid_message", message: 'a message needs "text" or "data"' }
 * ```
 */
export function checkMessage(
  obj: Record<string, unknown>,
  maxDataDepth: number,
): MessageBody | { code: ErrorCode; message: string } {
  const hasText = obj.text !== undefined;
  const hasData = Object.hasOwn(obj, "data");
  if (!hasText && !hasData) {
    return { code: "invalid_message", message: 'a message needs "text" or "data"' };
  }
  const body: MessageBody = {};
  if (hasText) {
    const text = obj.text;
    if (typeof text !== "string") {
      return {
        code: "invalid_message",
        message: `"text" must be a string, got ${describe(text).slice(0, 60)}`,
      };
    }
    if (text.trim() === "") {
      return { code: "empty_message", message: "text is empty or only whitespace" };
    }
    const control = controlCharProblem(text);
    if (control !== null) return { code: "invalid_text", message: control };
    body.text = text;
  }
  if (hasData) {
    if (exceedsDepth(obj.data, maxDataDepth)) {
      return {
        code: "too_deep",
        message: `"data" is nested deeper than ${maxDataDepth} levels`,
      };
    }
    body.data = obj.data;
  }
  return body;
}

/** Why `room` is not a room name, or null when it is one. */
function roomProblem(room: unknown): string | null {
  if (typeof room === "string" && ROOM_PATTERN.test(room)) return null;
  const shown = typeof room === "string" ? JSON.stringify(room.slice(0, 40)) : describe(room);
  return `room must be 1-64 characters of a-z, 0-9, _ and -, got ${shown}`;
}

/**
 * Parses one JSON-mode text frame. Never throws: bad input yields a {@linkcode ProtocolError}.
 * A message has `text`, `data` (any JSON value, nested at most `maxDataDepth` levels), or both.
 * The most common frame, a message as `FanoutClient` sends it, is read without `JSON.parse`
 * ({@linkcode plainMessageFrame}); every other goes through {@linkcode parseJsonFrame}, with the
 * same result for the frames both read.
 *
 * @example
 * ```ts
 * const result = parseClientFrame('{"type":"message","text":"hi","ref":"r1"}');
 * if (result.ok) result.frame; // { type: "message", text: "hi", ref: "r1" }
 * ```
 */
export function parseClientFrame(
  data: string,
  maxDataDepth: number = DEFAULT_MAX_DATA_DEPTH,
): ParseResult {
  return plainMessageFrame(data) ?? parseJsonFrame(data, maxDataDepth);
}

/** Printable ASCII but `"` and `\\`: nothing JSON escapes, no control character to refuse. */
const PLAIN_CHAR = String.raw`[\x20\x21\x23-\x5b\x5d-\x7e]`;
const PLAIN_TEXT = `(${PLAIN_CHAR}*)`;
const PLAIN_REF = `(${PLAIN_CHAR}{1,${MAX_REF_LENGTH}})`;
const PLAIN_MESSAGE = new RegExp(
  String.raw`^\{"type":"message","text":"${PLAIN_TEXT}","ref":"${PLAIN_REF}"\}$`,
);

/**
 * `{"type":"message","text":"…","ref":"…"}` exactly (no space, no other member, in this order),
 * both strings of printable ASCII without a quote or a backslash, the text not blank and the ref
 * at most {@linkcode MAX_REF_LENGTH} characters, read by one regular expression: `JSON.parse` and
 * the checks after it cost about 370 ns for a 100-byte frame, this about 120. Null for any other
 * frame, which {@linkcode parseJsonFrame} then reads (and refuses with its error when it must):
 * a frame this accepts is valid JSON that `parseJsonFrame` accepts as the same frame.
 *
 * @example
 * ```ts
 * plainMessageFrame('{"type":"message","text":"hi","ref":"r1"}');
 * // { ok: true, frame: { type: "message", text: "hi", ref: "r1" } }
 * plainMessageFrame('{"type":"message","text":"h\\u00e9","ref":"r1"}'); // null: an escape
 * ```
 */
export function plainMessageFrame(data: string): ParseResult | null {
  const found = PLAIN_MESSAGE.exec(data);
  // A blank text (spaces only: the only whitespace here) gets its error from the general parser.
  if (found === null || found[1].trim() === "") return null;
  // The text may be V8's slice of `data`: a message kept in history then holds its whole frame,
  // at most the ref and about 30 characters more than the text (within the 200 bytes a kept
  // message's object is counted for, `messageCost` in lib/engine/memory/room_log.ts).
  const frame: ClientFrame = { type: "message", text: found[1], ref: found[2] };
  return { ok: true, frame };
}

/**
 * {@linkcode parseClientFrame} for any frame, through `JSON.parse` (what it does for every frame
 * {@linkcode plainMessageFrame} does not read).
 *
 * @example
 * ```ts
 * parseJsonFrame('{"type":"ping","t":1}'); // { ok: true, frame: { type: "ping", t: 1 } }
 * ```
 */
export function parseJsonFrame(
  data: string,
  maxDataDepth: number = DEFAULT_MAX_DATA_DEPTH,
): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return fail("invalid_json", `frame is not valid JSON: ${reason.slice(0, 120)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail("invalid_message", `frame must be a JSON object, got ${describe(value)}`);
  }
  const obj = value as Record<string, unknown>;
  const ref = obj.ref;
  if (
    ref !== undefined &&
    (typeof ref !== "string" || ref.length === 0 || ref.length > MAX_REF_LENGTH)
  ) {
    return fail(
      "invalid_message",
      `"ref" must be a string of 1-${MAX_REF_LENGTH} characters, got ${describe(ref).slice(0, 60)}`,
    );
  }
  switch (obj.type) {
    case "message": {
      const checked = checkMessage(obj, maxDataDepth);
      if ("code" in checked) return fail(checked.code, checked.message, ref);
      const frame: ClientFrame = { type: "message", ...checked };
      if (ref !== undefined) frame.ref = ref;
      if (obj.room !== undefined) {
        const bad = roomProblem(obj.room);
        if (bad !== null) return fail("invalid_room", bad, ref);
        frame.room = obj.room as string;
      }
      return { ok: true, frame };
    }
    case "subscribe": {
      const bad = roomProblem(obj.room);
      if (bad !== null) return fail("invalid_room", bad, ref);
      const { since, epoch } = obj;
      let resume: { since: number; epoch: string } | null = null;
      if (since !== undefined || epoch !== undefined) {
        if (
          typeof since !== "number" || !Number.isSafeInteger(since) || since < 0 ||
          typeof epoch !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(epoch)
        ) {
          return fail(
            "invalid_message",
            '"since" (an integer of 0 or more) and "epoch" (1-64 of A-Z a-z 0-9 _ -) go together',
            ref,
          );
        }
        resume = { since, epoch };
      }
      const frame: ClientFrame = { type: "subscribe", room: obj.room as string, resume };
      if (ref !== undefined) frame.ref = ref;
      return { ok: true, frame };
    }
    case "unsubscribe": {
      const bad = roomProblem(obj.room);
      if (bad !== null) return fail("invalid_room", bad, ref);
      const frame: ClientFrame = { type: "unsubscribe", room: obj.room as string };
      if (ref !== undefined) frame.ref = ref;
      return { ok: true, frame };
    }
    case "ping": {
      const t = obj.t;
      if (t !== undefined && (typeof t !== "number" || !Number.isFinite(t))) {
        return fail(
          "invalid_message",
          `"t" of a ping must be a number, got ${describe(t).slice(0, 60)}`,
          ref,
        );
      }
      return { ok: true, frame: { type: "ping", t: t ?? null } };
    }
    case "refresh": {
      const token = obj.token;
      if (typeof token !== "string" || token.length === 0) {
        return fail(
          "invalid_message",
          `"token" of a refresh must be a non-empty string, got ${
            typeof token === "string" ? "an empty string" : describe(token).slice(0, 60)
          }`,
          ref,
        );
      }
      return {
        ok: true,
        frame: ref === undefined ? { type: "refresh", token } : { type: "refresh", token, ref },
      };
    }
    default:
      return fail(
        "unknown_type",
        `unknown frame type ${
          describe(obj.type).slice(0, 60)
        }; expected "message", "ping", "refresh", "subscribe" or "unsubscribe"`,
        ref,
      );
  }
}

/**
 * Checks a plain-mode frame: its whole text is the message (the same text rules as JSON mode).
 *
 * @example
 * ```ts
 * parsePlainFrame("  "); // { ok: false, error: { code: "empty_message", ... } }
 * parsePlainFrame("ding\u0007"); // { ok: false, error: { code: "invalid_text", ... } }
 * ```
 */
export function parsePlainFrame(data: string): ParseResult {
  if (data.trim() === "") return fail("empty_message", "text is empty or only whitespace");
  const control = controlCharProblem(data);
  if (control !== null) return fail("invalid_text", control);
  return { ok: true, frame: { type: "message", text: data } };
}
