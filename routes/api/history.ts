/**
 * `GET /api/rooms/{room}/history?since=&epoch=&limit=`: a room's history with the semantics of a
 * resume. With `since`+`epoch` of the room's current epoch and a gap still kept: the messages after
 * `since`, oldest first, at most `limit` (`more: true` when others follow: ask again from the
 * last offset), `recovered: true`. Otherwise the newest `limit` messages, `recovered: false`.
 *
 * @module
 */

import { apiError, apiJson } from "../../lib/api/api_error.ts";
import { pageLimit } from "../../lib/api/page_limit.ts";
import type { Engine } from "../../lib/engine/engine.ts";
import type { Config } from "../../lib/shared/config.ts";
import { roomProblem } from "./messages.ts";

/** What the history endpoint needs. */
export interface HistoryDeps {
  config: Pick<Config, "apiMaxPage">;
  engine: Engine;
}

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Answers a history request.
 *
 * @example
 * ```ts
 * app.get("/api/rooms/:room/history", api, (c) => handleHistory(deps, c.req.raw, c.req.param("room")));
 * ```
 */
export async function handleHistory(
  deps: HistoryDeps,
  req: Request,
  room: string,
): Promise<Response> {
  const bad = roomProblem(room);
  if (bad) return bad;
  const query = new URL(req.url).searchParams;
  const limit = pageLimit(query, deps.config.apiMaxPage);
  if (typeof limit === "string") return apiError(400, "invalid_query", limit);
  const since = query.get("since");
  const epoch = query.get("epoch");
  if ((since === null) !== (epoch === null)) {
    return apiError(400, "invalid_query", "since and epoch go together: send both or neither");
  }
  let resume: { since: number; epoch: string } | null = null;
  if (since !== null && epoch !== null) {
    if (!/^\d{1,15}$/.test(since)) {
      return apiError(
        400,
        "invalid_query",
        `since must be a whole number, got ${JSON.stringify(since.slice(0, 20))}`,
      );
    }
    if (!EPOCH.test(epoch)) {
      return apiError(
        400,
        "invalid_query",
        `epoch must be 1-64 of A-Z a-z 0-9 _ -, got ${JSON.stringify(epoch.slice(0, 20))}`,
      );
    }
    resume = { since: Number(since), epoch };
  }
  if (deps.engine.admission(room) === "full") {
    return apiError(503, "unavailable", "the server holds its maximum of rooms (MAX_ROOMS)");
  }
  let recovery;
  try {
    recovery = await deps.engine.recover(room, resume, limit);
  } catch {
    return apiError(503, "unavailable", "the history could not be read; retry later");
  }
  const more = recovery.history.length > limit;
  const messages = more ? recovery.history.slice(0, limit) : recovery.history;
  return apiJson({
    room,
    epoch: recovery.epoch,
    offset: recovery.offset,
    recovered: recovery.recovered,
    messages,
    more,
  });
}
