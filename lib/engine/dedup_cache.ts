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

/** Sequence numbers of refs wrap at 2^30 (a table cell holds one plus one in 32 bits). */
const SEQ_SPAN = 2 ** 30;
/** Slots of a ledger's first ring (it doubles as refs come, up to `maxRefs`). */
const FIRST_SLOTS = 1024;

/**
 * A hash of `key` (FNV-1a over its UTF-16 units), 32 bits.
 *
 * @example
 * ```ts
 * keyHash("a") === keyHash("a"); // true
 * ```
 */
function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * The refs of every room of an engine, oldest first, and their bound: past the TTL and past
 * `maxRefs` (a bound that survives any number of rooms and senders), the oldest refs are
 * forgotten. Refs are kept in a ring of parallel arrays (key, room cache, hash, when, offset, ts,
 * text hash), and found through one open-addressing table of their sequence numbers (linear
 * probing, deletion by shifting back): remembering or finding one allocates nothing, and the
 * table never rehashes as refs come and go (a `Map` under that churn rebuilds its tables, and
 * hashes every fresh key string). Each cell holds its ref's key hash next to its sequence number,
 * so that probing and shifting back read the table alone: with 200,000 refs the ring's arrays
 * are megabytes, and a read in them per probed cell was a cache miss.
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
  #keyHash = new Int32Array(0);
  #at = new Float64Array(0);
  #offset = new Float64Array(0);
  #ts = new Float64Array(0);
  #hash = new Float64Array(0);
  /**
   * Cells of two numbers: at `2p`, 0 when empty, else one plus the sequence number of a ref that
   * is its key's latest; at `2p + 1`, that ref's key hash.
   */
  #table = new Int32Array(0);
  #tableMask = -1;
  /** Refs the table holds (their keys' latest). */
  #mapped = 0;
  /** The last key hashed, and its hash (a `get` and the `set` after it hash one key once). */
  #lastKey = "";
  #lastHash = keyHash("");

  /**
   * `ttlMs`: how long a ref lives; `maxRefs`: how many every room together may hold; `seqSpan`:
   * where sequence numbers wrap (a power of two; tests make it small).
   */
  constructor(readonly ttlMs: number, readonly maxRefs = Infinity, readonly seqSpan = SEQ_SPAN) {
    if (!Number.isInteger(Math.log2(seqSpan)) || seqSpan < FIRST_SLOTS || seqSpan > SEQ_SPAN) {
      throw new RangeError(
        `seqSpan must be a power of two from ${FIRST_SLOTS} to ${SEQ_SPAN}, got ${seqSpan}`,
      );
    }
  }

  /** Refs held, every room together (a ref remembered twice counts twice until its first goes). */
  get size(): number {
    return this.#count;
  }

  #hashOf(key: string): number {
    if (key !== this.#lastKey) {
      this.#lastKey = key;
      this.#lastHash = keyHash(key);
    }
    return this.#lastHash;
  }

  /** The table cell of `owner`'s `key`, or the empty cell where it would go (as `-1 - cell`). */
  #find(owner: DedupCache, key: string, h: number): number {
    const table = this.#table;
    const mask = this.#tableMask;
    if (mask < 0) return -1;
    for (let p = h & mask;; p = (p + 1) & mask) {
      const cell = table[2 * p];
      if (cell === 0) return -1 - p;
      if (table[2 * p + 1] !== h) continue;
      const slot = (cell - 1) & this.#mask;
      if (this.#owners[slot] === owner && this.#keys[slot] === key) return p;
    }
  }

  /** The record of `owner`'s `key` while it is held and younger than the TTL at `now`. */
  find(owner: DedupCache, key: string, now: number): AckRecord | undefined {
    const p = this.#find(owner, key, this.#hashOf(key));
    if (p < 0) return undefined;
    const slot = (this.#table[2 * p] - 1) & this.#mask;
    if (now - this.#at[slot] > this.ttlMs) return undefined;
    return { offset: this.#offset[slot], ts: this.#ts[slot], hash: this.#hash[slot] };
  }

  /**
   * Remembers `owner`'s `key` as the newest ref (a key remembered again points at its new ref),
   * forgetting the oldest past `maxRefs`.
   */
  add(owner: DedupCache, key: string, record: AckRecord, at: number): void {
    const h = this.#hashOf(key);
    // The ring holds at most `seqSpan` refs: their sequence numbers must differ.
    while (this.#count >= this.maxRefs || this.#count >= this.seqSpan) {
      if (this.#shift(this.ttlMs)) this.forgotten++;
    }
    if (this.#count === this.#mask + 1) this.#grow();
    const seq = (this.#head + this.#count) % this.seqSpan;
    const slot = seq & this.#mask;
    this.#keys[slot] = key;
    this.#owners[slot] = owner;
    this.#keyHash[slot] = h;
    this.#at[slot] = at;
    this.#offset[slot] = record.offset;
    this.#ts[slot] = record.ts;
    this.#hash[slot] = record.hash;
    this.#count++;
    if (2 * (this.#mapped + 1) > this.#tableMask + 1) this.#growTable();
    const p = this.#find(owner, key, h);
    if (p >= 0) {
      this.#table[2 * p] = seq + 1;
      return;
    }
    this.#table[2 * (-1 - p)] = seq + 1;
    this.#table[2 * (-1 - p) + 1] = h;
    this.#mapped++;
    owner.size++;
  }

  /**
   * Forgets refs older than the TTL, oldest first, so this stops at the first fresh one. A key
   * remembered again left its older ref in the ring: that one goes without touching the table.
   */
  sweep(now: number): void {
    while (this.#count > 0 && now - this.#at[this.#head & this.#mask] > this.ttlMs) {
      this.#shift(0);
    }
  }

  /**
   * Takes the oldest ref out; when it was its key's latest, the key is forgotten (true), and
   * `lifeLeft` (the TTL of a ref forgotten early, 0 when it expired) tells its cache until when it
   * would have answered.
   */
  #shift(lifeLeft: number): boolean {
    const seq = this.#head;
    const slot = seq & this.#mask;
    const owner = this.#owners[slot]!;
    this.#owners[slot] = undefined;
    this.#keys[slot] = undefined;
    this.#head = (seq + 1) % this.seqSpan;
    this.#count--;
    if (!this.#unmap(seq, this.#keyHash[slot])) return false;
    owner.size--;
    if (lifeLeft > 0) {
      owner.forgottenUntil = Math.max(owner.forgottenUntil, this.#at[slot] + lifeLeft);
    }
    return true;
  }

  /** Removes the cell of ref `seq` (hash `h`) when it has one, shifting back the cells after it. */
  #unmap(seq: number, h: number): boolean {
    const table = this.#table;
    const mask = this.#tableMask;
    let i = h & mask;
    while (table[2 * i] !== seq + 1) {
      if (table[2 * i] === 0) return false;
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; table[2 * j] !== 0; j = (j + 1) & mask) {
      const home = table[2 * j + 1] & mask;
      // Cell j may move back to i when its home is not in the cyclic range (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        table[2 * i] = table[2 * j];
        table[2 * i + 1] = table[2 * j + 1];
        i = j;
      }
    }
    table[2 * i] = 0;
    this.#mapped--;
    return true;
  }

  /** Doubles the ring, each held ref moving to the slot its sequence number gives. */
  #grow(): void {
    const slots = Math.min(this.seqSpan, Math.max(FIRST_SLOTS, 2 * (this.#mask + 1)));
    const mask = slots - 1;
    const keys = new Array<string | undefined>(slots);
    const owners = new Array<DedupCache | undefined>(slots);
    const keyHash = new Int32Array(slots);
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
      keyHash[to] = this.#keyHash[from];
      at[to] = this.#at[from];
      offset[to] = this.#offset[from];
      ts[to] = this.#ts[from];
      hash[to] = this.#hash[from];
    }
    this.#mask = mask;
    this.#keys = keys;
    this.#owners = owners;
    this.#keyHash = keyHash;
    this.#at = at;
    this.#offset = offset;
    this.#ts = ts;
    this.#hash = hash;
  }

  /** Doubles the table (at least twice the refs it holds), each cell placed again by its hash. */
  #growTable(): void {
    const cells = Math.max(2 * FIRST_SLOTS, 2 * (this.#tableMask + 1));
    const mask = cells - 1;
    const table = new Int32Array(2 * cells);
    const old = this.#table;
    for (let q = 0; q < old.length; q += 2) {
      if (old[q] === 0) continue;
      let p = old[q + 1] & mask;
      while (table[2 * p] !== 0) p = (p + 1) & mask;
      table[2 * p] = old[q];
      table[2 * p + 1] = old[q + 1];
    }
    this.#table = table;
    this.#tableMask = mask;
  }
}

/**
 * One room's refs, in a {@linkcode RefLedger} (of its own, or shared with other rooms: then the
 * oldest of every room go first past the ledger's bound), forgotten past `ttlMs`.
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
  /** Refs remembered (their keys), kept by the ledger. */
  size = 0;
  /**
   * Until when refs this cache forgot before their TTL (the ledger's bound) would still have
   * answered, in the clock of `set`: a store that also keeps refs elsewhere (on disk) asks there
   * until then. Kept by the ledger.
   */
  forgottenUntil = 0;

  /** `ledger`: the order and bound shared with other rooms (default: one of its own). */
  constructor(ttlMs: number, ledger: RefLedger = new RefLedger(ttlMs)) {
    this.#ledger = ledger;
  }

  /** The original ack of `key`, if it was accepted within the TTL. */
  get(key: string, now: number): AckRecord | undefined {
    return this.#ledger.find(this, key, now);
  }

  /** Remembers `key` (again, if it expired) and forgets refs past their TTL or the bound. */
  set(key: string, record: AckRecord, now: number): void {
    this.#ledger.sweep(now);
    this.#ledger.add(this, key, record, now);
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
