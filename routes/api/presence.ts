/**
 * `GET /api/rooms/{room}/presence?limit=`: who is in a room across every instance, `{room, online,
 * members: [{id, user?, name, info?, client}]}`; `online` is the full count, `members` at most
 * `limit` (100 by default, `API_MAX_PAGE` at most), this instance's first.
 *
 * @module
 */

import { apiError, apiJson } from "../../lib/api/api_error.ts";
import { pageLimit } from "../../lib/api/page_limit.ts";
import type { Engine } from "../../lib/engine/engine.ts";
import type { Hub } from "../../lib/hub/hub.ts";
import type { Config } from "../../lib/shared/config.ts";
import { roomProblem } from "./messages.ts";

/** What the presence endpoint needs. */
export interface PresenceDeps {
  config: Pick<Config, "apiMaxPage">;
  engine: Engine;
  hub: Hub;
}

/**
 * Answers a presence request.
 *
 * @example
 * ```ts
 * app.get("/api/rooms/:room/presence", api, (c) => handlePresence(deps, c.req.raw, c.req.param("room")));
 * ```
 */
export async function handlePresence(
  deps: PresenceDeps,
  req: Request,
  room: string,
): Promise<Response> {
  const bad = roomProblem(room);
  if (bad) return bad;
  const limit = pageLimit(new URL(req.url).searchParams, deps.config.apiMaxPage);
  if (typeof limit === "string") return apiError(400, "invalid_query", limit);
  try {
    const { online, members } = await deps.engine.members(room, limit, deps.hub.localSize(room));
    return apiJson({ room, online, members });
  } catch {
    return apiError(503, "unavailable", "the members could not be read; retry later");
  }
}
