/**
 * The default engine: every room lives in this process and its history is lost on restart
 * (a restart therefore starts new epochs). History is bounded per room (a count and bytes) and
 * across rooms (one byte budget): over the budget, the least recently used idle rooms go first,
 * then the oldest messages of the largest rooms. Rooms are capped in number; past the cap a new
 * room takes the place of the least recently used idle one.
 *
 * @module
 */

import { DedupCache, refKey, RefLedger } from "../dedup_cache.ts";
import type {
  Draft,
  Engine,
  EngineCommand,
  EngineEvents,
  PublishResult,
  Recovery,
  RoomMembers,
  RoomPosition,
} from "../engine.ts";
import { dedupeContent, messageOf } from "../engine.ts";
import type { Member } from "../../protocol/frames.ts";
import { LocalMembers } from "../local_members.ts";
import { RoomLog } from "./room_log.ts";
import { randomToken } from "../../shared/ids.ts";
import { textHash } from "../../shared/text_hash.ts";
import { RecencyQueue } from "../../shared/recency_queue.ts";

/** Options of {@linkcode MemoryEngine}. */
export interface MemoryEngineOptions {
  historySize: number;
  dedupTtlMs: number;
  /** Refs every room together may remember (default: no bound); past it the oldest go first. */
  maxRefs?: number;
  /** How long a room without local connections keeps its history. */
  roomTtlMs: number;
  /** Bytes the history of every room may hold together (default: no bound). */
  historyBytes?: number;
  /** Bytes the history of one room may hold (default: no bound). */
  roomHistoryBytes?: number;
  /** Rooms kept at most (default: no bound); past it, idle rooms make room for new ones. */
  maxRooms?: number;
  /** Clock in epoch ms (default `Date.now`). */
  now?: () => number;
  /** Makes a new epoch (default: 10 random characters). */
  newEpoch?: () => string;
}

interface MemoryRoom {
  name: string;
  log: RoomLog;
  /** Created on the first message with a ref. */
  refs: DedupCache | null;
  members: number;
  idleSince: number;
  /** How many places `#idleOrder` holds for it (only the latest counts). */
  queued: number;
}

/** Share of the history budget freed at once when it is exceeded (so trims are rare). */
const RECLAIM_TO = 0.9;

/**
 * Keeps rooms in memory.
 *
 * @example
 * ```ts
 * const engine = new MemoryEngine({ historySize: 100, dedupTtlMs: 60_000, roomTtlMs: 60_000 });
 * await engine.start({ message: (m) => console.log(m.offset) });
 * await engine.publish({ room: "lobby", from: "c1", client: null, name: null, text: "hi", ref: null });
 * ```
 */
export class MemoryEngine implements Engine {
  readonly name = "memory";
  readonly healthy = true;
  #rooms = new Map<string, MemoryRoom>();
  /** Rooms without members, the longest idle first. */
  #idle = new Map<string, MemoryRoom>();
  /**
   * The order rooms went idle in, oldest first, for taking the oldest in O(1) (a `Map` iterated
   * from its start walks over the places its deleted entries left: at `MAX_ROOMS` every new room
   * cost 8-40 µs more and more). A room idle again has a later place; older ones are skipped.
   */
  #idleOrder = new RecencyQueue<MemoryRoom>();
  /** History bytes of every room together. */
  #bytes = 0;
  #options: Required<MemoryEngineOptions>;
  /** Members of each room with any, in the order they joined. */
  #members = new LocalMembers();
  #events: EngineEvents = { message: () => {} };
  /** The refs of every room: their order and their bound. */
  #refs: RefLedger;

