/**
 * The join flow of a connection: the engine's recovery and member list, the welcome with its
 * members and history (built within its byte cap by `encodeWelcome`), the messages delivered
 * while it was read, the engine told of the new member, and the refusal when the room cannot be
 * loaded.
 *
 * @module
 */

import { Close } from "../protocol/close_codes.ts";
import type { Connection } from "./connection.ts";
import { type Engine, epochOf, type Recovery } from "../engine/engine.ts";
import type { Handshake } from "../protocol/handshake.ts";
import { messageJson } from "../protocol/message_json.ts";
import type { Config } from "../shared/config.ts";
import type { LocalRoom } from "./local_room.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "./metrics.ts";
import type { Outbound } from "./outbound.ts";
import { peerOf, type PresenceSchedule } from "./presence_schedule.ts";
import {
  type Member,
  messageText,
  type ServerFrame,
  type ServerLimits,
  type SubscribedFrame,
  type WelcomeFrame,
} from "../protocol/frames.ts";
import type { Subscription } from "./connection.ts";
import type { MessageJsonCache } from "./message_json_cache.ts";
import type { Identity } from "../auth/identity.ts";
import type { RoomAccess } from "../shared/room_grants.ts";

/** What the join flow needs from the hub. */
export interface JoinFlowOptions {
  config: Pick<
    Config,
    | "historyOnJoin"
    | "maxMessageBytes"
    | "rateLimit"
    | "rateBurst"
    | "maxBufferedBytes"
    | "maxWelcomeMembers"
  >;
  engine: Engine;
  logger: Logger;
  metrics: Metrics;
  out: Outbound;
  presence: PresenceSchedule;
  /** The local room named `name`, created (and joined in the engine) when new. */
  room: (name: string) => LocalRoom;
  /** The JSON of the latest messages, shared with the live fan-out. */
  json: MessageJsonCache;
  /** Restarts a subscription whose room moved to a new epoch while it joined. */
  restart: (sub: Subscription, reason: string) => void;
}

/**
 * Turns a new connection into a member of its room.
 *
 * @example
 * ```ts
 * const join = new JoinFlow({ config, engine, logger, metrics, out, presence, room });
 * await join.open(conn, handshake.resume);
 * ```
 */
export class JoinFlow {
  #o: JoinFlowOptions;

  constructor(options: JoinFlowOptions) {
    this.#o = options;
  }

  /**
   * Joins the subscription's room and sends its welcome with history (the connection's `welcome`
   * for the handshake's room, `subscribed` for a later one), or the refusal. At once when the
   * engine can answer at once (`recoverNow`, `membersNow`) and has joined the room already;
   * otherwise once it has answered (the promise then settles after the welcome; it never
   * rejects).
   */
  open(sub: Subscription, resume: Handshake["resume"]): Promise<void> | void {
    const { engine, config } = this.#o;
    const room = this.#o.room(sub.room);
    if (!room.joining.has(sub)) room.joining.set(sub, []);
    // The joiner heads its own list: the engine is asked for the others.
    const others = sub.conn.json ? config.maxWelcomeMembers - 1 : 0;
    if (!room.isReady || !engine.recoverNow || !engine.membersNow) {
      return this.#openLater(sub, room, others, resume);
    }
    try {
      const recovery = engine.recoverNow(sub.room, resume, config.historyOnJoin);
      const listed = others > 0 ? engine.membersNow(sub.room, others, room.size).members : [];
      this.#welcome(sub, room, recovery, listed, resume !== null);
    } catch (err) {
      this.#refuse(sub, err);
    }
  }

