/**
 * The engine keeps each room's log (epoch, offsets, history, `ref` deduplication) and delivers
 * accepted messages to the hub. The hub does not know which engine it talks to: the in-memory one
 * (one process) or the Redis one (many processes).
 *
 * @module
 */

import type { ChatMessage, Member, UserInfo } from "../protocol/frames.ts";

/** A message the hub asks the engine to accept. */
export interface Draft {
  room: string;
  /** Connection id of the sender. */
  from: string;
  /** Public client id of the sender, null without one. */
  client: string | null;
  name: string | null;
  /** The text, when the message has one. */
  text?: string;
  /** The structured payload, when the message has one (any JSON value, `null` included). */
  data?: unknown;
  ref: string | null;
  /** The sender's verified user id (auth mode only; absent in open mode). */
  user?: string;
  /** The sender's public token `info` (auth mode only, when the token has one). */
  info?: UserInfo;
}

/**
 * A message's `text` and `data`, only those it has (a `data` of `null` is kept).
 *
 * @example
 * ```ts
 * contentOf({ text: "hi" }); // { text: "hi" }
 * contentOf({ data: null }); // { data: null }
 * ```
 */
export function contentOf(message: { text?: string; data?: unknown }): {
  text?: string;
  data?: unknown;
} {
  const content: { text?: string; data?: unknown } = {};
  if (message.text !== undefined) content.text = message.text;
  if (Object.hasOwn(message, "data")) content.data = message.data;
  return content;
}

/**
 * What a `ref`'s dedupe compares (through a hash): the text alone for a text message (as before
 * `data` existed, so hashes stored by older versions still match), else the text and the compact
 * JSON of `data`.
 *
 * @example
 * ```ts
 * dedupeContent({ text: "hi" }); // "hi"
 * dedupeContent({ data: [1] }); // "\u0000[1]"
 * ```
 */
export function dedupeContent(message: { text?: string; data?: unknown }): string {
  if (!Object.hasOwn(message, "data")) return message.text ?? "";
  return `${message.text ?? ""}\u0000${JSON.stringify(message.data)}`;
}

/**
 * What every engine stores of a message besides its room, epoch, offset and time: the sender
 * (connection, public client id, name; user and info in auth mode) and the content.
 */
export interface StoredBody {
  from: string;
  client: string | null;
  name: string | null;
  text?: string;
  data?: unknown;
  user?: string;
  info?: UserInfo;
}

/**
 * The stored body of a draft: only the fields it has (open mode's messages keep exactly theirs).
 *
 * @example
 * ```ts
 * storedBody({ room: "r", from: "c1", client: null, name: null, text: "hi", ref: null });
 * // { from: "c1", client: null, name: null, text: "hi" }
 * ```
 */
export function storedBody(draft: Draft): StoredBody {
  const body: StoredBody = { from: draft.from, client: draft.client, name: draft.name };
  Object.assign(body, contentOf(draft));
  if (draft.user !== undefined) body.user = draft.user;
  if (draft.info !== undefined) body.info = draft.info;
  return body;
}

/**
 * The message a client sees, from where the engine put it and its stored body (the one shape
 * the memory, KV and Redis engines all build).
 *
 * @example
 * ```ts
 * messageOf("lobby", "e1", 3, 1700000000000, { from: "c1", client: null, name: null, text: "hi" });
 * ```
 */
export function messageOf(
  room: string,
  epoch: string,
  offset: number,
  ts: number,
  body: StoredBody,
): ChatMessage {
  return withUser({
    type: "message",
    room,
    offset,
    id: `${epoch}-${offset}`,
    from: body.from,
    client: body.client,
    name: body.name,
    ...contentOf(body),
    ts,
  }, body);
}

/**
 * `message` with the sender's `user` and `info` added when the draft has them (auth mode), and
 * unchanged otherwise: open mode's messages keep exactly their fields.
 *
 * @example
 * ```ts
 * withUser({ ...message }, { user: "ann", info: { team: 42 } }); // { ...message, user, info }
 * withUser({ ...message }, {}); // message as it was
 * ```
 */
