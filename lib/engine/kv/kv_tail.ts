/**
 * The newest messages of the KV engine's rooms, kept decoded in memory so that welcomes and
 * resumes of recent history do not read the disk, and joiners of one room share the same message
 * objects (as with the memory engine) instead of each decoding its own copy. Bounded per room (a
 * welcome's worth of bytes, at most `HISTORY_SIZE` messages) and for every room together (the
 * least recently written rooms' tails go first).
 *
 * @module
 */

import type { ChatMessage } from "../../protocol/frames.ts";

/** Options of {@linkcode KvTail}. */
export interface KvTailOptions {
  /** Bytes every room's tail may hold together. */
  budget: number;
  /** Bytes one room's tail may hold (what a welcome may read). */
  perRoom: number;
  /** Messages one room's tail may hold. */
  maxCount: number;
}

/** One room's tail: consecutive offsets of one epoch, `messages[first]` the oldest kept. */
interface Tail {
  epoch: string;
  messages: ChatMessage[];
  costs: number[];
  first: number;
  bytes: number;
}

/**
 * What a message counts for in a tail: about its body's bytes on disk (its text and name, its
 * data as compact JSON, and the other fields), the unit of `historyReadBytes`, so that a tail
 * holds what a welcome reads.
 *
 * @example
 * ```ts
 * tailCost({ text: "hi", name: null }); // 202
 * ```
 */
export function tailCost(message: Pick<ChatMessage, "text" | "name" | "data">): number {
  const data = message.data === undefined ? 0 : JSON.stringify(message.data).length;
  return (message.text?.length ?? 0) + (message.name?.length ?? 0) + data + 200;
}

/**
 * Recent messages per room, in memory, within a byte budget.
 *
 * @example
 * ```ts
 * const tail = new KvTail({ budget: 1 << 20, perRoom: 1 << 16, maxCount: 1000 });
 * tail.add(message); // a committed message, in offset order
 * tail.range("lobby", "e1", 40, 42); // the three messages, or null when not all are kept
 * ```
 */
export class KvTail {
  #o: KvTailOptions;
  /** Rooms' tails, the least recently written first. */
  #rooms = new Map<string, Tail>();
  #bytes = 0;

  constructor(options: KvTailOptions) {
    this.#o = options;
  }

  /** Bytes held, every room together. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends a committed message (offsets in order): a gap or another epoch starts the room's
   * tail again.
   */
  add(message: ChatMessage): void {
    if (this.#o.budget <= 0 || this.#o.perRoom <= 0 || this.#o.maxCount <= 0) return;
    const name = message.room;
    let tail = this.#rooms.get(name);
    const epoch = epochOf(message);
    if (tail) {
      this.#rooms.delete(name);
      const last = tail.messages[tail.messages.length - 1];
      if (tail.epoch !== epoch || last === undefined || message.offset !== last.offset + 1) {
        this.#bytes -= tail.bytes;
        tail = undefined;
      }
    }
    tail ??= { epoch, messages: [], costs: [], first: 0, bytes: 0 };
    this.#rooms.set(name, tail);
    const cost = tailCost(message);
    tail.messages.push(message);
    tail.costs.push(cost);
    tail.bytes += cost;
    this.#bytes += cost;
    const { perRoom, maxCount } = this.#o;
    while (
      tail.messages.length - tail.first > 0 &&
      (tail.bytes > perRoom || tail.messages.length - tail.first > maxCount)
    ) this.#dropOldest(tail);
    for (const other of this.#rooms.keys()) {
      if (this.#bytes <= this.#o.budget || other === name) break;
      this.forget(other);
    }
    while (this.#bytes > this.#o.budget && tail.messages.length - tail.first > 0) {
      this.#dropOldest(tail);
    }
    if (tail.first >= 64 && tail.first * 2 >= tail.messages.length) {
      tail.messages = tail.messages.slice(tail.first);
      tail.costs = tail.costs.slice(tail.first);
      tail.first = 0;
    }
  }

  #dropOldest(tail: Tail): void {
    const cost = tail.costs[tail.first++];
    tail.bytes -= cost;
    this.#bytes -= cost;
  }

  /** The messages `from` to `to` of `room` in `epoch`, or null unless the tail holds them all. */
  range(room: string, epoch: string, from: number, to: number): ChatMessage[] | null {
    const tail = this.#rooms.get(room);
    if (!tail || tail.epoch !== epoch || tail.messages.length === tail.first) return null;
    const oldest = tail.messages[tail.first].offset;
    const newest = tail.messages[tail.messages.length - 1].offset;
    if (from < oldest || to > newest) return null;
    const at = tail.first + from - oldest;
    return tail.messages.slice(at, at + to - from + 1);
  }

  /** Drops a room's tail (the room was unloaded or removed). */
  forget(room: string): void {
    const tail = this.#rooms.get(room);
    if (!tail) return;
    this.#bytes -= tail.bytes;
    this.#rooms.delete(room);
  }
}

/** The epoch of a message, from its id `<epoch>-<offset>`. */
function epochOf(message: ChatMessage): string {
  return message.id.slice(0, message.id.length - String(message.offset).length - 1);
}
