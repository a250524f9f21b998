/**
 * A room's log: its epoch, its latest offset and a ring buffer of the last messages.
 *
 * @module
 */

import type { ChatMessage } from "./protocol.ts";

/**
 * Keeps the last `capacity` messages of one room, addressed by offset.
 *
 * @example
 * ```ts
 * const log = new RoomLog("e1", 2);
 * log.append((offset) => ({ offset } as ChatMessage));
 * log.after(0); // [message 1]
 * ```
 */
export class RoomLog {
  /** Changes whenever the history is lost (a new log has a new epoch). */
  readonly epoch: string;
  #capacity: number;
  #ring: (ChatMessage | undefined)[];
  #offset = 0;

  constructor(epoch: string, capacity: number) {
    this.epoch = epoch;
    this.#capacity = capacity;
    this.#ring = new Array(capacity);
  }

  /** Offset of the newest message (0 for an empty log). */
  get offset(): number {
    return this.#offset;
  }

  /** Oldest offset still kept (offset + 1 when nothing is kept). */
  get oldest(): number {
    return Math.max(1, this.#offset - Math.min(this.#offset, this.#capacity) + 1);
  }

  /** Assigns the next offset, builds the message with it and keeps it. */
  append(build: (offset: number) => ChatMessage): ChatMessage {
    const message = build(++this.#offset);
    if (this.#capacity > 0) this.#ring[(this.#offset - 1) % this.#capacity] = message;
    return message;
  }

  /** Messages with an offset above `since`, or null when some of them are no longer kept. */
  after(since: number): ChatMessage[] | null {
    if (since < 0 || since > this.#offset || since < this.oldest - 1) return null;
    return this.#range(since + 1, this.#offset);
  }

  /** The last `count` messages (fewer when fewer are kept). */
  recent(count: number): ChatMessage[] {
    const from = Math.max(this.oldest, this.#offset - count + 1);
    return this.#range(from, this.#offset);
  }

  #range(from: number, to: number): ChatMessage[] {
    const out: ChatMessage[] = [];
    for (let o = from; o <= to; o++) out.push(this.#ring[(o - 1) % this.#capacity]!);
    return out;
  }
}
