/**
 * `GET /api/rooms?limit=&after=`: the rooms this process knows, by name, with how many are online
 * (across instances with Redis), their offset and epoch; paged: `next` is the `after` of the next
 * page, null on the last.
 *
 * @module
 */

import { apiError, apiJson } from "../../lib/api/api_error.ts";
import { pageLimit } from "../../lib/api/page_limit.ts";
import type { Engine } from "../../lib/engine/engine.ts";
import type { Hub } from "../../lib/hub/hub.ts";
import type { Config } from "../../lib/shared/config.ts";

/** What the rooms endpoint needs. */
export interface RoomsDeps {
  config: Pick<Config, "apiMaxPage">;
  engine: Engine;
  hub: Hub;
}

/** One room of the list. */
export interface RoomEntry {
  room: string;
  online: number;
  offset: number;
  epoch: string;
}

/**
 * Answers a rooms request.
 *
 * @example
 * ```ts
 * app.get("/api/rooms", api, (c) => handleRooms(deps, c.req.raw));
 * ```
 */
export function handleRooms(deps: RoomsDeps, req: Request): Response {
  const query = new URL(req.url).searchParams;
  const limit = pageLimit(query, deps.config.apiMaxPage);
  if (typeof limit === "string") return apiError(400, "invalid_query", limit);
  const after = query.get("after") ?? "";
  const { engine, hub } = deps;
  const names = [...engine.roomNames()].filter((name) => name > after).sort();
  const page = names.slice(0, limit);
  const rooms: RoomEntry[] = [];
  for (const room of page) {
    const position = engine.position(room);
    if (!position) continue;
    rooms.push({
      room,
      online: engine.online(room, hub.localSize(room)),
      offset: position.offset,
      epoch: position.epoch,
    });
  }
  return apiJson({ rooms, next: names.length > limit ? page.at(-1)! : null });
}
