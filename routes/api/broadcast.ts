/**
 * `POST /api/broadcast`: one message into several rooms, `{rooms: [...], text?, data?, ref?,
 * name?, info?}` → 200 `{results: [...]}`, one result per room in the order given: a room that
 * fails (an invalid name, a full server, the engine down) does not hide the others'. At most
 * `API_MAX_BROADCAST_ROOMS` rooms per call.
 *
 * @module
 */

import { apiError, apiJson } from "../../lib/api/api_error.ts";
import { bodyLimit } from "../../lib/api/body_limit.ts";
import { parseMessageBody } from "../../lib/api/message_body.ts";
import { type Published, publishMessage } from "../../lib/api/publish_message.ts";
import { readJsonBody } from "../../lib/api/read_json_body.ts";
import { ROOM_PATTERN } from "../../lib/protocol/handshake.ts";
import type { PublishDeps } from "./messages.ts";

/** The result of one room of a broadcast. */
export type BroadcastResult =
  & { room: string; status: number }
  & (Partial<Published> | { error: { code: string; message: string } });

/**
 * Publishes the request's message into every room it names.
 *
 * @example
 * ```ts
 * app.post("/api/broadcast", api, (c) => handleBroadcast(deps, c.req.raw));
 * ```
 */
export async function handleBroadcast(deps: PublishDeps, req: Request): Promise<Response> {
  const max = deps.config.apiMaxBroadcastRooms;
  const body = await readJsonBody(req, bodyLimit(deps.config, max));
  if (!body.ok) return body.response;
  const parsed = parseMessageBody(body.value, deps.config, ["rooms"]);
  if (!parsed.ok) {
    const { status, code, message } = parsed.refusal;
    return apiError(status, code, message);
  }
  const rooms = (body.value as { rooms?: unknown }).rooms;
  if (!Array.isArray(rooms) || rooms.length === 0) {
    return apiError(400, "invalid_body", '"rooms" must be a non-empty array of room names');
  }
  if (rooms.length > max) {
    return apiError(
      400,
      "invalid_body",
      `"rooms" names ${rooms.length} rooms, at most ${max} (API_MAX_BROADCAST_ROOMS)`,
    );
  }
  if (new Set(rooms).size !== rooms.length) {
    return apiError(400, "invalid_body", '"rooms" names a room twice');
  }
  const results: BroadcastResult[] = [];
  for (const room of rooms) {
    if (typeof room !== "string" || !ROOM_PATTERN.test(room)) {
      const shown = typeof room === "string" ? JSON.stringify(room.slice(0, 40)) : typeof room;
      results.push({
        room: String(room).slice(0, 64),
        status: 400,
        error: {
          code: "invalid_room",
          message: `room must be 1-64 characters of a-z, 0-9, _ and -, got ${shown}`,
        },
      });
      continue;
    }
    const outcome = await publishMessage(deps.engine, room, parsed.message);
    if (outcome.status === 201) deps.hub.metrics.messagesIn++;
    results.push({ ...outcome.body, room, status: outcome.status } as BroadcastResult);
  }
  return apiJson({ results });
}
