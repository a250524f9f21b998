/**
 * The refs the KV engine keeps on disk, and their bound. The commit that accepts a message with a
 * `ref` writes its record (`["r", room, key]`, with `expireIn`); the commit also writes its refs'
 * rooms and keys in the order they were accepted (`["rt", at, writer, n]`: one entry per commit,
 * or a few when they pass a value's size; an entry per ref would cost every ref another set, about
 * 5 µs in Deno KV) and adds their number to a count (`["rn"]`, a sum). The count is shared by every
 * worker on the file and exact: a trim checks every entry it deletes, so two workers never both
 * take one off the count.
 *
 * Without a bound the refs on disk would grow with the rate of messages times `DEDUP_TTL_MS`
 * (10,000 connections at `RATE_LIMIT`: about 60 M refs, 18 GB). Past `maxRefs` the oldest are
 * deleted, records and all, down to 90 % of it (so that trims are rare); the entries of refs past
 * the TTL are deleted as housekeeping finds them (their records expire by themselves).
 *
 * @module
 */

import { KV_LIMITS, type KvAtomic, type KvHandle, type KvKey } from "./kv_handle.ts";
import { keySize, kvKeys, type KvRef } from "./kv_messages.ts";

/** Share of `maxRefs` a trim over the bound brings the count down to. */
const TRIM_TO = 0.9;
/** Bytes of rooms and keys one entry holds at most (a KV value holds 65,536). */
const ENTRY_BYTES = 60_000;
/** Entries one trim lists at a time. */
const LISTED = 20;
/** What takes `n` off a `Deno.KvU64` sum (which wraps modulo 2^64). */
const minus = (n: number): bigint => (1n << 64n) - BigInt(n);
/** Bytes a ref's room and key take in an entry, at most (V8 serializes a string in 2 per char). */
const partBytes = (room: string, key: string): number => 2 * (room.length + key.length) + 16;

/** A ref to write: its room, its key and its record. */
export interface DiskRef {
  room: string;
  key: string;
  record: KvRef;
}

/** What one ref costs a commit: the bytes of its record's key and value, and of its entry part. */
export interface RefCost {
  recordKey: number;
  all: number;
  /** Bytes its room and key take in an entry, at most. */
  part: number;
}

/**
 * The refs planned into one commit, and what they cost it against {@linkcode KV_LIMITS}: their
 * records, their entries (as many as their parts could need) and the count's sum.
 *
 * @example
 * ```ts
 * const costs = refs.costs();
 * const cost = refs.cost("lobby", "pubAnn\u0000r1");
 * if (costs.with(cost).mutations <= KV_LIMITS.mutations) costs.add(cost);
 * ```
 */
export class RefCosts {
  count = 0;
  #recordKeys = 0;
  #all = 0;
  #parts = 0;

  constructor(readonly entryKey: number) {}

