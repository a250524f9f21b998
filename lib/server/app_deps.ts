/**
 * What the routes need from the running server, gathered in one object so tests can build it
 * with fakes.
 *
 * @module
 */

import type { Config } from "../shared/config.ts";
import type { Engine } from "../engine/engine.ts";
import type { Hub } from "../hub/hub.ts";
import type { UpgradedSocket } from "../hub/connection.ts";
import type { Logger } from "../shared/log.ts";
import type { InboundBudget } from "../transport/ws_frames.ts";

/**
 * Upgrades a request to a WebSocket: Fanout's own server for requests it read, else
 * `Deno.upgradeWebSocket` (under `deno serve`).
 */
export type Upgrade = (
  req: Request,
  options: { protocol?: string; idleTimeout?: number },
) => { socket: UpgradedSocket; response: Response };

/** What the server tells a handler about the connection (the shape `Deno.serve` gives). */
export interface RequestInfo {
  remoteAddr: { hostname?: string; port?: number; transport?: string };
}

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
  /** Bytes every WebSocket reader holds for incomplete messages, against `INBOUND_MEMORY_MB`. */
  inbound: InboundBudget;
  /** What the listener holds, once one serves the app (not under `deno serve`). */
  transport: { connections(): number } | null;
}
