/**
 * Publishes an API message through the engine, the same path as a socket's message: stored in
 * history, delivered to every member (every instance with Redis), idempotent by `ref`. API
 * messages come `from: "api"`, with no client id, and the `name` and `info` the backend gave.
 *
 * @module
 */

import { type Draft, type Engine, epochOf } from "../engine/engine.ts";
import type { ApiMessage } from "./message_body.ts";
import type { ApiErrorBody } from "./api_error.ts";

/** The `from` of every message the API publishes. */
export const API_SENDER = "api";

/** What a publish answers: 201 for a new message, 200 for a known `ref`. */
export interface Published {
  room: string;
  epoch: string;
  offset: number;
  id: string;
  ts: number;
  /** True when the `ref` was already accepted: nothing was sent again. */
  duplicate?: true;
}

/** The outcome of {@linkcode publishMessage}: a status and its JSON body. */
export type PublishOutcome =
  | { status: 201 | 200; body: Published }
  | { status: 409 | 503; body: ApiErrorBody };

/**
 * Publishes `message` into `room`. A room the engine cannot take (`MAX_ROOMS` held, none idle)
 * and an engine that fails answer 503; a `ref` used before for another message, 409.
 *
 * @example
 * ```ts
 * const outcome = await publishMessage(engine, "orders", { data: { id: 42 }, ref: "o42", name: null });
 * outcome.status; // 201
 * ```
 */
export async function publishMessage(
  engine: Engine,
  room: string,
  message: ApiMessage,
): Promise<PublishOutcome> {
  if (engine.admission(room) === "full") {
    return unavailable("the server holds its maximum of rooms (MAX_ROOMS); retry later");
  }
  const draft: Draft = {
    room,
    from: API_SENDER,
    client: null,
    name: message.name,
    ref: message.ref,
  };
  if (message.text !== undefined) draft.text = message.text;
  if (Object.hasOwn(message, "data")) draft.data = message.data;
  if (message.info !== undefined) draft.info = message.info;
  let result;
  try {
    result = await engine.publish(draft);
  } catch {
    return unavailable("the message could not be stored; it was not sent, retry later");
  }
  if (result.status === "conflict") {
    return {
      status: 409,
      body: {
        error: {
          code: "ref_conflict",
          message: `ref ${JSON.stringify(message.ref)} was already used for another message; ` +
            "send it with a new ref",
        },
      },
    };
  }
  if (result.status === "accepted") {
    const m = result.message;
    const epoch = epochOf(m);
    return { status: 201, body: { room, epoch, offset: m.offset, id: m.id, ts: m.ts } };
  }
  const { offset, ts } = result;
  let epoch = engine.position(room)?.epoch;
  if (epoch === undefined) {
    try {
      epoch = (await engine.recover(room, null, 0)).epoch;
    } catch {
      epoch = "";
    }
  }
  return {
    status: 200,
    body: { room, epoch, offset, id: `${epoch}-${offset}`, ts, duplicate: true },
  };
}

function unavailable(message: string): PublishOutcome {
  return { status: 503, body: { error: { code: "unavailable", message } } };
}
