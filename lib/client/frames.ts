/**
 * Wire helpers of the client core: the socket URL with its query, the `subscribe` frame, and the
 * NDJSON frame parser.
 *
 * @module
 */

import { parseHandshake } from "../protocol/handshake.ts";
import type { ServerFrame } from "../protocol/frames.ts";

/** What goes into the query of the `/ws` URL. */
export interface SocketQuery {
  room: string;
  name: string | null;
  /** The private client key (the server derives the public id from it). */
  client: string;
  /** Resume position: both set, or both null. */
  since: number | null;
  epoch: string | null;
}

/**
 * Builds the socket URL from a base like `ws://localhost:8000/ws`, keeping any query the base
 * already has. Throws a `TypeError` naming the value when the URL or a query value is invalid
 * (checked with the server's own handshake rules, so a bad room never loops on HTTP 400).
 *
 * @example
 * ```ts
 * socketUrl("ws://h/ws", { room: "dev", name: null, client: "abcdefgh", since: 3, epoch: "e1" });
 * // "ws://h/ws?room=dev&client=abcdefgh&since=3&epoch=e1"
 * ```
 */
export function socketUrl(base: string, query: SocketQuery): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TypeError(`url must be an absolute ws:// or wss:// URL, got ${JSON.stringify(base)}`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new TypeError(`url must use ws:// or wss://, got ${JSON.stringify(base)}`);
  }
  const q = url.searchParams;
  q.set("room", query.room);
  if (query.name !== null) q.set("name", query.name);
  else q.delete("name");
  q.set("client", query.client);
  if (query.since !== null && query.epoch !== null) {
    q.set("since", String(query.since));
    q.set("epoch", query.epoch);
  } else {
    q.delete("since");
    q.delete("epoch");
  }
  const checked = parseHandshake(url);
  if (!checked.ok) throw new TypeError(checked.reason);
  return url.href;
}

/**
 * The `subscribe` frame of `room`, resuming from `resume` when given; its `ref` is `sub:<room>`,
 * so that a refusal (an `error` with that ref) names the subscribe it answers.
 *
 * @example
 * ```ts
 * subscribeFrame("news", { since: 5, epoch: "e1" });
 * // '{"type":"subscribe","room":"news","since":5,"epoch":"e1","ref":"sub:news"}'
 * ```
 */
export function subscribeFrame(
  room: string,
  resume: { since: number; epoch: string } | null,
): string {
  const ref = subscribeRef(room);
  return JSON.stringify(
    resume
      ? { type: "subscribe", room, since: resume.since, epoch: resume.epoch, ref }
      : { type: "subscribe", room, ref },
  );
}

/**
 * The `ref` of the `subscribe` frame of `room`.
 *
 * @example
 * ```ts
 * subscribeRef("news"); // "sub:news"
 * ```
 */
export function subscribeRef(room: string): string {
  return `sub:${room}`;
}

/**
 * Splits one text frame of the server into its NDJSON lines and parses each. Empty lines and
 * lines that are not JSON objects with a string `type` are skipped.
 *
 * @example
 * ```ts
 * parseServerFrames('{"type":"pong","t":1}\n{"type":"ack","ref":"r","offset":2,"ts":3}');
 * // [{ type: "pong", t: 1 }, { type: "ack", ref: "r", offset: 2, ts: 3 }]
 * ```
 */
export function parseServerFrames(data: string): ServerFrame[] {
  const out: ServerFrame[] = [];
  for (const line of data.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (
      typeof value === "object" && value !== null && !Array.isArray(value) &&
      typeof (value as { type?: unknown }).type === "string"
    ) out.push(value as ServerFrame);
  }
  return out;
}
