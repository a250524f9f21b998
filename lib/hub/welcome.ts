/**
 * The welcome frame a joining connection gets first.
 *
 * @module
 */

import type { Recovery } from "../engine/engine.ts";
import type { ServerLimits, WelcomeFrame } from "../protocol/frames.ts";

/** Who is joining, as the welcome needs it. */
export interface Joiner {
  id: string;
  room: string;
  /** Public client id (never the private key), null without one. */
  client: string | null;
}

/** A welcome ready to send, and what was left out of its history to fit. */
export interface EncodedWelcome {
  /** The welcome frame as JSON. */
  json: string;
  /** False when a recovered resume had to be cut (then answered like a lost gap). */
  recovered: boolean;
  /** Messages of the history left out to keep the frame within its byte cap. */
  dropped: number;
}

/** UTF-8 bytes of `text`, counted without encoding it. */
function utf8Bytes(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) i++, n += 2;
    else n += 2;
  }
  return n;
}

/**
 * Builds the welcome as JSON within `maxBytes` (UTF-8). Its history never holds what this very
 * connection sent before its welcome (the sender has those as acks). A resumed join
 * (`since`+`epoch`) also leaves out the client's own earlier messages (same public `client` id),
 * which it already has; a fresh join keeps them, so a reloaded page shows what it sent. `client`
 * tells the joiner its public id. When the history does not fit, its newest messages that fit
 * are kept; a recovered resume cut that way becomes `recovered: false` (the client treats it as a
 * gap), because a welcome must never exceed what a connection may have queued.
 *
 * @example
 * ```ts
 * encodeWelcome({ id: "c1", room: "lobby", client: null }, recovery, 3, limits, false, 1 << 21);
 * // { json: '{"type":"welcome",...}', recovered: false, dropped: 0 }
 * ```
 */
export function encodeWelcome(
  joiner: Joiner,
  recovery: Recovery,
  online: number,
  limits: ServerLimits,
  resumed: boolean,
  maxBytes: number,
): EncodedWelcome {
  const own = resumed ? joiner.client : null;
  const history = recovery.history.filter((m) =>
    m.from !== joiner.id && (own === null || m.client !== own)
  );
  const frame: WelcomeFrame = {
    type: "welcome",
    id: joiner.id,
    client: joiner.client,
    room: joiner.room,
    epoch: recovery.epoch,
    offset: recovery.offset,
    online,
    recovered: recovery.recovered,
    history: [],
    limits,
  };
  const base = JSON.stringify(frame);
  if (history.length === 0) return { json: base, recovered: recovery.recovered, dropped: 0 };
  const parts: string[] = [];
  let bytes = utf8Bytes(base);
  for (let i = history.length - 1; i >= 0; i--) {
    const part = JSON.stringify(history[i]);
    const size = utf8Bytes(part) + 1;
    if (bytes + size > maxBytes) break;
    parts.push(part);
    bytes += size;
  }
  const dropped = history.length - parts.length;
  frame.recovered = recovery.recovered && dropped === 0;
  const json = JSON.stringify(frame);
  const at = json.lastIndexOf('"history":[]') + '"history":['.length;
  return {
    json: json.slice(0, at) + parts.reverse().join(",") + json.slice(at),
    recovered: frame.recovered,
    dropped,
  };
}
