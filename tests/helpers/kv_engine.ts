/**
 * Test helpers for the KV engine: an engine started on a handle with the messages and resets it
 * told, a handle that counts the atomic operations committed and the lists read through it, and a
 * temporary KV file.
 *
 * @module
 */

import { KvEngine, type KvEngineOptions } from "../../lib/engine/kv/kv_engine.ts";
import type { KvAtomic, KvHandle } from "../../lib/engine/kv/kv_handle.ts";
import type { Draft } from "../../lib/engine/engine.ts";
import type { ChatMessage } from "../../lib/protocol/frames.ts";

/**
 * A draft into `room` from Ann (public id `pubAnn`), no ref unless `extra` gives one.
 *
 * @example
 * ```ts
 * await engine.publish(kvDraft("lobby", "hi", { ref: "r1" }));
 * ```
 */
export function kvDraft(room: string, text: string, extra: Partial<Draft> = {}): Draft {
  return { room, from: "c1", client: "pubAnn", name: "Ann", text, ref: null, ...extra };
}

/**
 * A `KvEngine` on `kv`, started, with the messages and resets (`room:epoch`) it told.
 *
 * @example
 * ```ts
 * const { engine, received } = await startedKvEngine(await Deno.openKv(":memory:"));
 * ```
 */
export async function startedKvEngine(
  kv: KvHandle,
  options: Partial<KvEngineOptions> = {},
): Promise<{ engine: KvEngine; received: ChatMessage[]; resets: string[] }> {
  const received: ChatMessage[] = [];
  const resets: string[] = [];
  const engine = new KvEngine({
    kv,
    historySize: 1000,
    dedupTtlMs: 60_000,
    roomTtlMs: 60_000,
    ...options,
  });
  await engine.start({
    message: (m) => received.push(m),
    reset: (r, e) => resets.push(`${r}:${e}`),
  });
  return { engine, received, resets };
}

/**
 * `kv`, counting the atomic operations committed and the lists read through it.
 *
 * @example
 * ```ts
 * const { kv, commits, lists } = countingKv(await Deno.openKv(":memory:"));
 * ```
 */
export function countingKv(
  kv: KvHandle,
): { kv: KvHandle; commits: () => number; lists: () => number } {
  let commits = 0;
  let lists = 0;
  return {
    kv: {
      get: (key) => kv.get(key),
      getMany: (keys) => kv.getMany(keys),
      list: (selector, options) => (lists++, kv.list(selector, options)),
      atomic: (): KvAtomic => {
        const atomic = kv.atomic();
        const commit = atomic.commit.bind(atomic);
        atomic.commit = () => (commits++, commit());
        return atomic;
      },
      close: () => kv.close(),
    },
    commits: () => commits,
    lists: () => lists,
  };
}

/**
 * A path for a KV file in a new temporary folder, and what removes that folder.
 *
 * @example
 * ```ts
 * const tmp = await kvTempPath();
 * const kv = await Deno.openKv(tmp.path);
 * kv.close();
 * await tmp.remove();
 * ```
 */
export async function kvTempPath(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "fanout_kv_" });
  return { path: `${dir}/kv.sqlite3`, remove: () => Deno.remove(dir, { recursive: true }) };
}
