// @ts-self-types="./fanout_api.d.ts"
// @ts-check
/**
 * The typed client of Fanout's server API (`docs/API.md`), for backends: publish, broadcast, read
 * history, presence and the room list, disconnect connections. One file with no imports, plain
 * JavaScript that runs unchanged under Deno, Node 20, Bun and browsers (it only needs `fetch`), so
 * it can be copied into any backend; its types are `fanout_api.d.ts` beside it.
 *
 * ```js
 * import { FanoutApi } from "./fanout_api.js";
 * const api = new FanoutApi({ url: "http://localhost:8000", key: process.env.FANOUT_API_KEY });
 * await api.publish("lobby", { text: "deploy finished" });
 * ```
 *
 * @module
 */

/**
 * What the client passes to `fetch`, and what it reads of the answer (a `Response` fits).
 *
 * @typedef {{ method: "GET" | "POST", headers: Record<string, string>, body?: string,
 *   signal: AbortSignal }} FetchInit
 * @typedef {{ status: number, headers: { get(name: string): string | null },
 *   text(): Promise<string> }} FetchResponse
 * @typedef {(url: string, init: FetchInit) => Promise<FetchResponse>} FetchLike
 */

/** What a room name may be: the server's rule (`lib/protocol/handshake.ts`, `ROOM_PATTERN`). */
const ROOM = /^[a-z0-9_-]{1,64}$/;
/** The longest delay `setTimeout` keeps (2^31 - 1 ms). */
const MAX_TIMEOUT_MS = 2147483647;
const DEFAULT_TIMEOUT_MS = 10000;

/**
 * A value as error messages show it: JSON, cut after 40 characters.
 *
 * @param {unknown} value
 * @returns {string}
 */
