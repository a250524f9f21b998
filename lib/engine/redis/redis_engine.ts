/**
 * The Redis engine: any number of Fanout processes sharing one Redis behave as one server.
 * A publish is one Lua script (dedup, offset, capped stream, channel); each process subscribes to
 * the channels of its rooms and delivers their messages once and in order, catching up from the
 * stream after a gap. See `docs/SCALING.md`.
 *
 * @module
 */

import {
  type Draft,
  type Engine,
  type EngineCommand,
  type EngineEvents,
  epochOf,
  memberLimit,
  type PublishResult,
  type Recovery,
  type RoomMembers,
  type RoomPosition,
} from "../engine.ts";
import { randomToken } from "../../shared/ids.ts";
import type { Logger } from "../../shared/log.ts";
import { RoomFeed } from "../room_feed.ts";
import { roomKeys } from "./keys.ts";
import { RedisLink } from "./redis_link.ts";
import { loadRedis } from "./redis_client.ts";
import { decodePayload } from "./messages.ts";
import { PresenceTable } from "./presence_table.ts";
import { type JoinedRoom, RedisTick } from "./redis_tick.ts";
import { type KnownPosition, RedisStore } from "./redis_store.ts";
import type { Member } from "../../protocol/frames.ts";

/** Options of {@linkcode RedisEngine}. */
export interface RedisEngineOptions {
  url: string;
  logger: Logger;
  historySize: number;
  dedupTtlMs: number;
  roomTtlMs: number;
  /** Prefix of every key and channel (`REDIS_KEY_PREFIX`). */
  keyPrefix: string;
  /** How long an instance's presence counts live without a refresh, in ms (`PRESENCE_TTL_MS`). */
  presenceTtlMs: number;
  /** Longest wait for one Redis command, in ms (`REDIS_TIMEOUT_MS`). */
  commandTimeoutMs: number;
  /** How often both Redis connections are pinged, in ms (`REDIS_PING_INTERVAL_MS`). */
  pingIntervalMs: number;
  /** Clock in epoch ms (default `Date.now`). */
  now?: () => number;
  newEpoch?: () => string;
  /** Names this process in presence (default: random). */
  instanceId?: string;
  /** Rooms this process subscribes to at once (default: no bound). */
  maxRooms?: number;
  /**
   * Most bytes of message bodies a join reads for its welcome (default: no bound); a resume gap
   * larger than that is answered like a lost one.
   */
  historyReadBytes?: number;
}

/**
 * The engine used when `REDIS_URL` is set.
 *
 * @example
 * ```ts
 * const engine = new RedisEngine({ url: "redis://127.0.0.1:6379", logger, historySize: 1000,
 *   dedupTtlMs: 300_000, roomTtlMs: 600_000, keyPrefix: "fanout", presenceTtlMs: 6000,
 *   commandTimeoutMs: 2000, pingIntervalMs: 2000 });
 * await engine.start(hub.events);
 * ```
 */
export class RedisEngine implements Engine {
  readonly name = "redis";
  readonly instanceId: string;
  #o: Required<RedisEngineOptions>;
  /** Made by `start`, once npm:redis is loaded. */
  #link: RedisLink | null = null;
  #events: EngineEvents = { message: () => {} };
  #rooms = new Map<string, JoinedRoom>();
  /** What this instance knows of each room (the newest position seen, with its message's ts). */
  #positions = new Map<string, KnownPosition>();
  #presence: PresenceTable;
  #store?: RedisStore;
  #tick: RedisTick;
  #closed = false;

