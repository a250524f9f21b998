/**
 * The Redis engine's calls to its Lua scripts: arguments in, decoded results out. No state
 * besides the settings; the engine decides when to call what.
 *
 * @module
 */

import { refKey } from "../dedup_cache.ts";
import { dedupeContent, type Draft, messageOf, type PublishResult } from "../engine.ts";
import type { ChatMessage, Member } from "../../protocol/frames.ts";
import { roomKeys } from "./keys.ts";
import { decodeEntries, encodeBody } from "./messages.ts";
import { decodeMembers } from "./presence_table.ts";
import {
  type LuaScript,
  luaScript,
  MEMBERS_LUA,
  PRESENCE_LUA,
  PUBLISH_LUA,
  READ_LUA,
  runScript,
  type SendCommand,
} from "./scripts.ts";
import { textHash } from "../../shared/text_hash.ts";

/** Settings of {@linkcode RedisStore}. */
export interface RedisStoreOptions {
  send: SendCommand;
  keyPrefix: string;
  historySize: number;
  dedupTtlMs: number;
  roomTtlMs: number;
  presenceTtlMs: number;
  newEpoch: () => string;
}

/**
 * What an instance knows of a room: an epoch, an offset in it, and the `ts` of the message at that
 * offset (null when unknown). The scripts compare it with Redis to notice a rolled-back history.
 */
export interface KnownPosition {
  epoch: string;
  offset: number;
  ts: number | null;
}

/** A room's position and part of its stream, as read by {@linkcode RedisStore.read}. */
export interface StreamRead {
  epoch: string;
  offset: number;
  /** `ts` of the message at `offset` (null when the stream does not hold it). */
  lastTs: number | null;
  /** True when the messages are those after `since` (the resume epoch matched). */
  after: boolean;
  messages: ChatMessage[];
}

type ScriptName = "publish" | "read" | "presence" | "members";

/**
 * Runs the publish, read, presence and members scripts.
 *
 * @example
 * ```ts
 * const store = await RedisStore.create({ send: (a) => client.sendCommand(a), keyPrefix: "fanout",
 *   historySize: 1000, dedupTtlMs: 300_000, roomTtlMs: 600_000, presenceTtlMs: 6000,
 *   newEpoch: () => randomToken(10) });
 * await store.publish(draft, Date.now());
 * ```
 */
export class RedisStore {
  #o: RedisStoreOptions;
  #scripts: Record<ScriptName, LuaScript>;

  private constructor(options: RedisStoreOptions, scripts: Record<ScriptName, LuaScript>) {
    this.#o = options;
    this.#scripts = scripts;
  }

  /** Hashes the scripts and returns a store. */
  static async create(options: RedisStoreOptions): Promise<RedisStore> {
    return new RedisStore(options, {
      publish: await luaScript(PUBLISH_LUA),
      read: await luaScript(READ_LUA),
      presence: await luaScript(PRESENCE_LUA),
      members: await luaScript(MEMBERS_LUA),
    });
  }

  /** Entries the stream keeps at least (a little more than `HISTORY_SIZE` for catch-up). */
  get streamCap(): number {
    return Math.max(this.#o.historySize, 100);
  }

  /** TTL of a room's keys, refreshed on publish and while it has members. */
  get keyTtl(): number {
    return Math.max(this.#o.roomTtlMs, this.#o.presenceTtlMs * 2, 1000);
  }

  #run(script: ScriptName, keys: string[], argv: string[]): Promise<unknown> {
    return runScript(this.#o.send, this.#scripts[script], keys, argv);
  }

  /**
   * Publishes `draft` stamped `ts`, or returns the ack of an earlier message of the same sender
   * with its ref and text (a conflict when that one had another text).
   * `known` is what this instance knows of the room (see {@linkcode KnownPosition}).
   */
  async publish(
    draft: Draft,
    ts: number,
    known: KnownPosition | null = null,
  ): Promise<PublishResult> {
    const k = roomKeys(this.#o.keyPrefix, draft.room);
    const keys = [k.epoch, k.offset, k.stream];
    if (draft.ref !== null && this.#o.dedupTtlMs > 0) {
      keys.push(k.ref(refKey(draft.client, draft.from, draft.ref)));
    }
    const body = encodeBody(draft);
    const hash = textHash(dedupeContent(draft));
    const reply = await this.#run("publish", keys, [
      k.channel,
      this.#o.newEpoch(),
      String(this.streamCap),
      String(this.keyTtl),
      String(this.#o.dedupTtlMs),
      String(ts),
      body,
      ...knownArgs(known),
      String(hash),
    ]) as unknown[];
    if (Number(reply[0]) === 0) {
      // "offset:ts:hash"; a value written before hashes were stored has no hash and matches.
      const [offset, seenTs, seenHash] = String(reply[1]).split(":");
      if (seenHash !== undefined && Number(seenHash) !== hash) return { status: "conflict" };
      return { status: "duplicate", offset: Number(offset), ts: Number(seenTs) };
    }
    const message = messageOf(draft.room, String(reply[1]), Number(reply[2]), ts, draft);
    return { status: "accepted", message };
  }

  /**
   * Reads a room's position (creating the room, or a new epoch, if needed) with the messages after
   * `since` when `resumeEpoch` matches and at most `maxAfter` follow, else the `recent` newest.
   * `known` is what this instance knows of the room (see {@linkcode KnownPosition}). With
   * `maxBytes` above 0, the message bodies returned fit in it: messages after `since` that do not
   * are answered as if the gap were lost (`after: false`, the newest that fit).
   */
  async read(
    room: string,
    resumeEpoch: string | null,
    since: number,
    maxAfter: number,
    recent: number,
    known: KnownPosition | null = null,
    maxBytes = 0,
  ): Promise<StreamRead> {
    const k = roomKeys(this.#o.keyPrefix, room);
    const reply = await this.#run("read", [k.epoch, k.offset, k.stream], [
      this.#o.newEpoch(),
      String(this.keyTtl),
      resumeEpoch ?? "",
      String(since),
      String(maxAfter),
      String(recent),
      ...knownArgs(known),
      String(maxBytes),
    ]) as unknown[];
    const epoch = String(reply[0]);
    const messages = decodeEntries(room, epoch, reply[3]);
    const lastTs = reply[4] === null || reply[4] === undefined ? null : Number(reply[4]);
    return { epoch, offset: Number(reply[1]), lastTs, after: Number(reply[2]) === 1, messages };
  }

  /** Runs one presence tick for `keys`/`args` from `PresenceTable.batch`; returns the raw reply. */
  presence(instanceId: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#run("presence", keys, [
      instanceId,
      String(this.#o.presenceTtlMs),
      String(this.keyTtl),
      ...args,
    ]);
  }

  /**
   * Up to `limit` members of `room` on the instances other than `instanceId` whose presence has
   * not expired, and how many connections those instances count in the room.
   */
  async members(
    room: string,
    instanceId: string,
    limit: number,
  ): Promise<{ remote: number; members: Member[] }> {
    const k = roomKeys(this.#o.keyPrefix, room);
    const reply = await this.#run("members", [k.presence, k.members(instanceId)], [
      instanceId,
      String(limit),
    ]) as unknown[];
    return { remote: Number(reply[0]), members: decodeMembers(reply[1]) };
  }
}

/** The script arguments for a known position: epoch, offset, ts ('' for unknown parts). */
function knownArgs(known: KnownPosition | null): string[] {
  if (known === null) return ["", "0", ""];
  return [known.epoch, String(known.offset), known.ts === null ? "" : String(known.ts)];
}