  /** {@linkcode JoinFlow.open} waiting for the engine. */
  async #openLater(
    sub: Subscription,
    room: LocalRoom,
    others: number,
    resume: Handshake["resume"],
  ): Promise<void> {
    const { engine, config } = this.#o;
    const resets = room.resets;
    try {
      await room.ready;
      const [recovery, listed] = await Promise.all([
        engine.recover(sub.room, resume, config.historyOnJoin),
        others > 0 ? engine.members(sub.room, others, room.size) : null,
      ]);
      const open = sub.conn.state !== "closed" && sub.state !== "closed";
      if (open && room.resets !== resets && room.epoch !== recovery.epoch) {
        // The room's epoch changed while this recovery was read: it may describe the old one.
        return this.#o.restart(sub, "room history was reset");
      }
      this.#welcome(sub, room, recovery, listed?.members ?? [], resume !== null);
    } catch (err) {
      this.#refuse(sub, err);
    }
  }

  /** Sends `sub` its welcome from what the engine answered, unless it closed meanwhile. */
  #welcome(
    sub: Subscription,
    room: LocalRoom,
    recovery: Recovery,
    others: readonly Member[],
    resumed: boolean,
  ): void {
    const { config, out, engine } = this.#o;
    const conn = sub.conn;
    if (conn.state === "closed" || sub.state === "closed") return;
    const online = engine.online(sub.room, room.size);
    const { maxMessageBytes, rateLimit, rateBurst } = config;
    const limits = { maxMessageBytes, rateLimit, rateBurst };
    const member = memberOf(conn);
    const members = config.maxWelcomeMembers > 0
      ? welcomeMembers(
        listed(member),
        others,
        conn.id,
        config.maxWelcomeMembers,
        2 * config.maxBufferedBytes * MEMBERS_SHARE,
      )
      : NO_MEMBERS;
    // A welcome fits in what the connection may have queued before it counts as slow, with as
    // much room again for the live messages that follow it.
    const welcome = conn.json
      ? encodeWelcome(
        { ...joinerOf(sub), limits: sub.primary ? limits : null, ref: sub.ref },
        recovery,
        online,
        members,
        resumed,
        2 * config.maxBufferedBytes,
        this.#o.json,
      )
      : null;
    const held = room.joining.get(sub) ?? [];
    room.joining.delete(sub);
    room.members.add(sub);
    sub.state = "open";
    if (sub.primary) conn.state = "open";
    sub.epoch = recovery.epoch;
    sub.floor = recovery.offset;
    if (welcome) {
      // The connection's welcome goes before anything; a later room's after what is queued.
      if (sub.primary) out.putFirst(conn, welcome.json);
      else out.queue(conn, welcome.json);
    }
    for (const m of held) {
      if (m.offset > recovery.offset && epochOf(m) === sub.epoch) {
        out.queue(conn, conn.json ? messageJson(m) : messageText(m));
      }
    }
    out.queue(conn, null);
    this.#o.presence.announce(room, "joined", conn);
    engine.memberJoined(sub.room, member);
    this.#o.logger.debug("ws.join", {
      id: conn.id,
      room: sub.room,
      recovered: welcome?.recovered ?? recovery.recovered,
      dropped: welcome?.dropped,
    });
  }

  #refuse(sub: Subscription, err: unknown): void {
    const conn = sub.conn;
    this.#o.logger.warn("ws.join_failed", { id: conn.id, room: sub.room, error: String(err) });
    this.#o.metrics.reject("unavailable");
    const message = "the server cannot load this room now; retry shortly";
    if (!sub.primary) {
      // Only this subscription fails: the connection and its other rooms stay.
      conn.subs.delete(sub.room);
      const room = this.#o.room(sub.room);
      room.joining.delete(sub);
      sub.state = "closed";
      const frame: ServerFrame = { type: "error", code: "unavailable", message, room: sub.room };
      if (sub.ref !== undefined) frame.ref = sub.ref;
      return this.#o.out.send(conn, frame);
    }
    this.#o.out.send(conn, { type: "error", code: "unavailable", message });
    this.#o.out.end(conn, Close.unavailable, "room unavailable");
  }
}

/** Who is joining, as {@linkcode encodeWelcome} needs it, from a subscription. */
function joinerOf(sub: Subscription): Omit<Joiner, "limits" | "ref"> {
  const conn = sub.conn;
  return {
    id: conn.id,
    room: sub.room,
    client: conn.client,
    identity: conn.identity,
    access: sub.access,
    // A new connection can only have sent what is in its room's log while joining; a later
    // subscription may find there what the connection sent over an earlier subscription of the
    // same room (left, then subscribed again), which its client no longer has as acks.
    dropOwnConnection: sub.primary || sub.sentWhileJoining,
  };
}

