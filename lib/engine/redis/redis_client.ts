/**
 * The npm:redis clients of the Redis engine: how they are configured, and the reconnection
 * backoff.
 *
 * @module
 */

import { createClient } from "redis";
import type { Backoff } from "../../shared/backoff.ts";

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
 * within `timeoutMs`, reconnect after `backoff(n)`.
 *
 * @example
 * ```ts
 * const client = newRedisClient("redis://127.0.0.1:6379", 2000, (n) => backoffDelay(n, REDIS_BACKOFF, Math.random));
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