  /** Mutations, bytes of keys and values, and bytes of set keys, with `cost` added (or not). */
  with(cost: RefCost | null): { mutations: number; bytes: number; setKeys: number } {
    const count = this.count + (cost ? 1 : 0);
    if (count === 0) return { mutations: 0, bytes: 0, setKeys: 0 };
    // Entries are filled in order: two in a row hold more than ENTRY_BYTES.
    const entries = Math.floor((2 * (this.#parts + (cost?.part ?? 0))) / ENTRY_BYTES) + 1;
    const sum = keySize(kvKeys.refCount);
    const setKeys = this.#recordKeys + (cost?.recordKey ?? 0) + entries * this.entryKey + sum;
    const bytes = this.#all + (cost?.all ?? 0) + entries * this.entryKey + this.#parts +
      (cost?.part ?? 0) + sum + 16;
    return { mutations: count + entries + 1, bytes, setKeys };
  }

  /** Plans one more ref, of `cost`. */
  add(cost: RefCost): void {
    this.count++;
    this.#recordKeys += cost.recordKey;
    this.#all += cost.all;
    this.#parts += cost.part;
  }
}

/**
 * Writes, counts and bounds the refs of a KV file.
 *
 * @example
 * ```ts
 * const refs = new KvDiskRefs(100_000, 300_000, "w1");
 * const atomic = kv.atomic();
 * refs.write(atomic, [{ room: "lobby", key: "pubAnn\u0000r1", record: { offset: 1, ts: 0, hash: 7, at: 0 } }]);
 * if ((await atomic.commit()).ok) refs.wrote(1);
 * if (refs.over) await refs.trim(kv, Date.now());
 * ```
 */
export class KvDiskRefs {
  /** The count on disk when last read, with what was written since (here or by other workers). */
  #held = 0;
  #forgotten = 0;
  /** Entries this engine wrote: the last part of their key. */
  #written = 0;
  /** Bytes of an entry's key, at most. */
  #entryKey: number;

  /**
   * `maxRefs`: refs on disk at most, every room and worker together; `ttlMs`: their life;
   * `writer`: names this engine in the keys of its entries (unique among the file's engines).
   */
  constructor(readonly maxRefs: number, readonly ttlMs: number, readonly writer: string) {
    this.#entryKey = keySize(kvKeys.refTime(0, writer, 0));
  }

  /** Refs on disk as last known (read by `trim` or `read`, plus the writes told since). */
  get held(): number {
    return this.#held;
  }

  /** Refs this engine deleted from disk before their TTL because more than `maxRefs` were there. */
  get forgotten(): number {
    return this.#forgotten;
  }

  /** Whether more than `maxRefs` refs are on disk, as far as this engine knows. */
  get over(): boolean {
    return this.#held > this.maxRefs;
  }

  /** What the ref `key` of `room` costs a commit. */
  cost(room: string, key: string): RefCost {
    const recordKey = keySize(kvKeys.ref(room, key));
    // The record's value is 4 numbers.
    return { recordKey, all: recordKey + 64, part: partBytes(room, key) };
  }

  /** An empty plan of one commit's refs. */
  costs(): RefCosts {
    return new RefCosts(this.#entryKey);
  }

  /** Adds `refs` to `atomic`: their records, their entries in the order and the count's sum. */
  write(atomic: KvAtomic, refs: DiskRef[]): void {
    if (refs.length === 0) return;
    let part: string[] = [];
    let bytes = 0;
    const entry = () => {
      atomic.set(kvKeys.refTime(refs[0].record.at, this.writer, ++this.#written), part);
      part = [];
      bytes = 0;
    };
    for (const { room, key, record } of refs) {
      atomic.set(kvKeys.ref(room, key), record, { expireIn: this.ttlMs });
      const size = partBytes(room, key);
      if (bytes + size > ENTRY_BYTES && part.length > 0) entry();
      part.push(room, key);
      bytes += size;
    }
    entry();
    atomic.sum(kvKeys.refCount, BigInt(refs.length));
  }

  /** Tells that `count` refs were committed (by this engine or another worker's). */
  wrote(count: number): void {
    this.#held += count;
  }

  /** Reads the count on disk. */
  async read(kv: KvHandle): Promise<number> {
    const counted = (await kv.get<{ value: bigint }>(kvKeys.refCount)).value;
    this.#held = typeof counted?.value === "bigint" ? Number(counted.value) : 0;
    return this.#held;
  }

  /**
   * Deletes, oldest first, the entries of refs past the TTL at `now` (their records expire by
   * themselves) and, while more than `maxRefs` are on disk, live refs down to 90 % of it, records
   * and all: at most `rounds` commits. A commit another worker's trim got ahead of is read again.
   * Resolves to whether some may be left to delete.
   */
  async trim(kv: KvHandle, now: number, rounds = Infinity): Promise<boolean> {
    const expiredBefore = now - this.ttlMs;
    // Once over the bound, live refs go until the count is down to 90 % of it.
    let target = Infinity;
    for (let round = 0; round < rounds; round++) {
      const count = await this.read(kv);
      if (count > this.maxRefs) target = Math.floor(this.maxRefs * TRIM_TO);
      const atomic = kv.atomic();
      let mutations = 1;
      let taken = 0;
      let removed = 0;
      let early = 0;
      for await (
        const entry of kv.list<string[]>({ prefix: kvKeys.refTimes }, { limit: LISTED })
      ) {
        const at = entry.key[1] as number;
        const live = at >= expiredBefore;
        if (live && count - removed <= target) break;
        const parts = entry.value;
        const refs = parts.length / 2;
        // One check per entry: LISTED is under KV_LIMITS.checks.
        if (taken > 0 && mutations + 1 + (live ? refs : 0) > KV_LIMITS.mutations) break;
        taken++;
        atomic.check({ key: entry.key as KvKey, versionstamp: entry.versionstamp });
        atomic.delete(entry.key as KvKey);
        mutations++;
        if (live) {
          // A live ref's record is this entry's: the same ref is never accepted twice meanwhile.
          for (let i = 0; i < parts.length; i += 2) {
            atomic.delete(kvKeys.ref(parts[i], parts[i + 1]));
          }
          mutations += refs;
          early += refs;
        }
        removed += refs;
      }
      if (taken === 0) return false;
      atomic.sum(kvKeys.refCount, minus(removed));
      if ((await atomic.commit()).ok) {
        this.#held = count - removed;
        this.#forgotten += early;
      }
    }
    return true;
  }
}
