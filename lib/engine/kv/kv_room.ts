/**
 * A room the KV engine holds in memory: its head as committed (epoch, offsets, the versionstamp
 * a commit checks), the body size of each kept message (to trim by count and bytes without
 * reading them), and the plan of the next commit ({@linkcode RoomPlan}).
 *
 * @module
 */

import type { DedupCache } from "../dedup_cache.ts";
import type { ChatMessage } from "../../protocol/frames.ts";
import type { KvHead } from "./kv_messages.ts";
import { keySize, kvKeys, partsOf } from "./kv_messages.ts";
import type { KvAtomic } from "./kv_handle.ts";

/** A message planned into a commit: the message, its chunks and its body bytes. */
export interface Planned {
  message: ChatMessage;
  chunks: Uint8Array[];
  bytes: number;
}

/**
 * A room as committed. `sizes` holds the body bytes of the kept messages, oldest first, from
 * index `first` on (the front is cut off lazily).
 *
 * @example
 * ```ts
 * const room = new KvRoom("lobby", { epoch: "e1", offset: 0, oldest: 1, bytes: 0, ts: 0 }, null, []);
 * room.size; // 0
 * ```
 */
export class KvRoom {
  readonly name: string;
  epoch: string;
  offset: number;
  oldest: number;
  bytes: number;
  /** Versionstamp of the head as last read or written (null: not on disk). */
  stamp: string | null;
  /** Refs this process accepted (created on the first). */
  refs: DedupCache | null = null;
  /**
   * Until when refs accepted before this process read the room may be live on disk, in epoch ms
   * (0 for a room it made: there are none).
   */
  refsOnDiskUntil = 0;
  members = 0;
  idleSince = 0;
  #sizes: number[];
  #first = 0;

  constructor(name: string, head: KvHead, stamp: string | null, sizes: number[]) {
    this.name = name;
    this.epoch = head.epoch;
    this.offset = head.offset;
    this.oldest = head.oldest;
    this.bytes = head.bytes;
    this.stamp = stamp;
    this.#sizes = sizes;
  }

  /** Messages kept. */
  get size(): number {
    return this.#sizes.length - this.#first;
  }

  /** Body bytes of the `i`-th kept message, oldest first. */
  sizeAt(i: number): number {
    return this.#sizes[this.#first + i];
  }

  /** Body bytes of the kept messages from the `i`-th on (oldest first), all of them for 0. */
  bytesFrom(i: number): number {
    let bytes = 0;
    for (let k = Math.max(0, i); k < this.size; k++) bytes += this.sizeAt(k);
    return bytes;
  }

  /** The head as stored. */
  head(ts: number): KvHead {
    return { epoch: this.epoch, offset: this.offset, oldest: this.oldest, bytes: this.bytes, ts };
  }

  /**
   * Applies another worker's commit, which started from this head (same epoch and versionstamp):
   * keeps the body sizes of what it added, then drops the oldest down to its head.
   */
  follow(head: KvHead, kept: readonly number[], stamp: string): void {
    for (const bytes of kept) this.#sizes.push(bytes);
    this.#first = Math.max(this.#first, this.#sizes.length - (head.offset - head.oldest + 1));
    this.#compact();
    this.offset = head.offset;
    this.oldest = head.oldest;
    this.bytes = head.bytes;
    this.stamp = stamp;
  }

  /** Cuts the dropped front off the sizes once it is half of them. */
  #compact(): void {
    if (this.#first >= 64 && this.#first * 2 >= this.#sizes.length) {
      this.#sizes = this.#sizes.slice(this.#first);
      this.#first = 0;
    }
  }

  /** Applies a committed plan: drops what it trimmed, keeps what it added. */
  apply(plan: RoomPlan, stamp: string): void {
    this.#first += plan.dropOld;
    for (let i = plan.dropNew; i < plan.added.length; i++) this.#sizes.push(plan.added[i].bytes);
    this.#compact();
    this.offset += plan.added.length;
    this.bytes = plan.bytes;
    this.oldest = this.offset - this.size + 1;
    this.stamp = stamp;
  }
}

/**
 * What one commit does to a room: the messages it adds, and the oldest messages (kept ones, then
 * added ones) it drops to stay within `historySize` and `maxBytes`; counts the mutations and
 * bytes that takes, so that a batch stays within one atomic operation.
 *
 * @example
 * ```ts
 * const plan = new RoomPlan(room, 1000, 1 << 20);
 * plan.add({ message, chunks, bytes });
 * plan.write(kv.atomic(), Date.now());
 * ```
 */