/** A connection as member lists show it: its peer (see `peerOf`) with its public client id. */
function memberOf(conn: Connection): Member {
  return { ...peerOf(conn), client: conn.client };
}

/** Who is joining, as the welcome needs it. */
interface Joiner {
  id: string;
  room: string;
  /** Public client id (never the private key), null without one. */
  client: string | null;
  /** Auth mode: who the token says the joiner is; null in open mode. */
  identity: Identity | null;
  /** What the joiner may do in the room. */
  access: RoomAccess;
  /** Leave out of the history what this connection sent (it has those as acks). */
  dropOwnConnection: boolean;
  /** The server's limits: in the connection's `welcome`; null for a `subscribed` frame. */
  limits: ServerLimits | null;
  /** The `ref` of the `subscribe` this answers. */
  ref: string | undefined;
}

/** A welcome ready to send, and what was left out of its history to fit. */
interface EncodedWelcome {
  /** The welcome frame as JSON. */
  json: string;
  /** False when a recovered resume had to be cut (then answered like a lost gap). */
  recovered: boolean;
  /** Messages of the history left out to keep the frame within its byte cap. */
  dropped: number;
}

/** Share of a welcome's byte cap its members may take: the rest is left for the history. */
const MEMBERS_SHARE = 0.5;

/** A member as a welcome lists it: its JSON and that JSON's UTF-8 size. */
interface ListedMember {
  json: string;
  bytes: number;
}

/** A welcome's members: their JSON objects joined with commas, and its UTF-8 size. */
interface MembersPart {
  json: string;
  bytes: number;
}

const NO_MEMBERS: MembersPart = { json: "", bytes: 0 };

/** The others' part of welcomes, per list the engine gave (one for a large room's joiners). */
const othersParts = new WeakMap<readonly Member[], MembersPart>();

/**
 * The members a welcome lists: the joiner's own (`self`), then `others` (not the joiner again),
 * `max` in all, those that fit in `maxBytes` together. The others' JSON is joined once per list:
 * the joiners of a large room get the same list from the engine while its first members stay.
 */
function welcomeMembers(
  self: ListedMember,
  others: readonly Member[],
  joinerId: string,
  max: number,
  maxBytes: number,
): MembersPart {
  if (others.length < max && !others.some((m) => m.id === joinerId)) {
    let part = othersParts.get(others);
    if (part === undefined) {
      const entries = others.map(memberJson);
      part = {
        json: entries.map((m) => m.json).join(","),
        bytes: entries.reduce((sum, m) => sum + m.bytes + 1, 0),
      };
      othersParts.set(others, part);
    }
    if (others.length === 0) return { json: self.json, bytes: self.bytes + 1 };
    if (self.bytes + 1 + part.bytes <= maxBytes) {
      return { json: `${self.json},${part.json}`, bytes: self.bytes + 1 + part.bytes };
    }
  }
  const members = [self];
  for (const m of others) {
    if (members.length >= max) break;
    if (m.id !== joinerId) members.push(memberJson(m));
  }
  return fitMembers(members, maxBytes);
}

/** Members listed in welcomes, while their objects live (kept by the engine). */
const listedMembers = new WeakMap<Member, ListedMember>();

function listed(member: Member): ListedMember {
  const json = JSON.stringify(member);
  return { json, bytes: utf8Bytes(json) };
}

/** `member` as a welcome lists it, made once per member object. */
function memberJson(member: Member): ListedMember {
  let entry = listedMembers.get(member);
  if (entry === undefined) listedMembers.set(member, entry = listed(member));
  return entry;
}

/** UTF-8 bytes of `text`, counted without encoding it. */
function utf8Bytes(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) i++, n += 2;
    else n += 2;
  }
  return n;
}

