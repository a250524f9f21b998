/**
 * Encoding of messages in the Redis engine: the body stored in the stream and sent on the
 * channel, and the decoding of stream entries, channel payloads and script replies.
 *
 * @module
 */

import { type Draft, messageOf, type StoredBody, storedBody } from "../engine.ts";
import type { ChatMessage } from "../../protocol/frames.ts";
import type { Envelope } from "../room_feed.ts";

type Body = StoredBody;

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
  return JSON.stringify(storedBody(draft));
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
  return { epoch: p.e, message: messageOf(room, p.e, p.o, p.t, p.d) };
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
    return messageOf(room, epoch, parseInt(String(id), 10), Number(get("t")), body);
  });
  return out.sort((a, b) => a.offset - b.offset);
}
