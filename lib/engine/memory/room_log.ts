/**
 * A room's log: its epoch, its latest offset, and the last messages kept for replay, bounded by
 * a count and by the bytes they hold. An empty log allocates no slots, so a room nobody wrote in
 * costs a few hundred bytes.
 *
 * @module
 */

import type { ChatMessage } from "../../protocol/frames.ts";

/**
 * What a kept message is counted as against the history budgets, in bytes: an upper bound of its
 * strings in V8 (two bytes per UTF-16 unit) plus the object around them.
 *
 * @example
 * ```ts
 * messageCost({ text: "hi", name: "Ann" }); // 2 * 2 + 2 * 3 + 200
 * ```
 */
export function messageCost(
  message: Pick<ChatMessage, "text" | "name" | "user" | "data">,
): number {
  // `info` is one object per connection, shared by every message it sent: not counted here.
  // `data` counts as its compact JSON (an upper bound of what its values hold, plus the objects).
  const data = message.data === undefined ? 0 : 2 * JSON.stringify(message.data).length + 64;
  return 2 * (message.text?.length ?? 0) + 2 * (message.name?.length ?? 0) +
    2 * (message.user?.length ?? 0) + data + 200;
}

/**
 * Keeps the last `capacity` messages of one room, addressed by offset.
 *
 * @example
 * ```ts
 * const log = new RoomLog("e1", 2);
 * log.append((offset) => ({ offset } as ChatMessage));
 * log.after(0); // [message 1]
 * log.trimTo(0); // drops it from the history; the offset stays 1
 * ```
 */
export class RoomLog {
  /** Changes whenever the history is lost (a new log has a new epoch). */
  readonly epoch: string;
  #capacity: number;
  /** Kept messages, oldest first, from `#head` on (the front is cut off lazily). */
  #items: ChatMessage[] = [];
  #head = 0;
  #offset = 0;
  #bytes = 0;

  constructor(epoch: string, capacity: number) {
    this.epoch = epoch;
    this.#capacity = capacity;
  }

  /** Offset of the newest message (0 for an empty log). */
  get offset(): number {
    return this.#offset;
  }

  /** Messages kept. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Bytes the kept messages count as ({@linkcode messageCost}). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Oldest offset still kept (offset + 1 when nothing is kept). */
  get oldest(): number {
    return this.#offset - this.size + 1;
  }

  /** Assigns the next offset, builds the message with it and keeps it (dropping the oldest). */
  append(build: (offset: number) => ChatMessage): ChatMessage {
    const message = build(++this.#offset);
    if (this.#capacity === 0) return message;
    this.#items.push(message);
    this.#bytes += messageCost(message);
    if (this.size > this.#capacity) this.#dropOldest();
    return message;
  }

  /** Drops the oldest messages until at most `bytes` are kept; returns the bytes freed. */
  trimTo(bytes: number): number {
    const before = this.#bytes;
    while (this.#bytes > bytes && this.size > 0) this.#dropOldest();
    return before - this.#bytes;
  }

  #dropOldest(): void {
    const gone = this.#items[this.#head];
    this.#items[this.#head++] = undefined as unknown as ChatMessage;
    this.#bytes -= messageCost(gone);
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Messages with an offset above `since`, or null when some of them are no longer kept. */
  after(since: number): ChatMessage[] | null {
    if (since < 0 || since > this.#offset || since < this.oldest - 1) return null;
    return this.#items.slice(this.#head + (since + 1 - this.oldest));
  }

  /** The last `count` messages (fewer when fewer are kept). */
  recent(count: number): ChatMessage[] {
    if (count <= 0) return [];
    return this.#items.slice(Math.max(this.#head, this.#items.length - count));
  }
}
