/**
 * `POST /api/rooms/{room}/messages`: an application's backend publishes one message into a room,
 * `{text?, data?, ref?, name?, info?}` → 201 `{room, epoch, offset, id, ts}` (200 with
 * `duplicate: true` for a `ref` already accepted). The same engine path as a socket's message.
 *
 * @module
 */

import { apiError, apiJson } from "../../lib/api/api_error.ts";
import { bodyLimit } from "../../lib/api/body_limit.ts";
import { parseMessageBody } from "../../lib/api/message_body.ts";
import { publishMessage } from "../../lib/api/publish_message.ts";
import { readJsonBody } from "../../lib/api/read_json_body.ts";
import type { Engine } from "../../lib/engine/engine.ts";
import type { Hub } from "../../lib/hub/hub.ts";
import { ROOM_PATTERN } from "../../lib/protocol/handshake.ts";
import type { Config } from "../../lib/shared/config.ts";

/** What the publishing endpoints need. */
export interface PublishDeps {
  config: Pick<
    Config,
    "maxMessageBytes" | "maxDataDepth" | "maxInfoBytes" | "apiMaxBroadcastRooms"
  >;
  engine: Engine;
  hub: Hub;
}

/**
 * The 400 for a room name that breaks the rule, or null.
 *
 * @example
 * ```ts
 * roomProblem("Lobby"); // Response 400 invalid_room
 * ```
 */
export function roomProblem(room: string): Response | null {
  if (ROOM_PATTERN.test(room)) return null;
  const shown = JSON.stringify(room.length > 40 ? `${room.slice(0, 40)}…` : room);
  return apiError(
    400,
    "invalid_room",
    `room must be 1-64 characters of a-z, 0-9, _ and -, got ${shown}`,
  );
}

/**
 * Publishes the request's message into `room`.
 *
 * @example
 * ```ts
 * app.post("/api/rooms/:room/messages", api, (c) => handlePublish(deps, c.req.raw, c.req.param("room")));
 * ```
 */
export async function handlePublish(
  deps: PublishDeps,
  req: Request,
  room: string,
): Promise<Response> {
  const bad = roomProblem(room);
  if (bad) {
    await req.body?.cancel();
    return bad;
  }
  const body = await readJsonBody(req, bodyLimit(deps.config));
  if (!body.ok) return body.response;
  const parsed = parseMessageBody(body.value, deps.config);
  if (!parsed.ok) {
    const { status, code, message } = parsed.refusal;
    return apiError(status, code, message);
  }
  const outcome = await publishMessage(deps.engine, room, parsed.message);
  if (outcome.status === 201) deps.hub.metrics.messagesIn++;
  return apiJson(outcome.body, outcome.status);
}
