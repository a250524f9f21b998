/**
 * Decides what to do with one incoming frame: the size limit, binary frames, the rate limit
 * and parsing, in that order. Pure: the hub carries the decision out.
 *
 * @module
 */

import { Close } from "../protocol/close_codes.ts";
import { type ErrorCode, parseClientFrame, parsePlainFrame } from "../protocol/frames.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { exceedsBytes } from "../shared/text_size.ts";

/** What the hub does with a frame. */
export type Intake =
  | { kind: "message"; text: string; ref: string | null }
  | { kind: "ping"; t: number | null }
  | { kind: "reject"; code: ErrorCode; message: string; ref?: string }
  | { kind: "close"; code: number; reason: ErrorCode; sentence: string };

/** The connection as intake sees it. */
export interface IntakeConnection {
  readonly json: boolean;
  readonly limiter: RateLimiter;
}

/** Limits that apply to incoming frames. */
export interface IntakeLimits {
  maxMessageBytes: number;
  rateLimit: number;
}

const FAR_OVER = 4;

function tooBig(): Intake {
  return {
    kind: "close",
    code: Close.tooBig,
    reason: "too_large",
    sentence: "frame far over the size limit",
  };
}

/**
 * Takes a rate token for any frame (refused ones too, so a flood of binary or oversized frames is
 * limited like any other); returns the refusal when there is none left, else null.
 */
function overRate(conn: IntakeConnection, limits: IntakeLimits, ref?: string): Intake | null {
  if (conn.limiter.take()) return null;
  if (conn.limiter.abusive) {
    return {
      kind: "close",
      code: Close.policy,
      reason: "rate_limited",
      sentence: "rate limit exceeded",
    };
  }
  const message = `too many frames: at most ${limits.rateLimit} per second`;
  return ref === undefined
    ? { kind: "reject", code: "rate_limited", message }
    : { kind: "reject", code: "rate_limited", message, ref };
}

/**
 * Classifies one frame. Frames over 4× `maxMessageBytes` (in UTF-8 bytes) close the connection
 * (1009) without taking a token; everything else takes one.
 *
 * @example
 * ```ts
 * takeFrame(conn, '{"type":"ping","t":1}', { maxMessageBytes: 65536, rateLimit: 20 });
 * // { kind: "ping", t: 1 }
 * ```
 */
export function takeFrame(
  conn: IntakeConnection,
  data: string | ArrayBuffer | Blob,
  limits: IntakeLimits,
): Intake {
  const max = limits.maxMessageBytes;
  if (typeof data !== "string") {
    const size = data instanceof Blob ? data.size : data.byteLength;
    if (size > FAR_OVER * max) return tooBig();
    return overRate(conn, limits) ?? {
      kind: "reject",
      code: "unsupported_binary",
      message: "binary frames are not supported; send UTF-8 text",
    };
  }
  if (exceedsBytes(data, max)) {
    if (exceedsBytes(data, FAR_OVER * max)) return tooBig();
    return overRate(conn, limits) ?? {
      kind: "reject",
      code: "too_large",
      message: `frame is larger than the limit of ${max} bytes`,
    };
  }
  const parsed = conn.json ? parseClientFrame(data) : parsePlainFrame(data);
  const ref = parsed.ok
    ? (parsed.frame.type === "message" ? parsed.frame.ref : undefined)
    : parsed.error.ref;
  const refused = overRate(conn, limits, ref);
  if (refused) return refused;
  if (!parsed.ok) return { kind: "reject", ...parsed.error };
  const frame = parsed.frame;
  if (frame.type === "ping") return { kind: "ping", t: frame.t };
  return { kind: "message", text: frame.text, ref: frame.ref ?? null };
}