export function withUser(
  message: ChatMessage,
  sender: { user?: string; info?: UserInfo },
): ChatMessage {
  if (sender.user !== undefined) message.user = sender.user;
  if (sender.info !== undefined) message.info = sender.info;
  return message;
}

/**
 * Checks the `limit` of {@linkcode Engine.members}: an integer of at least 0. Throws a
 * `RangeError` naming the bad value.
 *
 * @example
 * ```ts
 * memberLimit(100); // 100
 * memberLimit(-1); // throws RangeError: members: limit must be an integer of at least 0, got -1
 * ```
 */
export function memberLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`members: limit must be an integer of at least 0, got ${limit}`);
  }
  return limit;
}

/** Who is in a room, as {@linkcode Engine.members} reads it. */
export interface RoomMembers {
  /** Connections online in the room across every process (this process's as the caller said). */
  online: number;
  /** At most the limit asked for: this process's members first, in the order they joined. */
  members: readonly Member[];
}

/**
 * Outcome of a publish: a new message; the original ack of an earlier one of the same sender with
 * the same ref and text; or a conflict, when that earlier one had another text (refused, never
 * acknowledged nor broadcast).
 */
export type PublishResult =
  | { status: "accepted"; message: ChatMessage }
  | { status: "duplicate"; offset: number; ts: number }
  | { status: "conflict" };

/** Where the client stands after joining: the room's log position and what it gets replayed. */
export interface Recovery {
  epoch: string;
  offset: number;
  recovered: boolean;
  history: ChatMessage[];
}

/**
 * Log position of a room. The epoch is what a resume needs, not public: `/api/stats` shows only
 * the offset.
 */
export interface RoomPosition {
  epoch: string;
  offset: number;
}

/**
 * An order for every process sharing an engine: close the connections of a user, of a public
 * client id, or one connection (the API's disconnect), with `code` and `reason`.
 *
 * @example
 * ```ts
 * const cmd: EngineCommand = { kind: "disconnect", user: "ann", code: 4403, reason: "banned" };
 * ```
 */
export interface EngineCommand {
  kind: "disconnect";
  user?: string;
  client?: string;
  connection?: string;
  code: number;
  reason: string;
}

/**
 * What an engine tells the hub, registered once with {@linkcode Engine.start}.
 *
 * @example
 * ```ts
 * await engine.start({ message: (m) => hub.deliver(m), reset: (room, epoch) => hub.reset(room, epoch) });
 * ```
 */
export interface EngineEvents {
  /** Every accepted message of the rooms the hub has joined, in offset order per room. */
  message(message: ChatMessage): void;
  /** Other processes changed how many are online in `room` (engines shared across processes). */
  presence?(room: string): void;
  /**
   * A joined room's epoch changed under its local members (its history was lost or rolled back in
   * a shared store): offsets of the old epoch mean nothing in the new one, so members welcomed
   * with another epoch must rejoin. Told before any message of the new epoch is delivered.
   */
  reset?(room: string, epoch: string): void;
  /** Another process sharing the engine sent a command (`Engine.command`). */
  command?(command: EngineCommand): void;
}

/**
 * The epoch a message belongs to: its id is `<epoch>-<offset>`.
 *
 * @example
 * ```ts
 * epochOf({ id: "k3v9x0qa1b-42" }); // "k3v9x0qa1b"
 * ```
 */
export function epochOf(message: { id: string }): string {
  const id = message.id;
  return id.slice(0, id.lastIndexOf("-"));
}

