/**
 * Validation of the `/ws` handshake: query parameters and the Origin header.
 *
 * @module
 */

/** What a client asked for when it connected, as its query says. */
export interface HandshakeQuery {
  room: string;
  name: string | null;
  /**
   * The client's private key (`client=`): it scopes the client's identity and is never shown to
   * anyone; `identify` (lib/hub/public_id.ts) turns it into the public id. Null without one.
   */
  key: string | null;
  /** Present when the client resumes after a disconnect. */
  resume: { since: number; epoch: string } | null;
}

/** A handshake as the hub takes it: the private key replaced by its public id. */
export interface Handshake {
  room: string;
  name: string | null;
  /**
   * Public client id derived from the key (`identify` in lib/hub/public_id.ts), null without a key:
   * broadcast as `message.client`, and the scope of `ref`s and of the welcome's own messages.
   */
  client: string | null;
  /** Present when the client resumes after a disconnect. */
  resume: { since: number; epoch: string } | null;
}

/** Result of {@linkcode parseHandshake}: the values, or the reason for a 400. */
export type HandshakeResult = { ok: true; value: HandshakeQuery } | { ok: false; reason: string };

/**
 * What a room name may be: 1-64 of `a-z 0-9 _ -` (the same rule for the server, the page and
 * the clients).
 *
 * @example
 * ```ts
 * ROOM_PATTERN.test("team-42"); // true
 * ROOM_PATTERN.test("Team 42"); // false
 * ```
 */
export const ROOM_PATTERN = /^[a-z0-9_-]{1,64}$/;

/**
 * The path clients open their WebSocket on (`GET /ws?room=...`).
 *
 * @example
 * ```ts
 * new URL(WS_PATH, "http://localhost:8000/"); // http://localhost:8000/ws
 * ```
 */
export const WS_PATH = "/ws";
const CLIENT = /^[A-Za-z0-9_-]{8,64}$/;
const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;
// Control characters, and the bidi marks, embeddings, overrides and isolates.
const FORBIDDEN_IN_NAME = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
/** Longest display name, in characters after trimming. */
export const MAX_NAME_CHARS = 32;

