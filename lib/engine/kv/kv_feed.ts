/**
 * Ordered, exactly-once delivery of one joined room's messages when several workers write the
 * same KV file: messages come from this worker's commits and from the other workers' posts
 * (`kv_peers.ts`), in any order and possibly with some missing. The feed remembers the last
 * offset it delivered; the next one is delivered at once, a copy of one already delivered is
 * dropped, and a jump (or another epoch) makes it read KV, where every committed message is,
 * before it delivers anything newer.
 *
 * @module
 */

import type { ChatMessage } from "../../protocol/frames.ts";

/** What a catch-up read returns: the room's position on disk and its messages after `since`. */
export interface KvCatchUp {
  epoch: string;
  offset: number;
  /** Messages of `epoch` after `since`, ascending (none when the epoch is not the feed's). */
  messages: ChatMessage[];
}

/** Options of {@linkcode KvFeed}. */
export interface KvFeedOptions {
  deliver: (message: ChatMessage) => void;
  /** Reads the room's head and the messages after `since` in `epoch` from KV. */
  read: (epoch: string, since: number) => Promise<KvCatchUp>;
  /** Called when messages were trimmed from KV before this feed could deliver them. */
  onGap?: (from: number, to: number) => void;
  /** Called when a catch-up read fails (retried on the next push or catch-up). */
  onError?: (err: unknown) => void;
  /** Called when the room moved to another epoch on disk, before anything of it is delivered. */
  onReset?: (epoch: string) => void;
}

/**
 * Delivers each message of a room once and in offset order.
 *
 * @example
 * ```ts
 * const feed = new KvFeed("e1", 10, { deliver: (m) => hub.deliver(m), read });
 * feed.push("e1", [message11, message12]); // from a commit, this worker's or another's
 * feed.catchUp(); // a peer said the room is further on
 * ```
 */
export class KvFeed {
  #epoch: string;
  #last: number;
  #pending: { epoch: string; message: ChatMessage }[] = [];
  #busy = false;
  #again = false;
  #closed = false;
  #o: KvFeedOptions;

  constructor(epoch: string, last: number, options: KvFeedOptions) {
    this.#epoch = epoch;
    this.#last = last;
    this.#o = options;
  }

  /** Epoch and last offset delivered. */
  get position(): { epoch: string; last: number } {
    return { epoch: this.#epoch, last: this.#last };
  }

  /** Takes committed messages of `epoch` (ascending); delivers what follows, reads KV on a gap. */
  push(epoch: string, messages: readonly ChatMessage[]): void {
    if (this.#closed) return;
    for (const message of messages) this.#pending.push({ epoch, message });
    this.#drain();
  }

  /** Reads KV for anything missed (a peer's summary shows the room further on). */
  catchUp(): void {
    if (this.#closed) return;
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
    if (this.#busy || this.#closed) return;
    const pending = this.#pending;
    this.#pending = [];
    pending.sort((a, b) => a.message.offset - b.message.offset);
    for (let i = 0; i < pending.length; i++) {
      const { epoch, message } = pending[i];
      if (epoch === this.#epoch && message.offset <= this.#last) continue;
      if (epoch === this.#epoch && message.offset === this.#last + 1) {
        this.#last = message.offset;
        this.#o.deliver(message);
        continue;
      }
      // A jump or another epoch: keep the rest, read KV first.
      this.#pending = pending.slice(i).concat(this.#pending);
      void this.#read();
      return;
    }
  }

  async #read(): Promise<void> {
    this.#busy = true;
    this.#again = false;
    let ok = true;
    try {
      const got = await this.#o.read(this.#epoch, this.#last);
      if (this.#closed) return;
      if (got.epoch !== this.#epoch) {
        // The room was removed and made again: nothing of the old epoch is left to deliver, and
        // members of the new one are welcomed at its current offset.
        this.#epoch = got.epoch;
        this.#last = got.offset;
        this.#pending = this.#pending.filter((p) => p.epoch === got.epoch);
        this.#o.onReset?.(got.epoch);
      } else {
        for (const message of got.messages) {
          if (message.offset <= this.#last) continue;
          if (message.offset > this.#last + 1) {
            this.#o.onGap?.(this.#last + 1, message.offset - 1);
          }
          this.#last = message.offset;
          this.#o.deliver(message);
        }
        if (got.offset > this.#last) {
          // Trimmed before it could be read: nothing more to wait for.
          this.#o.onGap?.(this.#last + 1, got.offset);
          this.#last = got.offset;
        }
      }
    } catch (err) {
      ok = false;
      this.#o.onError?.(err);
    } finally {
      this.#busy = false;
    }
    if (this.#closed) return;
    if (ok && this.#again) return this.catchUp();
    if (ok) this.#drain();
  }
}
