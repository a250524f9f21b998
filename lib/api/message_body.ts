/**
 * The message an API request publishes: `{text?, data?, ref?, name?, info?}` checked by the same
 * rules as a socket's message (`checkMessage`), plus the name and info a backend may give it.
 * Pure: the route turns a refusal into its response.
 *
 * @module
 */

import type { ApiErrorCode } from "./api_error.ts";
import { checkMessage, MAX_REF_LENGTH, type UserInfo } from "../protocol/frames.ts";
import { exceedsDepth } from "../protocol/json_depth.ts";
import { validName } from "../protocol/names.ts";
import { exceedsBytes } from "../shared/text_size.ts";

/** A message to publish, checked. */
export interface ApiMessage {
  text?: string;
  data?: unknown;
  ref: string | null;
  name: string | null;
  info?: UserInfo;
}

/** Limits of {@linkcode parseMessageBody}. */
export interface MessageBodyLimits {
  maxMessageBytes: number;
  maxDataDepth: number;
  maxInfoBytes: number;
}

/** A refusal: the status, code and sentence of the API error. */
export interface BodyRefusal {
  status: 400 | 413;
  code: ApiErrorCode;
  message: string;
}

/** Deepest nesting of `info` (as for a token's `info`). */
const MAX_INFO_DEPTH = 8;

const MESSAGE_FIELDS = ["text", "data", "ref", "name", "info"];

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

const refuse = (message: string, code: ApiErrorCode = "invalid_body", status: 400 | 413 = 400) => ({
  status,
  code,
  message,
});

/**
 * Checks a parsed request body as a message; `extra` names the other fields the endpoint takes
 * (`rooms` for a broadcast). Unknown fields are refused, so a typo never goes unnoticed.
 *
 * @example
 * ```ts
 * parseMessageBody({ data: { order: 42 }, ref: "o42" }, limits);
 * // { ok: true, message: { data: { order: 42 }, ref: "o42", name: null } }
 * ```
 */
export function parseMessageBody(
  value: unknown,
  limits: MessageBodyLimits,
  extra: string[] = [],
): { ok: true; message: ApiMessage } | { ok: false; refusal: BodyRefusal } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, refusal: refuse(`the body must be a JSON object, got ${describe(value)}`) };
  }
  const obj = value as Record<string, unknown>;
  const allowed = [...MESSAGE_FIELDS, ...extra];
  const unknown = Object.keys(obj).find((key) => !allowed.includes(key));
  if (unknown !== undefined) {
    return {
      ok: false,
      refusal: refuse(
        `unknown field ${JSON.stringify(unknown.slice(0, 40))}; expected ${allowed.join(", ")}`,
      ),
    };
  }
  const content = checkMessage(obj, limits.maxDataDepth);
  if ("code" in content) {
    const code = content.code === "too_deep" ? "too_deep" : "invalid_body";
    return { ok: false, refusal: refuse(content.message, code) };
  }
  if (exceedsBytes(JSON.stringify(content), limits.maxMessageBytes)) {
    return {
      ok: false,
      refusal: refuse(
        `the message (text and data) is over MAX_MESSAGE_BYTES, ${limits.maxMessageBytes} bytes`,
        "too_large",
        413,
      ),
    };
  }
  const ref = obj.ref;
  if (
    ref !== undefined &&
    (typeof ref !== "string" || ref.length === 0 || ref.length > MAX_REF_LENGTH)
  ) {
    return {
      ok: false,
      refusal: refuse(
        `"ref" must be a string of 1-${MAX_REF_LENGTH} characters, got ${describe(ref)}`,
      ),
    };
  }
  let name: string | null = null;
  if (obj.name !== undefined) {
    name = typeof obj.name === "string" ? validName(obj.name) : null;
    if (name === null) {
      return {
        ok: false,
        refusal: refuse('"name" must be 1-32 characters without control or bidi characters'),
      };
    }
  }
  const message: ApiMessage = { ...content, ref: (ref as string | undefined) ?? null, name };
  if (obj.info !== undefined) {
    const info = obj.info;
    if (typeof info !== "object" || info === null || Array.isArray(info)) {
      return { ok: false, refusal: refuse(`"info" must be a JSON object, got ${describe(info)}`) };
    }
    const bytes = new TextEncoder().encode(JSON.stringify(info)).length;
    if (bytes > limits.maxInfoBytes) {
      return {
        ok: false,
        refusal: refuse(
          `"info" is ${bytes} bytes, at most ${limits.maxInfoBytes} (MAX_INFO_BYTES)`,
        ),
      };
    }
    if (exceedsDepth(info, MAX_INFO_DEPTH)) {
      return {
        ok: false,
        refusal: refuse(`"info" is nested deeper than ${MAX_INFO_DEPTH} levels`),
      };
    }
    message.info = info as UserInfo;
  }
  return { ok: true, message };
}
