/**
 * The npm:redis clients of the Redis engine: how they are configured, and the reconnection
 * backoff.
 *
 * @module
 */

import type { Backoff } from "../../shared/backoff.ts";

/** npm:redis's `createClient`, once {@linkcode loadRedis} has loaded the package. */
let createClient: typeof import("redis").createClient | null = null;

/**
 * Loads npm:redis (once). Only a server that uses Redis pays for the package: importing it costs
 * about 8 MB of heap, 30 MB of RSS and a quarter of a second at start.
 *
 * @example
 * ```ts
 * await loadRedis();
 * const client = newRedisClient("redis://127.0.0.1:6379", 2000, () => 50);
 * ```
 */
export async function loadRedis(): Promise<void> {
  createClient ??= (await import("redis")).createClient;
}

/**
 * Reconnection delays of the Redis clients: 50 ms doubling up to 2 s, plus up to 20 % jitter.
 *
 * @example
 * ```ts
 * backoffDelay(0, REDIS_BACKOFF, () => 0); // 50
 * ```
 */
export const REDIS_BACKOFF: Backoff = { baseMs: 50, capMs: 2000, jitter: 0.2 };

/**
 * A client as the link configures it: fail fast while disconnected (no offline queue), connect
 * within `timeoutMs`, reconnect after `backoff(n)`. Needs {@linkcode loadRedis} first.
 *
 * @example
 * ```ts
 * const client = newRedisClient("redis://127.0.0.1:6379", 2000, (n) => backoffDelay(n, REDIS_BACKOFF, Math.random));
 * ```
 */
export function newRedisClient(url: string, timeoutMs: number, backoff: (n: number) => number) {
  if (createClient === null) throw new Error("npm:redis is not loaded: await loadRedis() first");
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: backoff },
  });
}

/** An npm:redis client made by {@linkcode newRedisClient}. */
export type RedisClient = ReturnType<typeof newRedisClient>;
