/**
 * The JSON of the messages welcomes carry in their history: a message is stringified once for
 * all the welcomes it is in (after a restart every client resumes together). Bounded in bytes,
 * the oldest going first. The live fan-out stringifies each message once itself (one string
 * shared by the room's members) and does not fill the cache: a map entry per message cost more
 * than the second stringify of the few messages a later welcome carries.
 *
 * @module
 */

import type { ChatMessage } from "../protocol/frames.ts";
import { messageJson } from "../protocol/message_json.ts";
import { Fifo } from "../shared/fifo.ts";

/**
 * A byte-bounded cache of a message's JSON (`messageJson`) by message object.
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
    const json = messageJson(message);
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
