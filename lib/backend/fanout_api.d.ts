/**
 * Types of `fanout_api.js`, the client of Fanout's server API (`docs/API.md`). Deno reads them
 * through the `@ts-self-types` directive at the top of the module; TypeScript and editors find
 * them beside it.
 *
 * ```ts
 * import { FanoutApi } from "./fanout_api.js";
 * const api = new FanoutApi({ url: "http://localhost:8000", key: "k_live_1" });
 * const page = await api.rooms({ limit: 50 });
 * ```
 *
 * @module
 */

/**
 * Any JSON value, as a message's `data` comes back.
 *
 * @example
 * ```ts
 * const data: JsonValue = { id: 7, tags: ["paid"], note: null };
 * ```
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * The codes the server answers with, in its error JSON and in a broadcast's failed rooms.
 *
 * @example
 * ```ts
 * const retry = (code: ServerErrorCode) => code === "rate_limited" || code === "unavailable";
 * ```
 */
export type ServerErrorCode =
  | "api_disabled"
  | "unauthorized"
  | "invalid_body"
  | "invalid_room"
  | "too_deep"
  | "invalid_query"
  | "too_large"
  | "ref_conflict"
  | "rate_limited"
  | "unavailable"
  | "not_found";

/**
 * Every code a {@linkcode FanoutApiError} may have: the server's, and the client's own for no
 * answer (`network`, `timeout`), a 2xx that is not a JSON object (`invalid_response`) and a
 * non-2xx without Fanout's error JSON (`http_<status>`, e.g. `http_502` from a proxy).
 *
 * @example
 * ```ts
 * const transient = (code: FanoutApiErrorCode) => code === "network" || code === "timeout";
 * ```
 */
export type FanoutApiErrorCode =
  | ServerErrorCode
  | "network"
  | "timeout"
  | "invalid_response"
  | `http_${number}`;

/**
 * The body of every non-2xx answer, and the `error` of a broadcast's failed room.
 *
 * @example
 * ```ts
 * const body: ApiErrorBody = { code: "invalid_room", message: 'room must be 1-64 characters…' };
 * ```
 */
export interface ApiErrorBody {
  code: ServerErrorCode;
  message: string;
}

/**
 * The `fetch` the client needs: `globalThis.fetch` fits, and so does a fake in tests.
 *
 * @example
 * ```ts
 * const fetch: FetchLike = (url, init) => globalThis.fetch(url, init);
 * ```
 */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;

/**
 * What the client passes to `fetch`: method, headers (`authorization`, `accept`, and
 * `content-type` with a body), the JSON body and the timeout's abort signal.
 *
 * @example
 * ```ts
 * const init: FetchInit = { method: "GET", headers: {}, signal: AbortSignal.timeout(1000) };
 * ```
 */
