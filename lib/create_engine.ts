/**
 * Picks the engine for a config: in-memory by default.
 *
 * @module
 */

import type { Config } from "./config.ts";
import type { Engine } from "./engine.ts";
import type { Logger } from "./log.ts";
import { MemoryEngine } from "./memory_engine.ts";

/**
 * Creates the engine the config asks for.
 *
 * @example
 * ```ts
 * createEngine(loadConfig({}), { logger: silentLogger }).name; // "memory"
 * ```
 */
export function createEngine(
  config: Config,
  options: { logger: Logger; now?: () => number },
): Engine {
  if (config.redisUrl !== null) {
    options.logger.warn("engine.redis_unavailable", {
      reason: "the Redis engine is not built yet; using memory",
    });
  }
  return new MemoryEngine({
    historySize: config.historySize,
    dedupTtlMs: config.dedupTtlMs,
    roomTtlMs: config.roomTtlMs,
    now: options.now,
  });
}
