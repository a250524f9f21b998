/**
 * What the routes need from the running server, gathered in one object so tests can build it
 * with fakes.
 *
 * @module
 */

import type { Config } from "./config.ts";
import type { Engine } from "./engine.ts";
import type { Hub } from "./hub.ts";
import type { Logger } from "./log.ts";

/** Upgrades a request to a WebSocket; `Deno.upgradeWebSocket` in production. */
export type Upgrade = (
  req: Request,
  options: { protocol?: string; idleTimeout?: number },
) => { socket: WebSocket; response: Response };

/** Process memory in bytes, as far as the runtime tells. */
export interface MemoryUsage {
  rss: number;
  heapUsed: number;
}

/** Shared state of the routes. */
export interface AppDeps {
  config: Config;
  hub: Hub;
  engine: Engine;
  logger: Logger;
  upgrade: Upgrade;
  /** Reads process memory (default: zeros, so the core needs no runtime API). */
  memory: () => MemoryUsage;
  /** Wall clock in epoch ms. */
  now: () => number;
  startedAt: number;
  /** Set when shutdown begins: `/healthz` answers 503 and `/ws` refuses new sockets. */
  lifecycle: { draining: boolean };
}