/** The hub's view of a message engine. */
export interface Engine {
  /** Name shown in logs and metrics, e.g. `memory` or `redis`. */
  readonly name: string;
  /** Starts the engine; from now on it tells `events` what happens in the joined rooms. */
  start(events: EngineEvents): Promise<void>;
  /**
   * Accepts a message (assigning its offset), recognises a resend of one (same sender, ref and
   * text), or refuses a ref its sender already used for another text. Rejects when unavailable.
   */
  publish(draft: Draft): Promise<PublishResult>;
  /**
   * `publish` answered at once, by an engine with nothing to wait for (the memory engine): the
   * hub uses it when there, and spares every message a promise, its callbacks and a microtask.
   * Throws where `publish` would reject.
   */
  publishNow?(draft: Draft): PublishResult;
  /**
   * Called when the first local connection joins `room`, before {@linkcode Engine.recover}, so
   * that live messages flow from then on.
   */
  join(room: string): Promise<void>;
  /** Called when the last local connection leaves `room`. */
  leave(room: string): void;
  /**
   * Returns the room's position and the history for a joining client: everything after
   * `resume.since` when the epoch matches and the gap is still kept, else the last `recent`.
   */
  recover(
    room: string,
    resume: { since: number; epoch: string } | null,
    recent: number,
  ): Promise<Recovery>;
  /**
   * `recover` answered at once, by an engine with nothing to wait for (the memory engine): with
   * {@linkcode Engine.membersNow}, the hub welcomes a joiner of a room it already holds in the
   * turn its socket opened, without a promise or a microtask. Throws where `recover` would
   * reject.
   */
  recoverNow?(
    room: string,
    resume: { since: number; epoch: string } | null,
    recent: number,
  ): Recovery;
  /** Connections online in `room` across every process, given this process's own count. */
  online(room: string, local: number): number;
  /** Tells the engine how many local connections each room has (for shared presence). */
  reportPresence?(counts: Map<string, number>): void;
  /**
   * A connection of this process became a member of `room` (its welcome went out). Cheap: no I/O
   * of its own (a shared engine writes the changes with its next presence tick).
   */
  memberJoined(room: string, member: Member): void;
  /** The member `id` of this process left `room` (closed, or its room was left). */
  memberLeft(room: string, id: string): void;
  /**
   * Up to `limit` members of `room` across every process sharing the engine (the memory engine:
   * this process's), this process's first in the order they joined, and how many are online
   * there, given this process's own count `local` (as for {@linkcode Engine.online}; also for a
   * room this process does not hold). A shared engine lists another process's members until that
   * process's presence expires (`PRESENCE_TTL_MS` after its last tick when it died). Rejects with
   * a `RangeError` for a bad `limit` (see {@linkcode memberLimit}), and when unavailable.
   */
  members(room: string, limit: number, local: number): Promise<RoomMembers>;
  /**
   * `members` answered at once, by an engine with nothing to wait for (the memory engine); see
   * {@linkcode Engine.recoverNow}. Throws where `members` would reject.
   */
  membersNow?(room: string, limit: number, local: number): RoomMembers;
  /** How many rooms this process knows (O(1)). */
  roomCount(): number;
  /** Bytes of history this process holds for its rooms (engines that keep it in memory). */
  readonly historyBytes?: number;
  /** Bytes of message bodies kept on disk, every room together (engines on disk: KV). */
  readonly diskBytes?: number;
  /** Rooms kept on disk (engines on disk: KV). */
  readonly diskRooms?: number;
  /**
   * The `ref`s this process remembers in memory against `DEDUP_MAX_REFS`, and how many it forgot
   * before their `DEDUP_TTL_MS` because of that bound (engines that keep refs in memory).
   */
  readonly refs?: { readonly held: number; readonly forgotten: number };
  /**
   * The `ref`s on disk, every process on the file together, against `KV_MAX_REFS`, and how many
   * this process deleted before their `DEDUP_TTL_MS` because of that bound (engines on disk: KV).
   */
  readonly diskRefs?: { readonly held: number; readonly forgotten: number };
  /**
   * Whether a connection may join `room` now: `known` (this process has it), `new` (it would be
   * created), or `full` (`MAX_ROOMS` rooms are held and none can make way).
   */
  admission(room: string): "known" | "new" | "full";
  /**
   * Names of the rooms this process knows, read live without a copy: the caller must not join,
   * leave or publish while it iterates.
   */
  roomNames(): Iterable<string>;
  /** Position of a room this process knows, or null. */
  position(room: string): RoomPosition | null;
  /** Periodic housekeeping (expiry of idle rooms and old refs). */
  maintain(now: number): void;
  /** True while the engine can accept messages. */
  readonly healthy: boolean;
  /** Stops the engine and releases its connections. */
  close(): Promise<void>;
  /**
   * Tells every other process sharing the engine to carry out `command` (this process carries it
   * out itself). The memory engine has no other process and resolves at once. Rejects when the
   * command could not be sent.
   */
  command(command: EngineCommand): Promise<void>;
}
