/**
 * `POST /api/disconnect`: `{user | client | connection, reconnect?, reason?}` → `{closed}`: closes
 * the matching connections on this instance (`closed` counts them) and, through the engine, on
 * every other instance (with Redis: a command on `<prefix>:commands`, carried out on arrival). `reconnect: true` closes with 4401 (get a new token, then reconnect:
 * the application decides again what it grants); by default 4403 (do not reconnect: a banned
 * user's client stops instead of coming back in a loop).
 *
 * @module
 */

import { apiError, apiJson } from "../../lib/api/api_error.ts";
import { readJsonBody } from "../../lib/api/read_json_body.ts";
import type { DisconnectSelector, Hub } from "../../lib/hub/hub.ts";
import type { Engine } from "../../lib/engine/engine.ts";
import { Close } from "../../lib/protocol/close_codes.ts";
import { controlCharProblem } from "../../lib/protocol/control_chars.ts";

/** What the disconnect endpoint needs. */
export interface DisconnectDeps {
  hub: Hub;
  engine: Engine;
}

/** Longest close reason: a close frame holds 123 bytes of it. */
const MAX_REASON_BYTES = 120;
const FIELDS = ["user", "client", "connection", "reconnect", "reason"];

/**
 * Answers a disconnect request.
 *
 * @example
 * ```ts
 * app.post("/api/disconnect", api, (c) => handleDisconnect(deps, c.req.raw));
 * ```
 */
export async function handleDisconnect(deps: DisconnectDeps, req: Request): Promise<Response> {
  const body = await readJsonBody(req, 4096);
  if (!body.ok) return body.response;
  const obj = body.value;
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    return apiError(400, "invalid_body", "the body must be a JSON object");
  }
  const fields = obj as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !FIELDS.includes(key));
  if (unknown !== undefined) {
    return apiError(
      400,
      "invalid_body",
      `unknown field ${JSON.stringify(unknown.slice(0, 40))}; expected ${FIELDS.join(", ")}`,
    );
  }
  const given = ["user", "client", "connection"].filter((key) => fields[key] !== undefined);
  if (given.length !== 1) {
    return apiError(400, "invalid_body", "name exactly one of user, client or connection");
  }
  const key = given[0];
  const value = fields[key];
  if (typeof value !== "string" || value.length === 0 || value.length > 128) {
    return apiError(400, "invalid_body", `"${key}" must be a string of 1-128 characters`);
  }
  const reconnect = fields.reconnect ?? false;
  if (typeof reconnect !== "boolean") {
    return apiError(400, "invalid_body", '"reconnect" must be true or false');
  }
  const reason = fields.reason ?? (reconnect ? "reconnect with a new token" : "disconnected");
  if (
    typeof reason !== "string" || new TextEncoder().encode(reason).length > MAX_REASON_BYTES ||
    controlCharProblem(reason) !== null
  ) {
    return apiError(
      400,
      "invalid_body",
      `"reason" must be text of at most ${MAX_REASON_BYTES} bytes without control characters`,
    );
  }
  const who = { [key]: value } as DisconnectSelector;
  const code = reconnect ? Close.tokenExpired : Close.forbidden;
  const closed = deps.hub.disconnect(who, code, reason);
  try {
    // The other instances (Redis) close theirs when the command reaches them, within moments.
    await deps.engine.command({ kind: "disconnect", ...who, code, reason });
  } catch {
    return apiError(
      503,
      "unavailable",
      `closed ${closed} connection(s) on this instance, but the other instances could not be told; retry`,
    );
  }
  return apiJson({ closed });
}
