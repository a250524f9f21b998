/**
 * The head of an HTTP/1.1 request: found in the bytes read so far and parsed strictly (CRLF line
 * ends, token header names, no line folding, no ambiguous body framing), within a size cap.
 * Pure and linear in the size of the head: no regular expression that can backtrack.
 *
 * @module
 */

/** A parsed request head. Header names are lower-cased; values are trimmed. */
export interface RequestHead {
  method: string;
  /** The request target as sent (`/ws?room=a`, or an absolute URL). */
  target: string;
  /** `1.1` or `1.0`. */
  version: "1.0" | "1.1";
  headers: [string, string][];
  /** Bytes the head took, CRLF CRLF included. */
  size: number;
}

/** The refusal of a head: the status to answer and the reason. */
export interface HeadError {
  status: 400 | 431 | 501 | 505;
  reason: string;
}

/** Result of {@linkcode parseRequestHead}: the head, a refusal, or null while incomplete. */
export type HeadResult = { ok: true; head: RequestHead } | { ok: false; error: HeadError } | null;

/** Most header lines in one request. */
export const MAX_HEADER_COUNT = 100;

const CR = 13;
const LF = 10;

// tchar of RFC 9110: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** Field values: visible characters, spaces and tabs, and obs-text; no controls. */
function isFieldValue(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return false;
  }
  return true;
}

/** `text` without the spaces and tabs around it (OWS); other characters are kept. */
function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return text.slice(start, end);
}

const ascii = new TextDecoder();

/**
 * `bytes[0..end)` as Latin-1 (every byte one character, so positions match and nothing can fail
 * to decode); the usual all-ASCII head takes the native decoder.
 */
function latin1(bytes: Uint8Array, end: number): string {
  let high = false;
  for (let i = 0; i < end; i++) {
    if (bytes[i] >= 0x80) {
      high = true;
      break;
    }
  }
  if (!high) return ascii.decode(bytes.subarray(0, end));
  let text = "";
  for (let i = 0; i < end; i += 4096) {
    text += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, Math.min(i + 4096, end))));
  }
  return text;
}

function bad(reason: string): HeadResult {
  return { ok: false, error: { status: 400, reason } };
}

/**
 * Index just past the first CRLF CRLF in `bytes[from..end)`, or -1. `from` lets a caller resume
 * the search where the previous one stopped (minus 3 bytes) instead of rescanning.
 *
 * @example
 * ```ts
 * headEnd(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"), 0, 18); // 18
 * ```
 */
export function headEnd(bytes: Uint8Array, from: number, end: number): number {
  for (let i = Math.max(0, from); i + 3 < end; i++) {
    if (bytes[i] === CR && bytes[i + 1] === LF && bytes[i + 2] === CR && bytes[i + 3] === LF) {
      return i + 4;
    }
  }
  return -1;
}

/**
 * Parses the head at the start of `bytes[0..end)`. Returns null while the head is incomplete and
 * within `maxBytes`; a 431 once it is longer; a 400 for anything malformed.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
 * parseRequestHead(bytes, bytes.length, 16384);
 * // { ok: true, head: { method: "GET", target: "/healthz", version: "1.1", headers: [["host", "a"]], size: 35 } }
 * ```
 */
