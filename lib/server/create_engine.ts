/**
 * Picks the engine for a config: Redis when `REDIS_URL` is set, in-memory otherwise.
 *
 * @module
 */

import type { Config } from "./config.ts";
import type { Engine } from "../engine/engine.ts";
import type { Logger } from "../shared/log.ts";
import { MemoryEngine } from "../engine/memory/memory_engine.ts";
import { RedisEngine } from "../engine/redis/redis_engine.ts";

/**
 * Creates the engine the config asks for.
 *
 * @example
 * ```ts
 * createEngine(loadConfig({}), { logger: silentLogger }).name; // "memory"
 * createEngine(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }), { logger }).name; // "redis"
 * ```
 */
export function createEngine(
  config: Config,
  options: { logger: Logger; now?: () => number },
): Engine {
  const common = {
    historySize: config.historySize,
    dedupTtlMs: config.dedupTtlMs,
    roomTtlMs: config.roomTtlMs,
    now: options.now,
  };
  if (config.redisUrl !== null) {
    return new RedisEngine({
      ...common,
      maxRooms: config.maxRooms,
      historyReadBytes: 2 * config.maxBufferedBytes,
      now: options.now ?? Date.now,
      url: config.redisUrl,
      logger: options.logger,
      keyPrefix: config.redisKeyPrefix,
      commandTimeoutMs: config.redisTimeoutMs,
      presenceTtlMs: config.presenceTtlMs,
    });
  }
  return new MemoryEngine({
    ...common,
    historyBytes: config.historyBytes,
    roomHistoryBytes: config.roomHistoryBytes,
    maxRooms: config.maxRooms,
  });
}
