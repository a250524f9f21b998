/**
 * The JSON of the latest messages, shared by the live fan-out and the welcomes: a message is
 * stringified once, whether it goes to a room's members or into the history of many welcomes at
 * once (after a restart every client resumes together). Bounded in bytes, the oldest going first.
 *
 * @module
 */

import type { ChatMessage } from "../protocol/frames.ts";
import { Fifo } from "../shared/fifo.ts";

/**
 * A byte-bounded cache of `JSON.stringify(message)` by message object.
 *
 * @example
 * ```ts
 * const cache = new MessageJsonCache(4 << 20);
 * cache.of(message) === cache.of(message); // true: one string, stringified once
 * ```
 */
export class MessageJsonCache {
  #entries = new Map<ChatMessage, string>();
  /** The cached messages, oldest first (a `Map` iterated from its start is not O(1) in V8). */
  #order = new Fifo<ChatMessage>();
  #bytes = 0;

  /** `maxBytes`: what the cached strings may hold together (UTF-16 units, close to bytes). */
  constructor(readonly maxBytes: number) {}

  /** The JSON of `message`, from the cache or made (and kept) now. */
  of(message: ChatMessage): string {
    const hit = this.#entries.get(message);
    if (hit !== undefined) return hit;
    const json = JSON.stringify(message);
    if (json.length > this.maxBytes) return json;
    this.#entries.set(message, json);
    this.#order.push(message);
    this.#bytes += json.length;
    while (this.#bytes > this.maxBytes) {
      const old = this.#order.shift()!;
      this.#bytes -= this.#entries.get(old)!.length;
      this.#entries.delete(old);
    }
    return json;
  }

  /** Strings held, and their size. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes };
  }
}
