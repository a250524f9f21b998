/**
 * Remembers accepted `ref`s for a while so that resends are acknowledged, not broadcast again.
 *
 * @module
 */

/** What a remembered ref maps to: the original ack and the `textHash` of the text it carried. */
export interface AckRecord {
  offset: number;
  ts: number;
  /** `textHash` of the message's text: a resend must carry the same text to match. */
  hash: number;
}

/**
 * An insertion-ordered map of refs that forgets entries older than `ttlMs`.
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
  #entries = new Map<string, AckRecord & { at: number }>();

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

  /** Remembers `key` and forgets entries past their TTL. */
  set(key: string, record: AckRecord, now: number): void {
    this.sweep(now);
    this.#entries.set(key, { ...record, at: now });
  }

  /** Forgets entries older than the TTL; oldest first, so this stops at the first fresh one. */
  sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (now - entry.at <= this.#ttl) break;
      this.#entries.delete(key);
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