export interface FetchInit {
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/**
 * What the client reads of an answer: a `Response` fits.
 *
 * @example
 * ```ts
 * const answer: FetchResponse = new Response('{"closed":1}', { status: 200 });
 * ```
 */
export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * How to reach the server.
 *
 * @example
 * ```ts
 * const options: FanoutApiOptions = { url: "http://localhost:8000", key: "k_live_1", timeoutMs: 5000 };
 * ```
 */
export interface FanoutApiOptions {
  /** The server's base URL, `http://` or `https://`; a path prefix (`https://h/fanout`) is kept. */
  url: string | URL;
  /** One of the server's `API_KEYS`, sent as `Authorization: Bearer <key>`. */
  key: string;
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** The longest a call may take, answer body included, in milliseconds (default 10 000). */
  timeoutMs?: number;
}

/**
 * A token's public `info`, as given to the API (any JSON object).
 *
 * @example
 * ```ts
 * const info: InfoInput = { avatar: "https://example.com/a.png" };
 * ```
 */
export type InfoInput = { [key: string]: unknown };

/**
 * A message to publish: `text`, `data` (any JSON value, `null` included) or both, with an optional
 * `ref` (the server answers a `ref` it already accepted with the first result), display `name`
 * and `info`.
 *
 * @example
 * ```ts
 * const body: MessageBody = { data: { id: 7, state: "paid" }, ref: "order-7", name: "billing" };
 * ```
 */
export type MessageBody =
  & ({ text: string; data?: unknown } | { text?: string; data: unknown })
  & { ref?: string; name?: string; info?: InfoInput };

/**
 * Where a published message was stored; `duplicate: true` when its `ref` was accepted before and
 * this is that first result again.
 *
 * @example
 * ```ts
 * const r: PublishResult = { room: "lobby", epoch: "k3v9x0qa1b", offset: 42, id: "k3v9x0qa1b-42", ts: 1712345678901 };
 * ```
 */
export interface PublishResult {
  room: string;
  epoch: string;
  offset: number;
  /** `<epoch>-<offset>`. */
  id: string;
  /** When the server stored it, epoch ms. */
  ts: number;
  duplicate?: boolean;
}

/**
 * A room of a broadcast that took the message (201, or 200 for a duplicate `ref`).
 *
 * @example
 * ```ts
 * const ok: BroadcastAccepted = { room: "a", status: 201, epoch: "e", offset: 1, id: "e-1", ts: 0 };
 * ```
 */
export interface BroadcastAccepted extends PublishResult {
  status: 200 | 201;
  error?: undefined;
}

/**
 * A room of a broadcast that did not take the message, with the reason.
 *
 * @example
 * ```ts
 * const failed: BroadcastRefused = { room: "a", status: 503, error: { code: "unavailable", message: "engine down" } };
 * ```
 */
export interface BroadcastRefused {
  room: string;
  status: 400 | 409 | 503;
  error: ApiErrorBody;
}

/**
 * One room's outcome in a broadcast: check `error` (or `status`).
 *
 * @example
 * ```ts
 * const failed = (r: BroadcastRoomResult) => r.error !== undefined;
 * ```
 */
export type BroadcastRoomResult = BroadcastAccepted | BroadcastRefused;

/**
 * The answer of a broadcast: one result per room.
 *
 * @example
 * ```ts
 * const r: BroadcastResult = { results: [] };
 * ```
 */
export interface BroadcastResult {
  results: BroadcastRoomResult[];
}

/**
 * A stored message, as the WebSocket protocol's `message` frame (`docs/PROTOCOL.md`).
 *
 * @example
 * ```ts
 * const m: ApiMessage = {
 *   type: "message", room: "lobby", offset: 42, id: "e-42", from: "c4kq1x0-7", client: null,
 *   name: "Ann", text: "hello", ts: 1712345678901,
 * };
 * ```
 */
export interface ApiMessage {
  type: "message";
  room: string;
  offset: number;
  /** `<epoch>-<offset>`. */
  id: string;
  /** The id of the connection (or API call) that sent it. */
  from: string;
  /** Public id of the sender's client, null without one. */
  client: string | null;
  name: string | null;
  /** Absent when the message carries only `data`. */
  text?: string;
  /** Absent when the message carries only `text`; `null` is a value. */
  data?: JsonValue;
  /** When the server stored it, epoch ms. */
  ts: number;
  /** The sender's verified user id (auth mode). */
  user?: string;
  /** The sender's public `info` (auth mode, when it has one). */
  info?: { [key: string]: JsonValue };
}

/**
 * The query of {@linkcode FanoutApi.history}: messages after `since` in `epoch`, at most `limit`.
 *
 * @example
 * ```ts
 * const q: HistoryQuery = { since: 40, epoch: "k3v9x0qa1b", limit: 100 };
 * ```
 */
export interface HistoryQuery {
  since?: number;
  epoch?: string;
  limit?: number;
}

/**
 * A room's history: its position, whether `since` could be honoured (`recovered`) and the
 * messages.
 *
 * @example
 * ```ts
 * const h: HistoryResult = { room: "lobby", epoch: "e", offset: 0, recovered: false, messages: [] };
 * ```
 */
export interface HistoryResult {
  room: string;
  epoch: string;
  /** The offset of the room's latest message. */
  offset: number;
  recovered: boolean;
  messages: ApiMessage[];
}

/**
 * One connection in a room.
 *
 * @example
 * ```ts
 * const m: PresenceMember = { id: "c4kq1x0-7", name: "Ann", client: null };
 * ```
 */
export interface PresenceMember {
  /** The connection id (what `disconnect({ connection })` takes). */
  id: string;
  /** The verified user id (auth mode). */
  user?: string;
  name: string | null;
  /** The token's public `info` (auth mode, when it has one). */
  info?: { [key: string]: JsonValue };
  /** The public client id (what `disconnect({ client })` takes), null without one. */
  client: string | null;
}

/**
 * Who is in a room: how many, and the members (at most `limit`).
 *
 * @example
 * ```ts
 * const p: PresenceResult = { room: "lobby", online: 0, members: [] };
 * ```
 */
export interface PresenceResult {
  room: string;
  online: number;
  members: PresenceMember[];
}

/**
 * One room in the room list.
 *
 * @example
 * ```ts
 * const r: RoomSummary = { room: "lobby", online: 3, offset: 42, epoch: "k3v9x0qa1b" };
 * ```
 */
export interface RoomSummary {
  room: string;
  online: number;
  offset: number;
  epoch: string;
}

/**
 * The query of {@linkcode FanoutApi.rooms}: a page of at most `limit`, after the room `after`.
 *
 * @example
 * ```ts
 * const q: RoomsQuery = { limit: 100, after: "lobby" };
 * ```
 */
export interface RoomsQuery {
  limit?: number;
  after?: string;
}

/**
 * A page of rooms; `next` is the `after` of the next page, null on the last.
 *
 * @example
 * ```ts
 * const page: RoomsPage = { rooms: [], next: null };
 * ```
 */
export interface RoomsPage {
  rooms: RoomSummary[];
  next: string | null;
}

/**
 * Which connections to close: exactly one of `user`, `client` or `connection`; `reconnect: false`
 * asks the clients not to come back, `reason` is shown to them.
 *
 * @example
 * ```ts
 * const s: DisconnectSelector = { user: "u_42", reconnect: false, reason: "account closed" };
 * ```
 */
export type DisconnectSelector =
  & (
    | { user: string; client?: undefined; connection?: undefined }
    | { client: string; user?: undefined; connection?: undefined }
    | { connection: string; user?: undefined; client?: undefined }
  )
  & { reconnect?: boolean; reason?: string };

/**
 * How many connections a disconnect closed.
 *
 * @example
 * ```ts
 * const r: DisconnectResult = { closed: 2 };
 * ```
 */
export interface DisconnectResult {
  closed: number;
}

/**
 * The error of every failed call: a non-2xx answer, a 2xx that is not a JSON object, no answer
 * (`network`, `timeout`) and input refused before any request (`invalid_room`, `invalid_body`,
 * `invalid_query`). `status` is 0 when there was no answer. The API key never appears in its
 * message.
 *
 * @example
 * ```ts
 * try {
 *   await api.publish("lobby", { text: "hi" });
 * } catch (e) {
 *   if (e instanceof FanoutApiError && e.code === "rate_limited") console.log(e.retryAfterSeconds);
 * }
 * ```
 */
export class FanoutApiError extends Error {
  /** The HTTP status; 0 when no answer came (network, timeout) or no request was made. */
  readonly status: number;
  readonly code: FanoutApiErrorCode;
  /** The answer's `Retry-After` in seconds, when it had one (`rate_limited`, `unavailable`). */
  readonly retryAfterSeconds?: number;
  constructor(
    status: number,
    code: FanoutApiErrorCode,
    message: string,
    extra?: { retryAfterSeconds?: number; cause?: unknown },
  );
}

/**
 * The client of Fanout's server API: one instance per server and key, safe to share. Every method
 * resolves to the answer's JSON or rejects with a {@linkcode FanoutApiError}; it never retries.
 *
 * @example
 * ```ts
 * const api = new FanoutApi({ url: "https://fanout.example.com", key: "k_live_1" });
 * await api.publish("orders", { data: { id: 7, state: "paid" }, ref: "order-7" });
 * ```
 */
export class FanoutApi {
  /** Throws a `TypeError` naming the bad option (never showing the key). */
  constructor(options: FanoutApiOptions);
  /**
   * `POST /api/rooms/{room}/messages`: 201, or 200 with `duplicate: true` for a `ref` accepted
   * before.
   */
  publish(room: string, body: MessageBody): Promise<PublishResult>;
  /** `POST /api/broadcast`: one result per room, each with its own status. */
  broadcast(rooms: string[], body: MessageBody): Promise<BroadcastResult>;
  /** `GET /api/rooms/{room}/history`. */
  history(room: string, query?: HistoryQuery): Promise<HistoryResult>;
  /** `GET /api/rooms/{room}/presence`. */
  presence(room: string, query?: { limit?: number }): Promise<PresenceResult>;
  /** `GET /api/rooms`: one page; pass `next` as `after` for the next. */
  rooms(query?: RoomsQuery): Promise<RoomsPage>;
  /** `POST /api/disconnect`: closes the selected connections. */
  disconnect(selector: DisconnectSelector): Promise<DisconnectResult>;
}