export class RoomPlan {
  readonly room: KvRoom;
  readonly added: Planned[] = [];
  /** Kept messages dropped. */
  dropOld = 0;
  /** Added messages dropped (never written). */
  dropNew = 0;
  /** Body bytes kept after the commit. */
  bytes: number;
  /** Mutations of the messages (chunks written, chunks deleted). */
  mutations = 0;
  /** Bytes of those mutations' keys and values. */
  writeBytes = 0;
  /** Bytes of the keys of the chunks written (see `KV_LIMITS.setKeys`). */
  chunkKeyBytes = 0;
  #historySize: number;
  #maxBytes: number;
  /** Bytes of one chunk's key in this room (written or deleted). */
  #chunkKey: number;

  constructor(room: KvRoom, historySize: number, maxBytes: number) {
    this.room = room;
    this.bytes = room.bytes;
    this.#historySize = historySize;
    this.#maxBytes = maxBytes;
    this.#chunkKey = keySize(kvKeys.chunk(room.name, 0, 0));
  }

  /** Offset the next added message gets. */
  get nextOffset(): number {
    return this.room.offset + this.added.length + 1;
  }

  #count(): number {
    return this.room.size - this.dropOld + this.added.length - this.dropNew;
  }

  /** Adds a message and drops the oldest until the room is within its bounds. */
  add(planned: Planned): void {
    this.added.push(planned);
    this.bytes += planned.bytes;
    this.mutations += planned.chunks.length;
    this.writeBytes += planned.bytes + planned.chunks.length * this.#chunkKey;
    this.chunkKeyBytes += planned.chunks.length * this.#chunkKey;
    while (
      this.#count() > 0 && (this.#count() > this.#historySize || this.bytes > this.#maxBytes)
    ) {
      if (this.dropOld < this.room.size) {
        const bytes = this.room.sizeAt(this.dropOld++);
        this.bytes -= bytes;
        this.mutations += partsOf(bytes);
        this.writeBytes += partsOf(bytes) * this.#chunkKey;
      } else {
        const gone = this.added[this.dropNew++];
        this.bytes -= gone.bytes;
        this.mutations -= gone.chunks.length;
        this.writeBytes -= gone.bytes + gone.chunks.length * this.#chunkKey;
        this.chunkKeyBytes -= gone.chunks.length * this.#chunkKey;
      }
    }
  }

  /** A copy to try an addition on (the added list is shared and only appended to). */
  snapshot(): {
    dropOld: number;
    dropNew: number;
    bytes: number;
    mutations: number;
    writeBytes: number;
    chunkKeyBytes: number;
    added: number;
  } {
    const { dropOld, dropNew, bytes, mutations, writeBytes, chunkKeyBytes } = this;
    return {
      dropOld,
      dropNew,
      bytes,
      mutations,
      writeBytes,
      chunkKeyBytes,
      added: this.added.length,
    };
  }

  /** Undoes the additions since `snapshot`. */
  restore(s: ReturnType<RoomPlan["snapshot"]>): void {
    this.added.length = s.added;
    this.dropOld = s.dropOld;
    this.dropNew = s.dropNew;
    this.bytes = s.bytes;
    this.mutations = s.mutations;
    this.writeBytes = s.writeBytes;
    this.chunkKeyBytes = s.chunkKeyBytes;
  }

  /** Adds the plan's checks and mutations (chunks, deletes, the head) to `atomic`. */
  write(atomic: KvAtomic, ts: number): void {
    const { room } = this;
    const name = room.name;
    atomic.check({ key: kvKeys.head(name), versionstamp: room.stamp });
    for (let i = 0; i < this.dropOld; i++) {
      const offset = room.oldest + i;
      for (let p = 0; p < partsOf(room.sizeAt(i)); p++) {
        atomic.delete(kvKeys.chunk(name, offset, p));
      }
    }
    for (let i = this.dropNew; i < this.added.length; i++) {
      const { message, chunks } = this.added[i];
      for (const [p, chunk] of chunks.entries()) {
        atomic.set(kvKeys.chunk(name, message.offset, p), chunk);
      }
    }
    const offset = room.offset + this.added.length;
    const kept = room.size - this.dropOld + this.added.length - this.dropNew;
    atomic.set(
      kvKeys.head(name),
      {
        epoch: room.epoch,
        offset,
        oldest: offset - kept + 1,
        bytes: this.bytes,
        ts,
      } satisfies KvHead,
    );
  }

  /** Bytes of the head's check and write, and of the keys of the messages. */
  get headBytes(): number {
    return 2 * keySize(kvKeys.head(this.room.name)) + 128;
  }

  /** Bytes of the keys the plan sets: its chunks' and its head's (see `KV_LIMITS.setKeys`). */
  get setKeyBytes(): number {
    return this.chunkKeyBytes + keySize(kvKeys.head(this.room.name));
  }
}