function shown(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** The query of an absolute URL, with its `?` ("" without one), as `URL.search` reads it. */
function searchOf(url: string): string {
  const at = url.indexOf("?");
  if (at < 0) return "";
  const hash = url.indexOf("#", at);
  return hash < 0 ? url.slice(at) : url.slice(at, hash);
}

/** Reads a query's fields as `URLSearchParams.get` does. */
interface QueryReader {
  get(name: string): string | null;
}

/**
 * A query with nothing to decode (no `%`, no `+`): its fields are its text, read in one pass (the
 * first of a name counts). Five fields read this way cost a fraction of a `URLSearchParams`, which
 * parses in the runtime.
 */
class PlainQuery implements QueryReader {
  #fields = new Map<string, string>();

  constructor(search: string) {
    let at = search.charCodeAt(0) === 63 /* ? */ ? 1 : 0;
    while (at < search.length) {
      let end = search.indexOf("&", at);
      if (end < 0) end = search.length;
      if (end > at) {
        const eq = search.indexOf("=", at);
        const name = eq < 0 || eq > end ? search.slice(at, end) : search.slice(at, eq);
        const value = eq < 0 || eq > end ? "" : search.slice(eq + 1, end);
        if (!this.#fields.has(name)) this.#fields.set(name, value);
      }
      at = end + 1;
    }
  }

  get(name: string): string | null {
    return this.#fields.get(name) ?? null;
  }
}

/** The fields of `search` (a URL's query, with or without its `?`). */
function queryOf(search: string): QueryReader {
  return search.includes("%") || search.includes("+")
    ? new URLSearchParams(search)
    : new PlainQuery(search);
}

/**
 * Validates the query of a `/ws` request.
 *
 * @example
 * ```ts
 * parseHandshake(new URL("ws://h/ws?room=dev&name=Ann"));
 * // { ok: true, value: { room: "dev", name: "Ann", key: null, resume: null } }
 * ```
 */
export function parseHandshake(url: URL | string): HandshakeResult {
  const q = queryOf(typeof url === "string" ? searchOf(url) : url.search);
  const room = q.get("room") ?? "lobby";
  if (!ROOM_PATTERN.test(room)) {
    return {
      ok: false,
      reason: `room must be 1-64 characters of a-z, 0-9, _ and -, got ${shown(room)}`,
    };
  }
  let name: string | null = null;
  const rawName = q.get("name");
  if (rawName !== null) {
    name = rawName.trim();
    const chars = [...name].length;
    if (chars < 1 || chars > MAX_NAME_CHARS) {
      return {
        ok: false,
        reason: `name must be 1-${MAX_NAME_CHARS} characters after trimming, got ${chars}`,
      };
    }
    if (FORBIDDEN_IN_NAME.test(name)) {
      return {
        ok: false,
        reason: `name must not contain control or bidi-override characters, got ${shown(name)}`,
      };
    }
  }
  const key = q.get("client");
  if (key !== null && !CLIENT.test(key)) {
    return {
      ok: false,
      reason: `client must be 8-64 characters of A-Z, a-z, 0-9, _ and -, got ${shown(key)}`,
    };
  }
  const since = q.get("since");
  const epoch = q.get("epoch");
  if ((since === null) !== (epoch === null)) {
    return { ok: false, reason: "since and epoch must be given together to resume" };
  }
  let resume: Handshake["resume"] = null;
  if (since !== null && epoch !== null) {
    const offset = Number(since);
    if (!/^\d{1,15}$/.test(since) || !Number.isSafeInteger(offset)) {
      return { ok: false, reason: `since must be a non-negative integer, got ${shown(since)}` };
    }
    if (!EPOCH.test(epoch)) {
      return {
        ok: false,
        reason: `epoch must be 1-64 characters of A-Z, a-z, 0-9, _ and -, got ${shown(epoch)}`,
      };
    }
    resume = { since: offset, epoch };
  }
  return { ok: true, value: { room, name, key, resume } };
}

/**
 * Where browsers may connect from: the `Config` fields {@linkcode originAllowed} reads.
 *
 * @example
 * ```ts
 * const policy: OriginPolicy = { publicOrigins: ["https://chat.example.com"], allowedOrigins: [] };
 * ```
 */
export interface OriginPolicy {
  /** `PUBLIC_URL`, as origins. */
  publicOrigins: readonly string[];
  /** `ALLOWED_ORIGINS`, as origins, or `*`. */
  allowedOrigins: readonly string[];
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Whether a `Host` header names this machine in a way DNS rebinding cannot fake: `localhost`, a
 * `*.localhost` name, or an IP literal (IPv4, or IPv6 in brackets), with an optional port, in
 * the canonical form a browser sends. A rebinding attack always goes through a domain name.
 *
 * @example
 * ```ts
 * rebindingProofHost("127.0.0.1:8000"); // true
 * rebindingProofHost("evil.test:8000"); // false
 * ```
 */
export function rebindingProofHost(host: string): boolean {
  let url: URL;
  try {
    url = new URL(`http://${host}`);
  } catch {
    return false;
  }
  if (url.host !== host) return false; // not canonical: user info, a path, capitals, ...
  const name = url.hostname;
  return name === "localhost" || name.endsWith(".localhost") || name.startsWith("[") ||
    IPV4.test(name);
}

/**
 * Decides whether a browser origin may connect. Requests without `Origin` (console clients,
 * servers) always may. Otherwise the origin must be one of `PUBLIC_URL` or `ALLOWED_ORIGINS`
 * (`*` allows every origin). With neither set, only `http://` + the request's `Host` is allowed,
 * and only when that host is `localhost`, a `*.localhost` name or an IP literal: comparing with
 * a domain name in `Host` would let a DNS-rebinding page in (its `Host` is the attacker's name).
 *
 * @example
 * ```ts
 * const none = { publicOrigins: [], allowedOrigins: [] };
 * originAllowed("http://127.0.0.1:8000", "127.0.0.1:8000", none); // true
 * originAllowed("http://evil.test:8000", "evil.test:8000", none); // false: set PUBLIC_URL
 * const pub = { ...none, publicOrigins: ["https://chat.example"] };
 * originAllowed("https://chat.example", "10.0.0.5", pub); // true: behind a proxy
 * ```
 */
export function originAllowed(
  origin: string | null,
  host: string | null,
  policy: OriginPolicy,
): boolean {
  if (origin === null) return true;
  const { publicOrigins, allowedOrigins } = policy;
  if (publicOrigins.length > 0 || allowedOrigins.length > 0) {
    return allowedOrigins.includes("*") || publicOrigins.includes(origin) ||
      allowedOrigins.includes(origin);
  }
  return host !== null && origin === `http://${host}` && rebindingProofHost(host);
}
