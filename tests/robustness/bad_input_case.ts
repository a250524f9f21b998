/**
 * What a case of the bad-input matrix is (the frames to send and the answer they must get), the
 * server limits the matrix runs under, and the builders its JSON-mode and plain-mode halves use.
 *
 * @module
 */

import { type FrameSpec, Op } from "../helpers/raw_ws.ts";

/**
 * The message size limit of the matrix's server, in bytes.
 *
 * @example
 * ```ts
 * text("p".repeat(MAX + 1)); // one byte over
 * ```
 */
export const MAX = 1024;
/**
 * Environment of the matrix's server: the size limit and a rate limit that no case reaches.
 *
 * @example
 * ```ts
 * const srv = await startTestServer(LIMITS);
 * ```
 */
export const LIMITS = {
  MAX_MESSAGE_BYTES: String(MAX),
  RATE_LIMIT: "5",
  RATE_BURST: "5",
  RATE_LIMIT_CLOSE_AFTER: "20",
};

/**
 * What a case must produce.
 *
 * @example
 * ```ts
 * const expect: Expect = { error: "too_large" };
 * ```
 */
export type Expect =
  | { error: string } // JSON error frame with this code; the connection survives
  | { plainError: RegExp } // plain-mode `error: ...` frame; the connection survives
  | { accepted: string } // acknowledged and broadcast with this text
  | { pong: number | null } // answered, not broadcast
  | { close: number } // closed by the server with this code
  | { dropped: true }; // the runtime drops the TCP connection (no close frame)

/**
 * One row of the matrix: the frames a raw client sends (in plain mode when `plain`) and what
 * they must produce.
 *
 * @example
 * ```ts
 * const expect: Expect = { error: "invalid_json" };
 * const row: FrameCase = { name: "not JSON", frames: [text("hi")], expect };
 * ```
 */
export interface FrameCase {
  name: string;
  plain?: boolean;
  frames: FrameSpec[];
  expect: Expect;
}

/**
 * A masked text frame (final unless `fin` is false).
 *
 * @example
 * ```ts
 * text('{"type":"mess', false); // the first fragment of a message
 * ```
 */
export const text = (payload: string | Uint8Array, fin = true): FrameSpec => ({
  opcode: Op.text,
  payload,
  fin,
});
/**
 * A JSON-mode message frame's text with `t` as its text (any JSON value) and `extra` fields.
 *
 * @example
 * ```ts
 * msg("x", { ref: 7 }); // '{"type":"message","text":"x","ref":7}'
 * ```
 */
export const msg = (t: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: "message", text: t, ...extra });
/**
 * A message frame of exactly `bytes` UTF-8 bytes.
 *
 * @example
 * ```ts
 * new TextEncoder().encode(sized(MAX + 1)).length; // 1025
 * ```
 */
export const sized = (bytes: number) => msg("a".repeat(bytes - msg("").length));
/**
 * A text whose message frame is exactly {@linkcode MAX} bytes.
 *
 * @example
 * ```ts
 * msg(AT_LIMIT).length === MAX; // true
 * ```
 */
export const AT_LIMIT = "a".repeat(MAX - msg("").length);