function shown(value) {
  let text;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : String(JSON.stringify(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 42 ? `${text.slice(0, 40)}…` : text;
}

/**
 * True for a plain JSON-like object: not null, not an array.
 *
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The error of every failed call: a non-2xx answer (`status` and the server's `code` and
 * `message`; `http_<status>` when the body is not Fanout's error JSON), a 2xx whose body is not
 * JSON (`invalid_response`), no answer (`network`, `timeout`: status 0) and input refused before
 * any request (`invalid_room`, `invalid_body`, `invalid_query`: status 0). The API key never
 * appears in its message.
 *
 * @example
 * ```js
 * try {
 *   await api.publish("lobby", { text: "hi" });
 * } catch (e) {
 *   if (e instanceof FanoutApiError && e.code === "rate_limited") await sleep(e.retryAfterSeconds * 1000);
 * }
 * ```
 */
export class FanoutApiError extends Error {
  /**
   * @param {number} status the HTTP status, 0 when there was no answer or no request
   * @param {string} code the server's error code, or `network`, `timeout`, `invalid_response`,
   *   `http_<status>`
   * @param {string} message what was wrong
   * @param {{ retryAfterSeconds?: number, cause?: unknown }} [extra] the answer's `Retry-After`
   *   in seconds; the underlying error
   */
  constructor(status, code, message, extra = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "FanoutApiError";
    /** @type {number} */
    this.status = status;
    /** @type {string} */
    this.code = code;
    if (extra.retryAfterSeconds !== undefined) {
      /** @type {number | undefined} */
      this.retryAfterSeconds = extra.retryAfterSeconds;
    }
  }
}

/**
 * Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), or undefined.
 *
 * @param {string | null} header
 * @param {number} now epoch ms
 * @returns {number | undefined}
 */
function retryAfter(header, now) {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * Refuses a room name the server would refuse, before any request.
 *
 * @param {unknown} room
 * @param {string} what how the message names it
 */
function checkRoom(room, what) {
  if (typeof room !== "string" || !ROOM.test(room)) {
    throw new FanoutApiError(
      0,
      "invalid_room",
      `${what} must be 1-64 characters of a-z, 0-9, _ and -, got ${shown(room)}`,
    );
  }
}

/**
 * Refuses a message body without text or data (or not an object), before any request.
 *
 * @param {unknown} body
 * @param {string} what how the message names it
 */
function checkMessageBody(body, what) {
  if (!isObject(body)) {
    throw new FanoutApiError(0, "invalid_body", `${what} must be an object, got ${shown(body)}`);
  }
  if (body.text === undefined && body.data === undefined) {
    throw new FanoutApiError(
      0,
      "invalid_body",
      `${what} needs text or data (data may be null), got ${shown(body)}`,
    );
  }
}

/** What each query parameter is: `since` an offset, `limit` a count, the others strings. */
const QUERY_KINDS = { since: "offset", epoch: "string", limit: "count", after: "string" };

/**
 * The query parameters of `names` that `query` gives, checked: `since` an integer of at least 0,
 * `limit` of at least 1, `epoch` and `after` non-empty strings.
 *
 * @param {unknown} query
 * @param {("since" | "epoch" | "limit" | "after")[]} names
 * @returns {string[][]}
 */
function queryParams(query, names) {
  if (query === undefined) return [];
  if (!isObject(query)) {
    throw new FanoutApiError(0, "invalid_query", `query must be an object, got ${shown(query)}`);
  }
  const params = [];
  for (const name of names) {
    const value = query[name];
    if (value === undefined) continue;
    const kind = QUERY_KINDS[name];
    const min = kind === "count" ? 1 : 0;
    const fits = kind === "string"
      ? typeof value === "string" && value !== ""
      : typeof value === "number" && Number.isSafeInteger(value) && value >= min;
    if (!fits) {
      const wanted = kind === "string" ? "a non-empty string" : `an integer of at least ${min}`;
      throw new FanoutApiError(
        0,
        "invalid_query",
        `${name} must be ${wanted}, got ${shown(value)}`,
      );
    }
    params.push([name, String(value)]);
  }
  return params;
}

/**
 * The client of Fanout's server API: one instance per server and key, safe to share. Every method
 * resolves to the answer's JSON, or rejects with a {@linkcode FanoutApiError}; it never retries
 * (a `rate_limited` or `unavailable` error says how long to wait in `retryAfterSeconds` when the
 * server does).
 *
 * @example
 * ```js
 * const api = new FanoutApi({ url: "https://fanout.example.com", key: "k_live_1" });
 * const { offset } = await api.publish("orders", { data: { id: 7, state: "paid" }, ref: "order-7" });
 * const { members } = await api.presence("orders");
 * ```
 */
export class FanoutApi {
  /** @type {string} */
  #base;
  /** @type {string} */
  #key;
  /** @type {FetchLike} */
  #fetch;
  /** @type {number} */
  #timeoutMs;
  /** @type {RegExp} */
  #keyPattern;

  /**
   * @param {{ url: string | URL, key: string, fetch?: FetchLike,
   *   timeoutMs?: number }} options
   *   `url`: the server's base URL (`http://localhost:8000`, a path prefix is kept); `key`: one
   *   of the server's `API_KEYS`; `fetch`: defaults to the global one; `timeoutMs`: the longest a
   *   call may take, answer body included (default 10 000)
   */
  constructor(options) {
    if (!isObject(options)) {
      throw new TypeError(`FanoutApi options must be an object, got ${shown(options)}`);
    }
    const { url, key, fetch, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    let base;
    try {
      base = new URL(String(url));
    } catch {
      base = null;
    }
    if (base === null || (base.protocol !== "http:" && base.protocol !== "https:")) {
      throw new TypeError(
        `FanoutApi url must be an absolute http:// or https:// URL, got ${shown(String(url))}`,
      );
    }
    if (base.username !== "" || base.password !== "") {
      // Not shown: what is there may be a secret.
      throw new TypeError(
        "FanoutApi url must not carry a user or password (the key goes in options.key)",
      );
    }
    if (base.search !== "" || base.hash !== "") {
      throw new TypeError(`FanoutApi url must have no query or fragment, got ${shown(base.href)}`);
    }
    if (typeof key !== "string" || !/^[\x21-\x7e]+$/.test(key)) {
      // The key itself is never shown, only what kind of value it was.
      const got = typeof key === "string" ? `a string of ${key.length} characters` : typeof key;
      throw new TypeError(
        `FanoutApi key must be a non-empty string of printable ASCII without spaces, got ${got}`,
      );
    }
    if (fetch !== undefined && typeof fetch !== "function") {
      throw new TypeError(`FanoutApi fetch must be a function, got ${typeof fetch}`);
    }
    if (fetch === undefined && typeof globalThis.fetch !== "function") {
      throw new TypeError("FanoutApi needs fetch: this runtime has none, pass options.fetch");
    }
    if (typeof timeoutMs !== "number" || !(timeoutMs > 0) || timeoutMs > MAX_TIMEOUT_MS) {
      throw new TypeError(
        `FanoutApi timeoutMs must be a number above 0 and at most ${MAX_TIMEOUT_MS}, got ${
          shown(timeoutMs)
        }`,
      );
    }
    this.#base = base.href.replace(/\/+$/, "");
    this.#key = key;
    // The key as a token: not inside a longer run of letters and digits, so that a short key
    // does not cut words out of a message.
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    this.#keyPattern = new RegExp(`(^|[^A-Za-z0-9])${escaped}(?![A-Za-z0-9])`, "g");
    // Called through a wrapper: a browser's fetch refuses to run with another `this`.
    this.#fetch = fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Publishes one message to a room: `POST /api/rooms/{room}/messages`. Resolves to where it was
   * stored; a `ref` the server already accepted (within `DEDUP_TTL_MS`) gives the first result
   * again with `duplicate: true`.
   *
   * @param {string} room
   * @param {{ text?: string, data?: unknown, ref?: string, name?: string, info?: object }} body
   *   at least `text` or `data` (any JSON value, null included)
   */
  async publish(room, body) {
    checkRoom(room, "room");
    checkMessageBody(body, "publish body");
    return await this.#call("POST", `/api/rooms/${encodeURIComponent(room)}/messages`, body);
  }

  /**
   * Publishes one message to several rooms: `POST /api/broadcast`. Resolves to one result per
   * room, each with its own `status`; a room that failed has `error` instead of a position.
   *
   * @param {string[]} rooms
   * @param {{ text?: string, data?: unknown, ref?: string, name?: string, info?: object }} body
   */
  async broadcast(rooms, body) {
    if (!Array.isArray(rooms)) {
      throw new FanoutApiError(
        0,
        "invalid_body",
        `rooms must be an array of room names, got ${shown(rooms)}`,
      );
    }
    rooms.forEach((room, i) => checkRoom(room, `rooms[${i}]`));
    checkMessageBody(body, "broadcast body");
    return await this.#call("POST", "/api/broadcast", { ...body, rooms });
  }

  /**
   * A room's history: `GET /api/rooms/{room}/history`. With `since` and `epoch`, the messages
   * after `since` and `recovered: true` when the server still has them all.
   *
   * @param {string} room
   * @param {{ since?: number, epoch?: string, limit?: number }} [query]
   */
  async history(room, query) {
    checkRoom(room, "room");
    const path = `/api/rooms/${encodeURIComponent(room)}/history`;
    return await this.#call(
      "GET",
      path,
      undefined,
      queryParams(query, ["since", "epoch", "limit"]),
    );
  }

  /**
   * Who is in a room: `GET /api/rooms/{room}/presence`.
   *
   * @param {string} room
   * @param {{ limit?: number }} [query]
   */
  async presence(room, query) {
    checkRoom(room, "room");
    const path = `/api/rooms/${encodeURIComponent(room)}/presence`;
    return await this.#call("GET", path, undefined, queryParams(query, ["limit"]));
  }

  /**
   * One page of the rooms: `GET /api/rooms`. Pass the page's `next` as `after` for the next one;
   * `next` is null on the last page.
   *
   * @param {{ limit?: number, after?: string }} [query]
   */
  async rooms(query) {
    return await this.#call("GET", "/api/rooms", undefined, queryParams(query, ["limit", "after"]));
  }

  /**
   * Closes connections: `POST /api/disconnect` with exactly one of `user`, `client` or
   * `connection`. Resolves to how many were closed.
   *
   * @param {{ user?: string, client?: string, connection?: string, reconnect?: boolean,
   *   reason?: string }} selector
   */
  async disconnect(selector) {
    if (!isObject(selector)) {
      throw new FanoutApiError(
        0,
        "invalid_body",
        `disconnect selector must be an object, got ${shown(selector)}`,
      );
    }
    const given = /** @type {const} */ (["user", "client", "connection"]).filter((k) =>
      selector[k] !== undefined
    );
    if (given.length !== 1) {
      throw new FanoutApiError(
        0,
        "invalid_body",
        `disconnect needs exactly one of user, client or connection, got ${
          given.length === 0 ? "none" : given.join(", ")
        }`,
      );
    }
    return await this.#call("POST", "/api/disconnect", selector);
  }

  /**
   * One request: the key as a Bearer token, JSON in and out, the timeout over the whole call
   * (it holds even against a `fetch` that ignores its abort signal).
   *
   * @param {"GET" | "POST"} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {string[][]} [params]
   */
  async #call(method, path, body, params = []) {
    const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
    const url = `${this.#base}${path}${query === "" ? "" : `?${query}`}`;
    const what = `${method} ${path}`;
    /** @type {Record<string, string>} */
    const headers = { authorization: `Bearer ${this.#key}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const controller = new AbortController();
    const init = {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    };
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(
          new FanoutApiError(0, "timeout", `${what} took longer than ${this.#timeoutMs} ms`),
        );
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([this.#exchange(what, url, init), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends the request and reads the answer; a failure to get it is a `network` error.
   *
   * @param {string} what
   * @param {string} url
   * @param {FetchInit} init
   */
  async #exchange(what, url, init) {
    let response;
    let text;
    try {
      response = await this.#fetch(url, init);
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error
        ? [error.message, error.cause instanceof Error ? error.cause.message : ""]
          .filter((m) => m !== "").join(": ")
        : String(error);
      const stage = response === undefined
        ? "failed"
        : `failed reading its ${response.status} answer`;
      throw new FanoutApiError(
        0,
        "network",
        this.#redact(`${what} to ${this.#base} ${stage}: ${reason}`),
        { cause: error },
      );
    }
    return this.#read(what, response, text);
  }

  /**
   * The answer's JSON when 2xx, else the {@linkcode FanoutApiError} it describes.
   *
   * @param {string} what
   * @param {{ status: number, headers: { get(name: string): string | null } }} response
   * @param {string} text
   */
  #read(what, response, text) {
    const { status } = response;
    let json;
    let parsed = true;
    try {
      json = JSON.parse(text);
    } catch {
      parsed = false;
    }
    if (status >= 200 && status < 300) {
      if (parsed && isObject(json)) return json;
      throw new FanoutApiError(
        status,
        "invalid_response",
        `${what} answered ${status} with a body that is not a JSON object`,
      );
    }
    const seconds = retryAfter(response.headers.get("retry-after"), Date.now());
    const extra = seconds === undefined ? {} : { retryAfterSeconds: seconds };
    const error = parsed && isObject(json) && isObject(json.error) ? json.error : null;
    if (error && typeof error.code === "string" && typeof error.message === "string") {
      throw new FanoutApiError(status, error.code, this.#redact(error.message), extra);
    }
    const type = response.headers.get("content-type");
    throw new FanoutApiError(
      status,
      `http_${status}`,
      `${what} answered ${status} without Fanout's error JSON${
        type ? ` (content-type ${this.#redact(type)})` : ""
      }`,
      extra,
    );
  }

  /**
   * `message` with the key cut out, should a server, proxy or fetch ever echo it.
   *
   * @param {string} message
   * @returns {string}
   */
  #redact(message) {
    return message.replace(this.#keyPattern, (_, before) => `${before}[api key]`);
  }
}
