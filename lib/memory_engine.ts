/**
 * The default engine: every room lives in this process and its history is lost on restart
 * (a restart therefore starts new epochs).
 *
 * @module
 */

import { DedupCache, refKey } from "./dedup_cache.ts";
import type {
  Draft,
  Engine,
  MessageSink,
  PublishResult,
  Recovery,
  RoomPosition,
} from "./engine.ts";
import { RoomLog } from "./room_log.ts";
import { randomToken } from "./ids.ts";
import { textHash } from "./text_hash.ts";

/** Options of {@linkcode MemoryEngine}. */
export interface MemoryEngineOptions {
  historySize: number;
  dedupTtlMs: number;
  /** How long a room without local connections keeps its history. */
  roomTtlMs: number;
  /** Clock in epoch ms (default `Date.now`). */
  now?: () => number;
  /** Makes a new epoch (default: 10 random characters). */
  newEpoch?: () => string;
}

interface MemoryRoom {
  log: RoomLog;
  refs: DedupCache;
  members: number;
  idleSince: number;
}

/**
 * Keeps rooms in memory.
 *
 * @example
 * ```ts
 * const engine = new MemoryEngine({ historySize: 100, dedupTtlMs: 60_000, roomTtlMs: 60_000 });
 * await engine.start((message) => console.log(message.offset));
 * await engine.publish({ room: "lobby", from: "c1", client: null, name: null, text: "hi", ref: null });
 * ```
 */
export class MemoryEngine implements Engine {
  readonly name = "memory";
  readonly healthy = true;
  #rooms = new Map<string, MemoryRoom>();
  #options: Required<MemoryEngineOptions>;
  #sink: MessageSink = () => {};

  constructor(options: MemoryEngineOptions) {
    this.#options = { now: Date.now, newEpoch: () => randomToken(10), ...options };
  }

  start(sink: MessageSink): Promise<void> {
    this.#sink = sink;
    return Promise.resolve();
  }

  #room(name: string): MemoryRoom {
    let room = this.#rooms.get(name);
    if (!room) {
      const { historySize, dedupTtlMs, now, newEpoch } = this.#options;
      room = {
        log: new RoomLog(newEpoch(), historySize),
        refs: new DedupCache(dedupTtlMs),
        members: 0,
        idleSince: now(),
      };
      this.#rooms.set(name, room);
    }
    return room;
  }

  publish(draft: Draft): Promise<PublishResult> {
    const room = this.#room(draft.room);
    const now = this.#options.now();
    const key = draft.ref === null ? null : refKey(draft.client, draft.from, draft.ref);
    const hash = key === null ? 0 : textHash(draft.text);
    if (key !== null) {
      const seen = room.refs.get(key, now);
      if (seen && seen.hash !== hash) return Promise.resolve({ status: "conflict" });
      if (seen) return Promise.resolve({ status: "duplicate", offset: seen.offset, ts: seen.ts });
    }
    const message = room.log.append((offset) => ({
      type: "message",
      room: draft.room,
      offset,
      id: `${room.log.epoch}-${offset}`,
      from: draft.from,
      client: draft.client,
      name: draft.name,
      text: draft.text,
      ts: now,
    }));
    if (key !== null) room.refs.set(key, { offset: message.offset, ts: now, hash }, now);
    this.#sink(message);
    return Promise.resolve({ status: "accepted", message });
  }

  join(room: string): Promise<void> {
    this.#room(room).members++;
    return Promise.resolve();
  }

  leave(name: string): void {
    const room = this.#rooms.get(name);
    if (room && --room.members === 0) room.idleSince = this.#options.now();
  }

  recover(
    name: string,
    resume: { since: number; epoch: string } | null,
    recent: number,
  ): Promise<Recovery> {
    const { log } = this.#room(name);
    const replay = resume && resume.epoch === log.epoch ? log.after(resume.since) : null;
    return Promise.resolve({
      epoch: log.epoch,
      offset: log.offset,
      recovered: replay !== null,
      history: replay ?? log.recent(recent),
    });
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
    for (const [name, room] of this.#rooms) {
      room.refs.sweep(now);
      if (room.members === 0 && now - room.idleSince > this.#options.roomTtlMs) {
        this.#rooms.delete(name);
      }
    }
  }

  close(): Promise<void> {
    this.#rooms.clear();
    return Promise.resolve();
  }
}
