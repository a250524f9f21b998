/**
 * `GET /api/stats`: a JSON snapshot of the server. Its size is bounded: the rooms are a count and
 * the `STATS_TOP_ROOMS` busiest, picked in one pass without copying or sorting every room.
 *
 * @module
 */

import type { Engine } from "../../lib/engine/engine.ts";
import type { Hub } from "../../lib/hub/hub.ts";
import type { Config } from "../../lib/shared/config.ts";
import { topRooms } from "../../lib/hub/top_rooms.ts";

/** One of the busiest rooms: its name, how many are online, its last offset (never its epoch). */
export interface RoomStat {
  room: string;
  online: number;
  offset: number;
}

/** What `/api/stats` reads. */
export interface StatsDeps {
  config: Pick<Config, "statsTopRooms">;
  hub: Hub;
  engine: Engine;
  /** Wall clock in epoch ms, and when the server started on it. */
  now: () => number;
  startedAt: number;
}

/** Shape of the `/api/stats` body. */
export interface Stats {
  uptimeSeconds: number;
  engine: string;
  connections: number;
  /** Rooms this process knows, and the busiest of them (most online first, ties by name). */
  rooms: { count: number; top: RoomStat[] };
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
function collectStats(deps: StatsDeps): Stats {
  const { hub, engine } = deps;
  const online = (room: string) => engine.online(room, hub.localSize(room));
  const top = topRooms(engine.roomNames(), online, deps.config.statsTopRooms).map((r) => ({
    ...r,
    offset: engine.position(r.room)?.offset ?? 0,
  }));
  return {
    uptimeSeconds: Math.round((deps.now() - deps.startedAt) / 1000),
    engine: engine.name,
    connections: hub.size,
    rooms: { count: engine.roomCount(), top },
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
export function handleStats(deps: StatsDeps): Response {
  return Response.json(collectStats(deps), { headers: { "cache-control": "no-store" } });
}
