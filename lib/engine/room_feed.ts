/**
 * Ordered, exactly-once delivery of one room's messages when they arrive from a channel that may
 * drop, repeat or reorder them, with a store that has them all: Redis pub/sub and its stream (the
 * Redis engine), or the posts of the other workers on one KV file and KV itself (the KV engine).
 * The feed remembers the last offset it delivered; the next one is delivered at once, a copy of one
 * already delivered is dropped, and on a jump, an epoch change or a request it reads the missing
 * part from the store before delivering anything newer. When the room moved to another epoch, it
 * says so (`onReset`) before delivering the new epoch's messages. A different message at an offset
 * it already delivered (Redis' history rolled back) also triggers a read, which renames the epoch.
 *
 * @module
 */

import type { ChatMessage } from "../protocol/frames.ts";

/** A message as a feed receives it: with the epoch it was published in. */
export interface Envelope {
  epoch: string;
  message: ChatMessage;
}

/** What a catch-up read returns: the room's position and the messages after `since`. */
export interface CatchUp {
  epoch: string;
  offset: number;
  /** Messages of `epoch`, ascending (those after `since`, or the newest kept on an epoch change). */
  messages: ChatMessage[];
}

/** Options of {@linkcode RoomFeed}. */
export interface RoomFeedOptions {
  deliver: (message: ChatMessage) => void;
  /** Reads the stream after `since` in `epoch` (or the new epoch's messages). */
  read: (epoch: string | null, since: number) => Promise<CatchUp>;
  /** Called when messages were trimmed from the stream before this feed could deliver them. */
  onGap?: (from: number, to: number) => void;
  /** Called when a catch-up read fails (it is retried on the next push or request). */
  onError?: (err: unknown) => void;
  /**
   * Called when the room moved to another epoch (its history was lost or rolled back), before
   * any message of `epoch` is delivered.
   */
  onReset?: (epoch: string) => void;
}

/** How many recent deliveries the feed remembers to tell a duplicate from a different message. */
const RECENT = 256;

/**
 * Delivers each message of a room once and in offset order.
 *
 * @example
 * ```ts
 * const feed = new RoomFeed({ deliver: (m) => hub.deliver(m), read });
 * feed.start("e1", 10); // position read after subscribing
 * feed.push({ epoch: "e1", message }); // from pub/sub
 * ```
 */
export class RoomFeed {
  #epoch: string | null = null;
  #last = 0;
  #started = false;
  #busy = false;
  #again = false;
  #pending: Envelope[] = [];
  #options: RoomFeedOptions;
  #closed = false;
  /** `ts` of the last {@linkcode RECENT} messages delivered in this epoch, by offset. */
  #recentTs = new Float64Array(RECENT);
  /** First offset delivered in this epoch (nothing remembered before it). */
  #recentFrom = Infinity;

  constructor(options: RoomFeedOptions) {
    this.#options = options;
  }

  /** Epoch and last offset delivered. */
  get position(): { epoch: string | null; last: number } {
    return { epoch: this.#epoch, last: this.#last };
  }

  /** Sets the starting position (what was already in the room when it was joined). */
  start(epoch: string, offset: number): void {
    this.#epoch = epoch;
    this.#last = offset;
    this.#recentFrom = Infinity;
    this.#started = true;
    this.#drain();
  }

  /** Handles a message from pub/sub. */
  push(envelope: Envelope): void {
    if (this.#closed) return;
    this.#pending.push(envelope);
    this.#drain();
  }

  /** Reads the stream for anything missed (after a pub/sub reconnect, or when behind). */
  catchUp(): void {
    if (!this.#started || this.#closed) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    void this.#read();
  }

  /** Stops delivering. */
  close(): void {
    this.#closed = true;
    this.#pending = [];
  }

  #drain(): void {
    if (!this.#started || this.#busy || this.#closed) return;
    const pending = this.#pending;
    this.#pending = [];
    pending.sort((a, b) => a.message.offset - b.message.offset);
    for (let i = 0; i < pending.length; i++) {
      const { epoch, message } = pending[i];
      if (epoch === this.#epoch && message.offset <= this.#last) {
        // Usually the channel's copy of a message a catch-up read delivered. Another message at
        // an offset already delivered means Redis' history was rolled back and the offset given
        // twice: read the stream (the script renames the epoch) before anything newer.
        if (this.#deliveredTs(message.offset) === message.ts) continue;
        this.#pending = pending.slice(i + 1).concat(this.#pending);
        void this.#read();
        return;
      }
      if (epoch === this.#epoch && message.offset === this.#last + 1) {
        this.#emit(message);
        continue;
      }
      // A jump or another epoch: keep the rest and read the stream first.
      this.#pending = pending.slice(i).concat(this.#pending);
      void this.#read();
      return;
    }
  }

  #emit(message: ChatMessage): void {
    const offset = message.offset;
    this.#last = offset;
    if (this.#recentFrom === Infinity) this.#recentFrom = offset;
    this.#recentTs[offset % RECENT] = message.ts;
    this.#options.deliver(message);
  }

  /** `ts` of the message delivered at `offset` in this epoch, or NaN when not remembered. */
  #deliveredTs(offset: number): number {
    if (offset < this.#recentFrom || offset <= this.#last - RECENT) return NaN;
    return this.#recentTs[offset % RECENT];
  }

  async #read(): Promise<void> {
    this.#busy = true;
    this.#again = false;
    let ok = true;
    try {
      const got = await this.#options.read(this.#epoch, this.#last);
      if (this.#closed) return;
      if (got.epoch !== this.#epoch) {
        this.#epoch = got.epoch;
        this.#last = 0;
        this.#recentFrom = Infinity;
        this.#pending = this.#pending.filter((e) => e.epoch === got.epoch);
        this.#options.onReset?.(got.epoch);
      }
      for (const message of got.messages) {
        if (message.offset <= this.#last) continue;
        if (message.offset > this.#last + 1) {
          this.#options.onGap?.(this.#last + 1, message.offset - 1);
        }
        this.#emit(message);
      }
      if (got.offset > this.#last) {
        // Trimmed before we could read it: nothing more to wait for.
        this.#options.onGap?.(this.#last + 1, got.offset);
        this.#last = got.offset;
      }
    } catch (err) {
      ok = false;
      this.#options.onError?.(err);
    } finally {
      this.#busy = false;
    }
    if (this.#closed) return;
    if (ok && this.#again) return this.catchUp();
    if (ok) this.#drain();
  }
}
