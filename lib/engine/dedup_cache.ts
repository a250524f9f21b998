/**
 * Remembers accepted `ref`s for a while so that resends are acknowledged, not broadcast again.
 *
 * @module
 */

import { Fifo } from "../shared/fifo.ts";

/** What a remembered ref maps to: the original ack and the `textHash` of the text it carried. */
export interface AckRecord {
  offset: number;
  ts: number;
  /** `textHash` of the message's text: a resend must carry the same text to match. */
  hash: number;
}

/** A remembered ref: its record, its key and when it was remembered. */
interface Entry extends AckRecord {
  key: string;
  at: number;
}

/**
 * A map of refs that forgets entries older than `ttlMs`, oldest first (a {@linkcode Fifo} of the
 * entries keeps the order: a `Map` iterated from its start is not O(1) once entries were deleted).
 *
 * @example
 * ```ts
 * const cache = new DedupCache(60_000);
 * cache.set("client1\u0000r1", { offset: 3, ts: 0, hash: 7 }, 0);
 * cache.get("client1\u0000r1", 1000); // { offset: 3, ts: 0, hash: 7 }
 * cache.get("client1\u0000r1", 61_000); // undefined
 * ```
 */
export class DedupCache {
  #ttl: number;
  #entries = new Map<string, Entry>();
  #order = new Fifo<Entry>();

  constructor(ttlMs: number) {
    this.#ttl = ttlMs;
  }

  /** Number of refs remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** The original ack of `key`, if it was accepted within the TTL. */
  get(key: string, now: number): AckRecord | undefined {
    const hit = this.#entries.get(key);
    if (!hit || now - hit.at > this.#ttl) return undefined;
    return { offset: hit.offset, ts: hit.ts, hash: hit.hash };
  }

  /** Remembers `key` (again, if it expired) and forgets entries past their TTL. */
  set(key: string, record: AckRecord, now: number): void {
    this.sweep(now);
    const entry: Entry = { offset: record.offset, ts: record.ts, hash: record.hash, key, at: now };
    this.#entries.set(key, entry);
    this.#order.push(entry);
  }

  /**
   * Forgets entries older than the TTL, oldest first, so this stops at the first fresh one. A key
   * remembered again left its older entry in the queue: that one goes without touching the map.
   */
  sweep(now: number): void {
    const order = this.#order;
    for (let oldest = order.peek(); oldest !== undefined; oldest = order.peek()) {
      if (now - oldest.at <= this.#ttl) break;
      order.shift();
      if (this.#entries.get(oldest.key) === oldest) this.#entries.delete(oldest.key);
    }
  }
}

/**
 * Key of a ref: refs are scoped to the sender's public client id, or to the connection without
 * one (never to anything another client can claim: public ids derive from private keys).
 *
 * @example
 * ```ts
 * refKey("client-1", "c1", "r1"); // "client-1\u0000r1"
 * ```
 */
export function refKey(client: string | null, connection: string, ref: string): string {
  return client !== null ? `${client}\u0000${ref}` : `#${connection}\u0000${ref}`;
}
