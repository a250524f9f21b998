/**
 * Encoding of messages in the Redis engine: the body stored in the stream and sent on the
 * channel, and the decoding of stream entries, channel payloads and script replies.
 *
 * @module
 */

import { contentOf, type Draft, withUser } from "../engine.ts";
import type { ChatMessage, UserInfo } from "../../protocol/frames.ts";

/** A message as it travels through Redis, with its epoch. */
export interface Envelope {
  epoch: string;
  message: ChatMessage;
}

interface Body {
  from: string;
  client: string | null;
  name: string | null;
  text?: string;
  data?: unknown;
  /** Auth mode only. */
  user?: string;
  /** Auth mode only, when the sender's token has one. */
  info?: UserInfo;
}

/**
 * The JSON body of a draft (the parts the Lua script does not fill in).
 *
 * @example
 * ```ts
 * encodeBody({ room: "r", from: "c1", client: null, name: "Ann", text: "hi", ref: null });
 * // '{"from":"c1","client":null,"name":"Ann","text":"hi"}'
 * ```
 */
export function encodeBody(draft: Draft): string {
  const body: Body = {
    from: draft.from,
    client: draft.client,
    name: draft.name,
    ...contentOf(draft),
  };
  if (draft.user !== undefined) body.user = draft.user;
  if (draft.info !== undefined) body.info = draft.info;
  return JSON.stringify(body);
}

/**
 * Builds the message a client sees from its parts.
 *
 * @example
 * ```ts
 * buildMessage("lobby", "e1", 3, 1700000000000, { from: "c1", client: null, name: null, text: "hi" });
 * ```
 */
export function buildMessage(
  room: string,
  epoch: string,
  offset: number,
  ts: number,
  body: Body,
): ChatMessage {
  return withUser({
    type: "message",
    room,
    offset,
    id: `${epoch}-${offset}`,
    from: body.from,
    client: body.client,
    name: body.name,
    ...contentOf(body),
    ts,
  }, body);
}

/**
 * Decodes a channel payload `{"e","o","t","d"}` published by the publish script.
 *
 * @example
 * ```ts
 * decodePayload("lobby", '{"e":"e1","o":1,"t":5,"d":{"from":"c1","client":null,"name":null,"text":"x"}}');
 * ```
 */
export function decodePayload(room: string, payload: string): Envelope {
  const p = JSON.parse(payload) as { e: string; o: number; t: number; d: Body };
  return { epoch: p.e, message: buildMessage(room, p.e, p.o, p.t, p.d) };
}

/**
 * Decodes stream entries (`[id, [field, value, ...]]`, id `<offset>-0`) into messages, sorted by
 * offset.
 *
 * @example
 * ```ts
 * decodeEntries("lobby", "e1", [["1-0", ["d", '{"from":"c1","client":null,"name":null,"text":"x"}', "t", "5"]]]);
 * ```
 */
export function decodeEntries(room: string, epoch: string, entries: unknown): ChatMessage[] {
  if (!Array.isArray(entries)) {
    throw new TypeError(`stream entries must be an array, got ${typeof entries}`);
  }
  const out = entries.map((entry) => {
    const [id, fields] = entry as [string, string[]];
    const get = (name: string) => fields[fields.indexOf(name) + 1];
    const body = JSON.parse(get("d")) as Body;
    return buildMessage(room, epoch, parseInt(String(id), 10), Number(get("t")), body);
  });
  return out.sort((a, b) => a.offset - b.offset);
}
