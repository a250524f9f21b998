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

/** Sequence numbers of refs wrap at 2^30 (small integers in V8: a map holds them unboxed). */
const SEQ_SPAN = 2 ** 30;
/** Slots of a ledger's first ring (it doubles as refs come, up to `maxRefs`). */
const FIRST_SLOTS = 1024;

/**
 * The order of the refs of every room of an engine, oldest first, and their bound: past the TTL
 * and past `maxRefs` (a bound that survives any number of rooms and senders), the oldest refs are
 * forgotten. Refs are kept in a ring of parallel arrays (key, room cache, when, offset, ts, hash),
 * so that remembering one allocates no object of its own; a room's cache maps each key to its
 * ref's sequence number.
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
  /** Refs forgotten before their TTL because `maxRefs` were held. */
  forgotten = 0;
  /** Sequence number of the oldest ref held. */
  #head = 0;
  #count = 0;
  #mask = -1;
  #keys: (string | undefined)[] = [];
  #owners: (DedupCache | undefined)[] = [];
  #at = new Float64Array(0);
  #offset = new Float64Array(0);
  #ts = new Float64Array(0);
  #hash = new Float64Array(0);

  /**
   * `ttlMs`: how long a ref lives; `maxRefs`: how many every room together may hold; `seqSpan`:
   * where sequence numbers wrap (a power of two; tests make it small).
   */
  constructor(readonly ttlMs: number, readonly maxRefs = Infinity, readonly seqSpan = SEQ_SPAN) {
    if (!Number.isInteger(Math.log2(seqSpan)) || seqSpan < FIRST_SLOTS) {
      throw new RangeError(`seqSpan must be a power of two from ${FIRST_SLOTS}, got ${seqSpan}`);
    }
  }

  /** Refs held, every room together (a ref remembered twice counts twice until its first goes). */
  get size(): number {
    return this.#count;
  }

  /**
   * Records a ref of `owner` as the newest, forgetting the oldest past `maxRefs`; returns its
   * sequence number.
   */
  add(owner: DedupCache, key: string, record: AckRecord, at: number): number {
    // The ring holds at most `seqSpan` refs: their sequence numbers must differ.
    while (this.#count >= this.maxRefs || this.#count >= this.seqSpan) {
      if (this.#shift(this.ttlMs)) this.forgotten++;
    }
    if (this.#count === this.#mask + 1) this.#grow();
    const seq = (this.#head + this.#count) % this.seqSpan;
    const slot = seq & this.#mask;
    this.#keys[slot] = key;
    this.#owners[slot] = owner;
    this.#at[slot] = at;
    this.#offset[slot] = record.offset;
    this.#ts[slot] = record.ts;
    this.#hash[slot] = record.hash;
    this.#count++;
    return seq;
  }

  /** The record of the ref `seq` while it is held and younger than the TTL at `now`. */
  record(seq: number, now: number): AckRecord | undefined {
    if ((seq - this.#head + this.seqSpan) % this.seqSpan >= this.#count) return undefined;
    const slot = seq & this.#mask;
    if (now - this.#at[slot] > this.ttlMs) return undefined;
    return { offset: this.#offset[slot], ts: this.#ts[slot], hash: this.#hash[slot] };
  }

  /**
   * Forgets refs older than the TTL, oldest first, so this stops at the first fresh one. A key
   * remembered again left its older ref in the ring: that one goes without touching the map.
   */
  sweep(now: number): void {
    while (this.#count > 0 && now - this.#at[this.#head & this.#mask] > this.ttlMs) {
      this.#shift(0);
    }
  }

  /** Takes the oldest ref out and tells its cache; true when that forgot it. */
  #shift(lifeLeft: number): boolean {
    const seq = this.#head;
    const slot = seq & this.#mask;
    const owner = this.#owners[slot]!;
    const key = this.#keys[slot]!;
    this.#owners[slot] = undefined;
    this.#keys[slot] = undefined;
    this.#head = (seq + 1) % this.seqSpan;
    this.#count--;
    return owner.forget(key, seq, this.#at[slot], lifeLeft);
  }

  /** Doubles the ring, each held ref moving to the slot its sequence number gives. */
  #grow(): void {
    const slots = Math.min(this.seqSpan, Math.max(FIRST_SLOTS, 2 * (this.#mask + 1)));
    const mask = slots - 1;
    const keys = new Array<string | undefined>(slots);
    const owners = new Array<DedupCache | undefined>(slots);
    const at = new Float64Array(slots);
    const offset = new Float64Array(slots);
    const ts = new Float64Array(slots);
    const hash = new Float64Array(slots);
    for (let i = 0; i < this.#count; i++) {
      const seq = (this.#head + i) % this.seqSpan;
      const from = seq & this.#mask;
      const to = seq & mask;
      keys[to] = this.#keys[from];
      owners[to] = this.#owners[from];
      at[to] = this.#at[from];
      offset[to] = this.#offset[from];
      ts[to] = this.#ts[from];
      hash[to] = this.#hash[from];
    }
    this.#mask = mask;
    this.#keys = keys;
    this.#owners = owners;
    this.#at = at;
    this.#offset = offset;
    this.#ts = ts;
    this.#hash = hash;
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
  #ledger: RefLedger;
  /** Each key's ref: its sequence number in the ledger. */
  #entries = new Map<string, number>();
  /**
   * Until when refs this cache forgot before their TTL (the ledger's bound) would still have
   * answered, in the clock of `set`: a store that also keeps refs elsewhere (on disk) asks there
   * until then.
   */
  forgottenUntil = 0;

  /** `ledger`: the order and bound shared with other rooms (default: one of its own). */
  constructor(ttlMs: number, ledger: RefLedger = new RefLedger(ttlMs)) {
    this.#ledger = ledger;
  }

  /** Number of refs remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** The original ack of `key`, if it was accepted within the TTL. */
  get(key: string, now: number): AckRecord | undefined {
    const seq = this.#entries.get(key);
    return seq === undefined ? undefined : this.#ledger.record(seq, now);
  }

  /** Remembers `key` (again, if it expired) and forgets refs past their TTL or the bound. */
  set(key: string, record: AckRecord, now: number): void {
    this.#ledger.sweep(now);
    this.#entries.set(key, this.#ledger.add(this, key, record, now));
  }

  /**
   * Removes `key` unless it was remembered again since its ref `seq` (true when removed);
   * `at`: when that ref was remembered; `lifeLeft`: the TTL of a ref forgotten early, 0 when it
   * expired. Called by the {@linkcode RefLedger}.
   */
  forget(key: string, seq: number, at: number, lifeLeft: number): boolean {
    if (this.#entries.get(key) !== seq) return false;
    this.#entries.delete(key);
    if (lifeLeft > 0) this.forgottenUntil = Math.max(this.forgottenUntil, at + lifeLeft);
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
