/**
 * The refs the KV engine keeps on disk, and their bound. Each ref is written three ways in the
 * commit that accepts its message: its record (`["r", room, key]`, with `expireIn`), an entry in
 * the order refs were accepted (`["rt", at, writer, n]`, holding the room and the key: a short key,
 * as Deno KV limits the bytes of the keys one operation sets) and one more in the count of those
 * entries (`["rn"]`, a sum). The count is shared by every worker on the file and exact: each
 * deletion checks the entry it removes, so two workers never both take one off the count.
 *
 * Without a bound the refs on disk would grow with the rate of messages times `DEDUP_TTL_MS`
 * (10,000 connections at `RATE_LIMIT`: about 60 M refs, 18 GB). Past `maxRefs` the oldest are
 * deleted, down to 90 % of it (so that trims are rare); entries past the TTL are deleted as
 * housekeeping finds them.
 *
 * @module
 */

import { KV_LIMITS, type KvAtomic, type KvHandle, type KvKey } from "./kv_handle.ts";
import { keySize, kvKeys, type KvRef } from "./kv_messages.ts";

/** Share of `maxRefs` a trim over the bound brings the count down to. */
const TRIM_TO = 0.9;
/** Entries one trim commit deletes: each may check its entry and its ref record. */
const PER_COMMIT = Math.floor(KV_LIMITS.checks / 2);
/** What takes `n` off a `Deno.KvU64` sum (which wraps modulo 2^64). */
const minus = (n: number): bigint => (1n << 64n) - BigInt(n);

/** An entry of the order as listed: its key, versionstamp, time, and the ref's room and key. */
interface Listed {
  key: KvKey;
  stamp: string;
  at: number;
  room: string;
  ref: string;
}

/**
 * Writes, counts and bounds the refs of a KV file.
 *
 * @example
 * ```ts
 * const refs = new KvDiskRefs(100_000, 300_000, "w1");
 * const atomic = kv.atomic();
 * refs.write(atomic, "lobby", "pubAnn\u0000r1", { offset: 1, ts: 0, hash: 7, at: 0 });
 * refs.count(atomic, 1);
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

  /**
   * Bytes one ref adds to an atomic operation: `keys`, of the keys it sets (its record's, its
   * entry's and the count's, see `KV_LIMITS.setKeys`); `all`, of those keys and their values.
   */
  bytes(room: string, key: string): { keys: number; all: number } {
    const record = keySize(kvKeys.ref(room, key));
    const keys = record + this.#entryKey + keySize(kvKeys.refCount);
    // The record's value is 4 numbers; the entry's, the room and the key.
    return { keys, all: keys + 64 + record };
  }

  /** Mutations `count` refs add to one atomic operation (the count's sum included). */
  static mutations(count: number): number {
    return count === 0 ? 0 : 2 * count + 1;
  }

  /** Adds a ref to `atomic`: its record and its entry in the order (then {@linkcode count}). */
  write(atomic: KvAtomic, room: string, key: string, record: KvRef): void {
    atomic.set(kvKeys.ref(room, key), record, { expireIn: this.ttlMs });
    atomic.set(kvKeys.refTime(record.at, this.writer, ++this.#written), [room, key]);
  }

  /** Adds to `atomic` the count of the refs it writes, `count` (none: nothing). */
  count(atomic: KvAtomic, count: number): void {
    if (count > 0) atomic.sum(kvKeys.refCount, BigInt(count));
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
   * Deletes, oldest first, the refs past the TTL at `now` and, while more than `maxRefs` are on
   * disk, live ones down to 90 % of it: at most `rounds` commits of up to 45. A commit another
   * worker's trim got ahead of is read again. Resolves to whether some may be left to delete.
   */
  async trim(kv: KvHandle, now: number, rounds = Infinity): Promise<boolean> {
    const expiredBefore = now - this.ttlMs;
    // Once over the bound, live refs go until the count is down to 90 % of it.
    let target = Infinity;
    for (let round = 0; round < rounds; round++) {
      const count = await this.read(kv);
      if (count > this.maxRefs) target = Math.floor(this.maxRefs * TRIM_TO);
      const batch: Listed[] = [];
      const listed = kv.list<[string, string]>({ prefix: kvKeys.refTimes }, {
        limit: PER_COMMIT,
      });
      for await (const entry of listed) {
        const at = entry.key[1] as number;
        if (at >= expiredBefore && count - batch.length <= target) break;
        const [room, ref] = entry.value;
        batch.push({ key: entry.key as KvKey, stamp: entry.versionstamp, at, room, ref });
      }
      if (batch.length === 0) return false;
      const groups = [];
      for (let i = 0; i < batch.length; i += KV_LIMITS.getMany) {
        const group = batch.slice(i, i + KV_LIMITS.getMany);
        groups.push(kv.getMany(group.map((b) => kvKeys.ref(b.room, b.ref))));
      }
      const records = (await Promise.all(groups)).flat();
      const atomic = kv.atomic();
      let early = 0;
      for (const [i, b] of batch.entries()) {
        atomic.check({ key: b.key, versionstamp: b.stamp }).delete(b.key);
        // The record this entry was written with (a later one of the same key stays).
        const record = records[i];
        if ((record.value as KvRef | null)?.at === b.at) {
          const key = kvKeys.ref(b.room, b.ref);
          atomic.check({ key, versionstamp: record.versionstamp }).delete(key);
        }
        if (b.at >= expiredBefore) early++;
      }
      atomic.sum(kvKeys.refCount, minus(batch.length));
      if ((await atomic.commit()).ok) {
        this.#held = count - batch.length;
        this.#forgotten += early;
      }
    }
    return true;
  }
}