/**
 * Builds the welcome as JSON within `maxBytes` (UTF-8). Its members (each given as JSON) are those
 * that fit in half of it (in their order; `online` tells how many there are). Its history never holds what this very
 * connection sent while joining (the sender has those as acks): for the connection's welcome,
 * nothing it sent at all; for a later subscription, whatever the connection sent, but only when
 * it sent into the room while joining it (a room left and subscribed again shows what the
 * connection sent there before, as a fresh join shows a client's own messages). A resumed join
 * (`since`+`epoch`) also leaves out the client's own earlier messages (same public `client` id),
 * which it already has; a fresh join keeps them, so a reloaded page shows what it sent. `client`
 * tells the joiner its public id. When the history does not fit, its newest messages that fit
 * are kept; a recovered resume cut that way becomes `recovered: false` (the client treats it as a
 * gap), because a welcome must never exceed what a connection may have queued.
 *
 * @example
 * ```ts
 * const members = { json: '{"id":"c1"}', bytes: 12 };
 * encodeWelcome(joiner, recovery, 3, members, false, 1 << 21, new MessageJsonCache(1 << 22));
 * // { json: '{"type":"welcome",...}', recovered: false, dropped: 0 }
 * ```
 */
function encodeWelcome(
  joiner: Joiner,
  recovery: Recovery,
  online: number,
  members: MembersPart,
  resumed: boolean,
  maxBytes: number,
  cache: MessageJsonCache,
): EncodedWelcome {
  const own = resumed ? joiner.client : null;
  const history = recovery.history.filter((m) =>
    !(joiner.dropOwnConnection && m.from === joiner.id) && (own === null || m.client !== own)
  );
  // The frame is stringified with no members and no history, and both are spliced in at their
  // keys: only the server's own fields and escaped strings are in it then, so the first
  // `"members":[` and the last `"history":[` are the keys.
  let frame: WelcomeFrame | SubscribedFrame;
  if (joiner.limits !== null) {
    frame = {
      type: "welcome",
      id: joiner.id,
      client: joiner.client,
      room: joiner.room,
      epoch: recovery.epoch,
      offset: recovery.offset,
      online,
      members: [],
      recovered: recovery.recovered,
      history: [],
      limits: joiner.limits,
    };
    if (joiner.identity !== null) {
      frame.user = joiner.identity.user;
      frame.access = joiner.access;
      frame.expires = joiner.identity.expires;
    }
  } else {
    // `room` and `ref` first, so that a client reads what the frame answers before its history.
    const subscribed: SubscribedFrame = joiner.ref === undefined
      ? { type: "subscribed", room: joiner.room } as SubscribedFrame
      : { type: "subscribed", room: joiner.room, ref: joiner.ref } as SubscribedFrame;
    Object.assign(subscribed, {
      epoch: recovery.epoch,
      offset: recovery.offset,
      online,
      members: [],
      recovered: recovery.recovered,
      history: [],
    });
    if (joiner.identity !== null) subscribed.access = joiner.access;
    frame = subscribed;
  }
  let json = JSON.stringify(frame);
  const parts: string[] = [];
  let bytes = utf8Bytes(json) + members.bytes;
  for (let i = history.length - 1; i >= 0; i--) {
    const part = cache.of(history[i]);
    const size = utf8Bytes(part) + 1;
    if (bytes + size > maxBytes) break;
    parts.push(part);
    bytes += size;
  }
  const dropped = history.length - parts.length;
  if (frame.recovered && dropped > 0) {
    frame.recovered = false;
    json = JSON.stringify(frame);
  }
  const membersAt = json.indexOf('"members":[') + '"members":['.length;
  const historyAt = json.lastIndexOf('"history":[') + '"history":['.length;
  // One join: the welcome is built once, not copied again by a concatenation.
  const pieces = [json.slice(0, membersAt), members.json, json.slice(membersAt, historyAt)];
  for (let i = parts.length - 1; i >= 0; i--) {
    pieces.push(parts[i]);
    if (i > 0) pieces.push(",");
  }
  pieces.push(json.slice(historyAt));
  return { json: pieces.join(""), recovered: frame.recovered, dropped };
}

/** The first of `members` that fit in `maxBytes` together, joined. */
function fitMembers(members: ListedMember[], maxBytes: number): MembersPart {
  const fitted: string[] = [];
  let bytes = 0;
  for (const member of members) {
    if (bytes + member.bytes + 1 > maxBytes) break;
    fitted.push(member.json);
    bytes += member.bytes + 1;
  }
  return { json: fitted.join(","), bytes };
}
