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

/** A remembered ref: its record, its key, when it was remembered and the room cache holding it. */
export interface RefEntry extends AckRecord {
  key: string;
  at: number;
  owner: DedupCache;
}

/**
 * The order of the refs of every room of an engine, oldest first, and their bound: past the TTL
 * and past `maxRefs` (a bound that survives any number of rooms and senders: every ref costs
 * 150-450 bytes of heap), the oldest refs are forgotten. A {@linkcode Fifo} keeps the order (a
 * `Map` iterated from its start is not O(1) once entries were deleted).
 *
 * @example
 * ```ts
 * const ledger = new RefLedger(60_000, 100_000);
 * const room = new DedupCache(60_000, ledger);
 * room.set("client1\u0000r1", { offset: 3, ts: 0, hash: 7 }, 0);
 * ledger.size; // 1
 * ```
 */
export class RefLedger {
  #order = new Fifo<RefEntry>();
  /** Refs forgotten before their TTL because `maxRefs` were held. */
  forgotten = 0;

  /** `ttlMs`: how long a ref lives; `maxRefs`: how many every room together may hold. */
  constructor(readonly ttlMs: number, readonly maxRefs = Infinity) {}

  /** Refs held, every room together (a ref remembered twice counts twice until its first goes). */
  get size(): number {
    return this.#order.length;
  }

  /** Records `entry` as the newest, forgetting the oldest past `maxRefs`. */
  add(entry: RefEntry): void {
    this.#order.push(entry);
    while (this.#order.length > this.maxRefs) {
      const oldest = this.#order.shift()!;
      if (oldest.owner.forget(oldest, this.ttlMs)) this.forgotten++;
    }
  }

  /**
   * Forgets refs older than the TTL, oldest first, so this stops at the first fresh one. A key
   * remembered again left its older entry in the queue: that one goes without touching the map.
   */
  sweep(now: number): void {
    const order = this.#order;
    let oldest: RefEntry | undefined;
    while ((oldest = order.peek()) !== undefined && now - oldest.at > this.ttlMs) {
      order.shift();
      oldest.owner.forget(oldest, 0);
    }
  }
}

/**
 * One room's refs: a map that forgets entries older than `ttlMs`, oldest first, and, with a
 * shared {@linkcode RefLedger}, the oldest of every room past the ledger's bound.
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
  #ledger: RefLedger;
  #entries = new Map<string, RefEntry>();
  /**
   * Until when refs this cache forgot before their TTL (the ledger's bound) would still have
   * answered, in the clock of `set`: a store that also keeps refs elsewhere (on disk) asks there
   * until then.
   */
  forgottenUntil = 0;

  /** `ledger`: the order and bound shared with other rooms (default: one of its own). */
  constructor(ttlMs: number, ledger: RefLedger = new RefLedger(ttlMs)) {
    this.#ttl = ttlMs;
    this.#ledger = ledger;
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

  /** Remembers `key` (again, if it expired) and forgets refs past their TTL or the bound. */
  set(key: string, record: AckRecord, now: number): void {
    this.#ledger.sweep(now);
    const { offset, ts, hash } = record;
    const entry: RefEntry = { offset, ts, hash, key, at: now, owner: this };
    this.#entries.set(key, entry);
    this.#ledger.add(entry);
  }

  /**
   * Removes `entry` unless its key was remembered again since (true when removed); `lifeLeft`:
   * the TTL of a ref forgotten early, 0 when it expired. Called by the {@linkcode RefLedger}.
   */
  forget(entry: RefEntry, lifeLeft: number): boolean {
    if (this.#entries.get(entry.key) !== entry) return false;
    this.#entries.delete(entry.key);
    if (lifeLeft > 0) this.forgottenUntil = Math.max(this.forgottenUntil, entry.at + lifeLeft);
    return true;
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