  constructor(options: RedisEngineOptions) {
    this.#o = {
      now: Date.now,
      newEpoch: () => randomToken(10),
      instanceId: randomToken(12),
      maxRooms: Infinity,
      historyReadBytes: 0,
      ...options,
    };
    this.instanceId = this.#o.instanceId;
    this.#presence = new PresenceTable(this.#o.keyPrefix, this.instanceId);
    this.#tick = new RedisTick({
      presence: this.#presence,
      rooms: this.#rooms,
      exchange: (keys, args) => this.#started.presence(this.instanceId, keys, args),
      onRemoteChange: (room) => this.#events.presence?.(room),
      logger: this.#o.logger,
      everyMs: Math.max(100, Math.floor(this.#o.presenceTtlMs / 3)),
    });
  }

  get healthy(): boolean {
    return !this.#closed && this.#link !== null && this.#link.healthy;
  }

  async start(events: EngineEvents): Promise<void> {
    this.#events = events;
    await loadRedis();
    if (this.#closed) throw new Error("the Redis engine was closed before it started");
    const link = this.#link = new RedisLink({
      url: this.#o.url,
      logger: this.#o.logger,
      commandTimeoutMs: this.#o.commandTimeoutMs,
      pingIntervalMs: this.#o.pingIntervalMs,
      now: this.#o.now,
      onSubscriberReady: () => {
        for (const room of this.#rooms.values()) room.feed.catchUp();
      },
    });
    this.#store = await RedisStore.create({
      ...this.#o,
      send: (args) => link.send(args),
    });
    await link.connect(this.#o.commandTimeoutMs);
    await link.subscribe(this.#commands, this.#onCommand);
    this.#tick.schedule();
  }

  /** The channel of commands for every instance (`<prefix>:commands`). */
  get #commands(): string {
    return `${this.#o.keyPrefix}:commands`;
  }

  /** A command from the channel: carried out unless this instance sent it (it did so itself). */
  #onCommand = (payload: string): void => {
    let parsed: { origin?: unknown; command?: EngineCommand };
    try {
      parsed = JSON.parse(payload);
    } catch {
      return;
    }
    if (parsed.origin === this.instanceId || parsed.command?.kind !== "disconnect") return;
    this.#events.command?.(parsed.command);
  };

  async command(command: EngineCommand): Promise<void> {
    const payload = JSON.stringify({ origin: this.instanceId, command });
    await this.#liveLink.send(["PUBLISH", this.#commands, payload]);
  }

  get #started(): RedisStore {
    if (!this.#store) throw new Error("the Redis engine is not started");
    return this.#store;
  }

  get #liveLink(): RedisLink {
    if (!this.#link) throw new Error("the Redis engine is not started");
    return this.#link;
  }

  async publish(draft: Draft): Promise<PublishResult> {
    const known = this.#positions.get(draft.room) ?? null;
    const result = await this.#started.publish(draft, this.#o.now(), known);
    if (result.status === "accepted") {
      const { message } = result;
      this.#note(draft.room, epochOf(message), message.offset, message.ts);
    }
    return result;
  }

  async #read(
    room: string,
    epoch: string | null,
    since: number,
    maxAfter: number,
    recent: number,
    maxBytes = 0,
  ) {
    const known = this.#positions.get(room) ?? null;
    const got = await this.#started.read(room, epoch, since, maxAfter, recent, known, maxBytes);
    this.#note(room, got.epoch, got.offset, got.lastTs);
    return got;
  }

  /** Remembers a position of `room` unless a newer one of the same epoch is known. */
  #note(room: string, epoch: string, offset: number, ts: number | null): void {
    const known = this.#positions.get(room);
    if (known && known.epoch === epoch && known.offset >= offset) return;
    this.#positions.set(room, { epoch, offset, ts });
  }

  async join(room: string): Promise<void> {
    if (this.#rooms.has(room)) return;
    const feed = new RoomFeed({
      deliver: (message) => {
        this.#note(room, feed.position.epoch!, message.offset, message.ts);
        this.#events.message(message);
      },
      read: (epoch, since) => {
        const cap = this.#started.streamCap;
        return this.#read(room, epoch, since, cap, cap);
      },
      onGap: (from, to) => this.#o.logger.warn("redis.catchup_gap", { room, from, to }),
      onError: (err) => this.#o.logger.debug("redis.catchup_failed", { room, error: String(err) }),
      onReset: (epoch) => {
        this.#o.logger.warn("redis.room_reset", { room, epoch });
        this.#events.reset?.(room, epoch);
      },
    });
    const listener = (payload: string) => feed.push(decodePayload(room, payload));
    const joined: JoinedRoom = { feed, listener, suspect: null };
    this.#rooms.set(room, joined);
    try {
      await this.#liveLink.subscribe(roomKeys(this.#o.keyPrefix, room).channel, listener);
      const { epoch, offset } = await this.#read(room, null, 0, 0, 0);
      if (this.#rooms.get(room) === joined) feed.start(epoch, offset);
    } catch (err) {
      if (this.#rooms.get(room) === joined) this.leave(room);
      throw err;
    }
  }

  leave(room: string): void {
    const joined = this.#rooms.get(room);
    if (!joined) return;
    this.#rooms.delete(room);
    joined.feed.close();
    this.#presence.setLocal(room, 0);
    // Other instances stop counting and listing this one's members in the room soon.
    if (this.#presence.changed) this.#tick.schedule(50);
    const channel = roomKeys(this.#o.keyPrefix, room).channel;
    this.#link?.unsubscribe(channel, joined.listener).catch(() => {});
  }

  async recover(
    room: string,
    resume: { since: number; epoch: string } | null,
    recent: number,
  ): Promise<Recovery> {
    const cap = this.#o.historySize;
    const since = resume?.since ?? 0;
    const count = Math.min(recent, cap);
    const got = await this.#read(
      room,
      resume?.epoch ?? null,
      since,
      cap,
      count,
      this.#o.historyReadBytes,
    );
    const { epoch, offset, messages } = got;
    // Recovered only when the stream still holds every offset after `since`.
    const recovered = resume !== null && got.after && messages.length === offset - since &&
      (messages.length === 0 || messages[0].offset === since + 1);
    const history = recovered || !got.after ? messages : messages.slice(messages.length - count);
    return { epoch, offset, recovered, history };
  }

  admission(room: string): "known" | "new" | "full" {
    if (this.#rooms.has(room)) return "known";
    return this.#rooms.size < this.#o.maxRooms ? "new" : "full";
  }

  online(room: string, local: number): number {
    if (this.#rooms.has(room)) {
      this.#presence.setLocal(room, local);
      if (this.#presence.changed) this.#tick.schedule(50);
    }
    return this.#presence.online(room, local);
  }

  reportPresence(counts: Map<string, number>): void {
    const joined = new Map([...counts].filter(([room]) => this.#rooms.has(room)));
    this.#presence.replaceLocal(joined);
  }

  memberJoined(room: string, member: Member): void {
    if (!this.#rooms.has(room)) return;
    this.#presence.addMember(room, member);
    this.#tick.schedule(50);
  }

  memberLeft(room: string, id: string): void {
    if (this.#presence.removeMember(room, id)) this.#tick.schedule(50);
  }

  /**
   * This instance's members (in the order they joined), then the other instances' from Redis
   * (theirs as of their latest tick, in no particular order), with the other instances' count
   * read along. That count also refreshes `online` for a joined room, so that a welcome's count
   * and list agree. Only a joined room whose `limit` this instance's members fill is answered
   * without Redis (with the count of the latest tick).
   */
  async members(room: string, limit: number, local: number): Promise<RoomMembers> {
    memberLimit(limit);
    const joined = this.#rooms.has(room);
    const mine = this.#presence.localMembers(room, limit);
    if (joined && mine.length >= limit) {
      return { online: this.#presence.online(room, local), members: mine };
    }
    const { remote, members } = await this.#started.members(
      room,
      this.instanceId,
      limit - mine.length,
    );
    if (joined && this.#presence.setRemote(room, remote)) this.#events.presence?.(room);
    // Read again: the hub builds a welcome from this right away, with who is here now.
    const listed = this.#presence.localMembers(room, limit).concat(members).slice(0, limit);
    return { online: local + remote, members: listed };
  }

  roomCount(): number {
    return this.#positions.size;
  }

  roomNames(): Iterable<string> {
    return this.#positions.keys();
  }

  position(room: string): RoomPosition | null {
    const known = this.#positions.get(room);
    return known ? { epoch: known.epoch, offset: known.offset } : null;
  }

  maintain(_now: number): void {
    for (const room of this.#positions.keys()) {
      if (!this.#rooms.has(room)) this.#positions.delete(room);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    for (const room of [...this.#rooms.keys()]) this.leave(room);
    if (this.#link?.healthy) await this.#tick.run().catch(() => {});
    this.#closed = true;
    this.#tick.stop();
    await this.#link?.close();
  }
}