  constructor(options: MemoryEngineOptions) {
    this.#options = {
      now: Date.now,
      newEpoch: () => randomToken(10),
      historyBytes: Infinity,
      roomHistoryBytes: Infinity,
      maxRooms: Infinity,
      maxRefs: Infinity,
      ...options,
    };
    this.#refs = new RefLedger(this.#options.dedupTtlMs, this.#options.maxRefs);
  }

  /** Bytes the history of every room holds together. */
  get historyBytes(): number {
    return this.#bytes;
  }

  /** Refs remembered, every room together, and those forgotten early for `maxRefs`. */
  get refs(): { held: number; forgotten: number } {
    return { held: this.#refs.size, forgotten: this.#refs.forgotten };
  }

  start(events: EngineEvents): Promise<void> {
    this.#events = events;
    return Promise.resolve();
  }

  #room(name: string): MemoryRoom {
    let room = this.#rooms.get(name);
    if (!room) {
      const { historySize, now, newEpoch, maxRooms } = this.#options;
      if (this.#rooms.size >= maxRooms) {
        const oldest = this.#oldestIdle();
        if (oldest) this.#evict(oldest);
      }
      room = {
        name,
        log: new RoomLog(newEpoch(), historySize),
        refs: null,
        members: 0,
        idleSince: now(),
        queued: 0,
      };
      this.#rooms.set(name, room);
      this.#markIdle(room);
    }
    return room;
  }

  /** `room` has no members from now on: the newest idle room. */
  #markIdle(room: MemoryRoom): void {
    this.#idle.set(room.name, room);
    this.#idleOrder.touch(room);
    // Busy rooms' counts start again too when the order is made again: their places are gone.
    this.#idleOrder.compact(
      this.#rooms.size,
      () => this.#idle.values(),
      () => this.#rooms.values(),
    );
  }

  /** The room idle the longest, if any. */
  #oldestIdle(): MemoryRoom | undefined {
    return this.#idleOrder.oldest((room) => this.#idle.get(room.name) === room);
  }

  /** Forgets a room and its history (its next joiner gets a new epoch). */
  #evict(room: MemoryRoom): void {
    this.#rooms.delete(room.name);
    this.#idle.delete(room.name);
    this.#bytes -= room.log.bytes;
  }

  /**
   * Brings the history back under its budget: idle rooms with history first, least recently
   * used first; then the oldest messages of the largest rooms, all trimmed down to one common
   * size.
   */
  #reclaim(): void {
    const target = Math.floor(this.#options.historyBytes * RECLAIM_TO);
    for (const room of this.#idle.values()) {
      if (this.#bytes <= target) return;
      if (room.log.size > 0) this.#evict(room);
    }
    if (this.#bytes <= target) return;
    const rooms = [...this.#rooms.values()].filter((r) => r.log.bytes > 0)
      .sort((a, b) => b.log.bytes - a.log.bytes);
    const needed = this.#bytes - target;
    // The common size: the largest rooms are cut to it, freeing at least `needed`.
    let above = 0;
    let size = 0;
    for (let k = 0; k < rooms.length; k++) {
      above += rooms[k].log.bytes;
      const next = k + 1 < rooms.length ? rooms[k + 1].log.bytes : 0;
      if (above - (k + 1) * next >= needed) {
        size = Math.max(0, Math.floor((above - needed) / (k + 1)));
        break;
      }
    }
    for (const room of rooms) {
      if (room.log.bytes <= size) break;
      this.#bytes -= room.log.trimTo(size);
    }
  }

  publish(draft: Draft): Promise<PublishResult> {
    return Promise.resolve(this.publishNow(draft));
  }

  publishNow(draft: Draft): PublishResult {
    const room = this.#room(draft.room);
    const now = this.#options.now();
    const key = draft.ref === null ? null : refKey(draft.client, draft.from, draft.ref);
    const hash = key === null ? 0 : textHash(dedupeContent(draft));
    if (key !== null) {
      const seen = room.refs?.get(key, now);
      if (seen && seen.hash !== hash) return { status: "conflict" };
      if (seen) return { status: "duplicate", offset: seen.offset, ts: seen.ts };
    }
    const before = room.log.bytes;
    const message = room.log.append((offset) =>
      messageOf(draft.room, room.log.epoch, offset, now, draft)
    );
    if (room.log.bytes > this.#options.roomHistoryBytes) {
      room.log.trimTo(this.#options.roomHistoryBytes);
    }
    this.#bytes += room.log.bytes - before;
    if (this.#bytes > this.#options.historyBytes) this.#reclaim();
    if (key !== null) {
      room.refs ??= new DedupCache(this.#options.dedupTtlMs, this.#refs);
      room.refs.set(key, { offset: message.offset, ts: now, hash }, now);
    }
    this.#events.message(message);
    return { status: "accepted", message };
  }

  join(name: string): Promise<void> {
    const room = this.#room(name);
    if (room.members++ === 0) this.#idle.delete(name);
    return Promise.resolve();
  }

  leave(name: string): void {
    const room = this.#rooms.get(name);
    if (!room || --room.members !== 0) return;
    room.idleSince = this.#options.now();
    this.#markIdle(room);
    this.#members.forget(name);
  }

  memberJoined(room: string, member: Member): void {
    this.#members.joined(room, member);
  }

  memberLeft(room: string, id: string): void {
    this.#members.left(room, id);
  }

  members(room: string, limit: number, local: number): Promise<RoomMembers> {
    return this.#members.list(room, limit, local);
  }

  membersNow(room: string, limit: number, local: number): RoomMembers {
    return this.#members.listNow(room, limit, local);
  }

  admission(name: string): "known" | "new" | "full" {
    if (this.#rooms.has(name)) return "known";
    return this.#rooms.size < this.#options.maxRooms || this.#idle.size > 0 ? "new" : "full";
  }

  recover(
    name: string,
    resume: { since: number; epoch: string } | null,
    recent: number,
  ): Promise<Recovery> {
    return Promise.resolve(this.recoverNow(name, resume, recent));
  }

  recoverNow(
    name: string,
    resume: { since: number; epoch: string } | null,
    recent: number,
  ): Recovery {
    const { log } = this.#room(name);
    const replay = resume && resume.epoch === log.epoch ? log.after(resume.since) : null;
    return {
      epoch: log.epoch,
      offset: log.offset,
      recovered: replay !== null,
      history: replay ?? log.recent(recent),
    };
  }

  online(_room: string, local: number): number {
    return local;
  }

  roomCount(): number {
    return this.#rooms.size;
  }

  roomNames(): Iterable<string> {
    return this.#rooms.keys();
  }

  position(name: string): RoomPosition | null {
    const room = this.#rooms.get(name);
    return room ? { epoch: room.log.epoch, offset: room.log.offset } : null;
  }

  maintain(now: number): void {
    for (let room = this.#oldestIdle(); room; room = this.#oldestIdle()) {
      if (now - room.idleSince <= this.#options.roomTtlMs) break;
      this.#evict(room);
    }
    this.#refs.sweep(now);
  }

  command(_command: EngineCommand): Promise<void> {
    // One process: no other to tell.
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#rooms.clear();
    this.#idle.clear();
    this.#idleOrder.clear();
    this.#members.clear();
    this.#bytes = 0;
    return Promise.resolve();
  }
}
