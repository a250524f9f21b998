/**
 * The part of a Deno KV handle the KV engine uses, so that the engine takes the handle as an
 * option (`lib/server` opens it with `Deno.openKv`; tests pass `Deno.openKv(":memory:")`), and
 * the limits of one atomic operation it plans its commits within.
 *
 * @module
 */

/** One part of a key (the subset of Deno KV's key parts the engine uses). */
export type KvKeyPart = string | number;

/** A key: a tuple of parts, compared part by part. */
export type KvKey = readonly KvKeyPart[];

/** An entry as read: its key, its value (null when missing) and its versionstamp. */
export interface KvEntry<T> {
  key: readonly unknown[];
  value: T | null;
  versionstamp: string | null;
}

/** Which keys {@linkcode KvHandle.list} reads: a prefix, or a range `[start, end)`. */
export type KvSelector =
  | { prefix: KvKey }
  | { prefix: KvKey; start: KvKey }
  | { prefix: KvKey; end: KvKey }
  | { start: KvKey; end: KvKey };

/** An atomic operation: checks, then mutations, all applied or none. */
export interface KvAtomic {
  check(...checks: { key: KvKey; versionstamp: string | null }[]): KvAtomic;
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): KvAtomic;
  delete(key: KvKey): KvAtomic;
  /** Adds `n` (0 to 2^64-1) to the `Deno.KvU64` at `key` (0 when missing), modulo 2^64. */
  sum(key: KvKey, n: bigint): KvAtomic;
  commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }>;
}

/**
 * What the KV engine needs of a Deno KV handle; `Deno.Kv` has it.
 *
 * @example
 * ```ts
 * const kv: KvHandle = await Deno.openKv(":memory:");
 * await kv.atomic().set(["a"], 1).commit();
 * ```
 */
export interface KvHandle {
  get<T = unknown>(key: KvKey): Promise<KvEntry<T>>;
  getMany(keys: KvKey[]): Promise<KvEntry<unknown>[]>;
  list<T = unknown>(
    selector: KvSelector,
    options?: { limit?: number; reverse?: boolean; batchSize?: number },
  ): AsyncIterable<{ key: readonly unknown[]; value: T; versionstamp: string }>;
  atomic(): KvAtomic;
  close(): void;
}

/**
 * What one atomic operation may hold, with a margin under Deno KV's limits (1000 mutations, 100
 * checks, 819 200 bytes of keys and values, 81 920 bytes of the keys it sets, 65 536 bytes per
 * value, 10 keys per `getMany`).
 *
 * @example
 * ```ts
 * KV_LIMITS.mutations; // 900
 * ```
 */
export const KV_LIMITS = {
  mutations: 900,
  checks: 90,
  bytes: 700_000,
  /** Bytes of the keys set (or summed) in one operation, as `keySize` counts them. */
  setKeys: 72_000,
  /** Bytes of one stored chunk of a message body. */
  chunkBytes: 60_000,
  getMany: 10,
} as const;

/** Tries of one operation while another connection to the file holds SQLite's lock. */
const LOCK_TRIES = 200;

/** Whether `err` is SQLite's answer that another connection holds the file's lock. */
function locked(err: unknown): boolean {
  return /database is locked/.test(String(err));
}

/**
 * `kv` with every operation tried again (after `wait`, up to 200 times) while SQLite answers
 * `database is locked`: another handle on the same file (another worker's) holds its lock. Such an
 * operation did nothing, so trying it again is safe; a listing is tried again only before its
 * first entry.
 *
 * @example
 * ```ts
 * const kv = lockPatient(await Deno.openKv("data/fanout.sqlite3"), () => new Promise((r) => setTimeout(r, 0)));
 * ```
 */
export function lockPatient(kv: KvHandle, wait: () => Promise<void>): KvHandle {
  const patient = async <T>(op: () => Promise<T>): Promise<T> => {
    for (let tries = 1;; tries++) {
      try {
        return await op();
      } catch (err) {
        if (tries >= LOCK_TRIES || !locked(err)) throw err;
        await wait();
      }
    }
  };
  return {
    get: (key) => patient(() => kv.get(key)),
    getMany: (keys) => patient(() => kv.getMany(keys)),
    list: <T>(selector: KvSelector, options?: Parameters<KvHandle["list"]>[1]) => ({
      async *[Symbol.asyncIterator]() {
        for (let tries = 1;; tries++) {
          let yielded = false;
          try {
            for await (const entry of kv.list<T>(selector, options)) {
              yielded = true;
              yield entry;
            }
            return;
          } catch (err) {
            if (yielded || tries >= LOCK_TRIES || !locked(err)) throw err;
            await wait();
          }
        }
      },
    }),
    atomic: () => {
      const atomic = kv.atomic();
      const commit = atomic.commit.bind(atomic);
      atomic.commit = () => patient(commit);
      return atomic;
    },
    close: () => kv.close(),
  };
}