export function parseRequestHead(
  bytes: Uint8Array,
  end: number,
  maxBytes: number,
  searchFrom = 0,
): HeadResult {
  const stop = headEnd(bytes, searchFrom, Math.min(end, maxBytes));
  if (stop < 0) {
    // Refuse at once what cannot become a request (a TLS hello on the plain port, binary junk):
    // the method, up to its first space, must be token characters.
    for (let i = 0; i < end && i < 32; i++) {
      const c = bytes[i];
      if (c === 32) break;
      if (c >= 128 || TCHAR[c] === 0) return bad("not an HTTP request");
    }
    if (end >= maxBytes) {
      return {
        ok: false,
        error: { status: 431, reason: `request head is larger than ${maxBytes} bytes` },
      };
    }
    return null;
  }
  const text = latin1(bytes, stop - 4);
  const lines = text.split("\r\n");
  const requestLine = lines[0];
  const first = requestLine.indexOf(" ");
  const last = requestLine.lastIndexOf(" ");
  if (first <= 0 || last === first) return bad("malformed request line");
  const method = requestLine.slice(0, first);
  const target = requestLine.slice(first + 1, last);
  const protocol = requestLine.slice(last + 1);
  if (!isToken(method)) return bad("malformed request method");
  if (target.length === 0 || target.includes(" ") || !isFieldValue(target)) {
    return bad("malformed request target");
  }
  if (protocol !== "HTTP/1.1" && protocol !== "HTTP/1.0") {
    if (protocol.startsWith("HTTP/")) {
      return {
        ok: false,
        error: { status: 505, reason: `unsupported protocol ${protocol.slice(0, 16)}` },
      };
    }
    return bad("malformed request line");
  }
  if (lines.length - 1 > MAX_HEADER_COUNT) {
    return {
      ok: false,
      error: { status: 431, reason: `more than ${MAX_HEADER_COUNT} header lines` },
    };
  }
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.includes("\n") || line.includes("\r")) return bad("bare CR or LF in the request head");
    if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) {
      return bad("folded header lines are not accepted");
    }
    const colon = line.indexOf(":");
    if (colon <= 0) return bad("malformed header line");
    const name = line.slice(0, colon);
    if (!isToken(name)) return bad(`malformed header name ${JSON.stringify(name.slice(0, 40))}`);
    const value = trimOws(line.slice(colon + 1));
    if (!isFieldValue(value)) return bad(`control character in header ${name.toLowerCase()}`);
    headers.push([name.toLowerCase(), value]);
  }
  return {
    ok: true,
    head: {
      method,
      target,
      version: protocol === "HTTP/1.1" ? "1.1" : "1.0",
      headers,
      size: stop,
    },
  };
}

/** How the body of a request is framed. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" };

/**
 * Decides how the body is framed, refusing what could be read two ways (request smuggling):
 * `Transfer-Encoding` other than exactly `chunked`, both it and `Content-Length`, or several
 * different lengths.
 *
 * @example
 * ```ts
 * bodyFraming([["content-length", "5"]]); // { ok: true, framing: { kind: "length", length: 5 } }
 * ```
 */
export function bodyFraming(
  headers: [string, string][],
): { ok: true; framing: BodyFraming } | { ok: false; error: HeadError } {
  let length: string | null = null;
  let encoding: string | null = null;
  for (const [name, value] of headers) {
    if (name === "content-length") {
      for (const part of value.split(",")) {
        const v = trimOws(part);
        if (length !== null && length !== v) {
          return {
            ok: false,
            error: { status: 400, reason: "conflicting content-length headers" },
          };
        }
        length = v;
      }
    } else if (name === "transfer-encoding") {
      if (encoding !== null) {
        return { ok: false, error: { status: 400, reason: "several transfer-encoding headers" } };
      }
      encoding = value.toLowerCase();
    }
  }
  if (encoding !== null) {
    if (length !== null) {
      return {
        ok: false,
        error: { status: 400, reason: "both transfer-encoding and content-length" },
      };
    }
    if (encoding !== "chunked") {
      return {
        ok: false,
        error: { status: 501, reason: `unsupported transfer-encoding ${encoding.slice(0, 40)}` },
      };
    }
    return { ok: true, framing: { kind: "chunked" } };
  }
  if (length === null) return { ok: true, framing: { kind: "none" } };
  if (!/^\d{1,15}$/.test(length)) {
    return { ok: false, error: { status: 400, reason: "malformed content-length" } };
  }
  const n = Number(length);
  return { ok: true, framing: n === 0 ? { kind: "none" } : { kind: "length", length: n } };
}
