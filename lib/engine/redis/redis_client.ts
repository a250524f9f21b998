/**
 * The npm:redis clients of the Redis engine: how they are configured, and the reconnection
 * backoff.
 *
 * @module
 */

import { createClient } from "redis";

/**
 * Default reconnection delay: 50 ms doubling up to 2 s, plus up to 20 % jitter.
 *
 * @example
 * ```ts
 * redisBackoff(0, () => 0); // 50
 * redisBackoff(10, () => 0); // 2000
 * ```
 */
export function redisBackoff(retries: number, random: () => number = Math.random): number {
  const base = Math.min(50 * 2 ** retries, 2000);
  return Math.round(base * (1 + random() * 0.2));
}

/**
 * A client as the link configures it: fail fast while disconnected (no offline queue), connect
 * within `timeoutMs`, reconnect after `backoff(n)`.
 *
 * @example
 * ```ts
 * const client = newRedisClient("redis://127.0.0.1:6379", 2000, (n) => redisBackoff(n));
 * ```
 */
export function newRedisClient(url: string, timeoutMs: number, backoff: (n: number) => number) {
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: backoff },
  });
}

/** An npm:redis client made by {@linkcode newRedisClient}. */
export type RedisClient = ReturnType<typeof newRedisClient>;
