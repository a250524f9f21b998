/**
 * `GET /api/stats`: a JSON snapshot of the server.
 *
 * @module
 */

import type { AppDeps } from "../../lib/app_deps.ts";

/** Shape of the `/api/stats` body. */
export interface Stats {
  uptimeSeconds: number;
  engine: string;
  connections: number;
  rooms: Record<string, { online: number; offset: number; epoch: string }>;
  messages: { in: number; out: number };
  frames: { out: number };
  errors: Record<string, number>;
}

/**
 * Collects the stats.
 *
 * @example
 * ```ts
 * collectStats(deps).connections; // 3
 * ```
 */
export function collectStats(deps: AppDeps): Stats {
  const { hub, engine } = deps;
  const local = hub.roomSizes();
  const rooms: Stats["rooms"] = {};
  for (const [name, pos] of engine.positions()) {
    rooms[name] = {
      online: engine.online(name, local.get(name) ?? 0),
      offset: pos.offset,
      epoch: pos.epoch,
    };
  }
  return {
    uptimeSeconds: Math.round((deps.now() - deps.startedAt) / 1000),
    engine: engine.name,
    connections: hub.size,
    rooms,
    messages: { in: hub.metrics.messagesIn, out: hub.metrics.messagesOut },
    frames: { out: hub.metrics.framesOut },
    errors: Object.fromEntries(hub.metrics.rejected),
  };
}

/**
 * Answers `/api/stats`.
 *
 * @example
 * ```ts
 * app.get("/api/stats", () => handleStats(deps));
 * ```
 */
export function handleStats(deps: AppDeps): Response {
  return Response.json(collectStats(deps), { headers: { "cache-control": "no-store" } });
}
