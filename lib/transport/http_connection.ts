/**
 * Serves one TCP connection as HTTP/1.1: request heads and bodies read within a deadline and a
 * size cap, each request handed to a fetch handler, keep-alive between requests, and the upgrade
 * to a WebSocket ({@linkcode upgradeWebSocket}) when the handler asks for it. Runtime-free: the
 * connection, the handler and the timers are injected.
 *
 * @module
 */

import { realTimers, type Timers } from "../shared/timers.ts";
import type { HandshakeRequest, HeaderReader } from "../shared/handshake_request.ts";
import { ACCEPT_KEY_LENGTH, writeAcceptKey } from "./accept_key.ts";
import { bodyFraming, type HeadError, parseRequestHead, type RequestHead } from "./http_head.ts";
import type { InboundBudget } from "./ws_frames.ts";
import { type ByteStream, ServerWebSocket } from "./server_web_socket.ts";

/** A TCP connection: `Deno.Conn` satisfies it. */
export interface ConnLike extends ByteStream {
  /** Reads into `buffer`; resolves with the byte count, or null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Who is on the other end, as `Deno.serve` tells its handlers. */
export interface ConnectionInfo {
  remoteAddr: { transport: "tcp"; hostname: string; port: number };
}

/** A fetch handler that also gets the connection's info (like `Deno.serve`'s). */
export type FetchHandler = (req: Request, info: ConnectionInfo) => Response | Promise<Response>;

/** The path of the WebSocket route and its handler (see `HttpConnectionOptions.webSocketRoute`). */
export interface WebSocketRoute {
  path: string;
  handle: (req: HandshakeRequest, info: ConnectionInfo) => Response | Promise<Response>;
}

/** Settings of the connections of one server. */
export interface HttpLimits {
  /** Largest request head (431 past it). */
  maxHeadBytes: number;
  /** Largest request body (413 past it). */
  maxBodyBytes: number;
  /**
   * Time allowed to receive a whole request (from the connection's start for the first one, from
   * its first byte for later ones), and again to write its response; the connection is closed
   * past it. The handler's own time does not count.
   */
  requestTimeoutMs: number;
  /** Time an idle keep-alive connection is kept between requests. */
  keepAliveTimeoutMs: number;
  /** Largest incoming WebSocket message, fragments included (close 1009 past it). */
  maxWsMessageBytes: number;
  /** Most fragments an incoming WebSocket message may have (default 1024; close 1009 past it). */
  maxWsFragments?: number;
  /** Time a WebSocket close handshake may take before the connection is dropped. */
  wsCloseTimeoutMs: number;
  /** Bytes every WebSocket reader may hold together for incomplete messages. */
  inbound: InboundBudget;
}

/**
 * Options of {@linkcode serveHttpConnection}: one object for every connection of a server (the
 * callbacks are told which connection), so that a connection holds no closures of its own.
 */
export interface HttpConnectionOptions<C extends ConnLike = ConnLike> {
  handler: FetchHandler;
  /**
   * The WebSocket route, answered without a `Request` or the handler: a `GET` of exactly `path`
   * (any query) goes to `handle` with a {@linkcode HandshakeRequest} read from the request head
   * (building a `Request` and routing it cost about 5 µs of a handshake's 90-100).
   */
  webSocketRoute?: WebSocketRoute;
  /** Origin used for requests without a usable Host header, e.g. `http://127.0.0.1:8000`. */
  origin: string;
  limits: HttpLimits;
  /** True while the server shuts down: responses close their connection. */
  draining: () => boolean;
  /** `conn` was upgraded and its socket opens (the server watches it for heartbeats). */
  onWebSocket: (conn: C, socket: ServerWebSocket) => void;
  /**
   * The upgraded `conn` is done: its socket closed and its reads ended (the connection is
   * released; nothing more happens on it).
   */
  onWebSocketEnd?: (conn: C, socket: ServerWebSocket) => void;
  /** A request failed inside the handler (logged by the caller). */
  onError?: (err: unknown) => void;
  /**
   * Where the connection is: `waiting` for a request (none yet, or the next one), `busy` with
   * one (its head is read, its response not yet written), or `upgraded` to a WebSocket. A server
   * short of descriptors, or shutting down, may close a waiting connection at once.
   */
  onPhase?: (conn: C, phase: "waiting" | "busy" | "upgraded") => void;
  /** Monotonic clock in ms (default `performance.now`). */
  now?: () => number;
  /** Timers (default `setTimeout` and `clearTimeout`). */
  timers?: Timers;
}

const encoder = new TextEncoder();
const READ_CHUNK = 4096;
/**
 * Read buffer of an upgraded connection while its reads are small (an idle connection holds it
 * in its pending read), and while they are not.
 */
const WS_IDLE_CHUNK = 256;
const WS_BUSY_CHUNK = 16 * 1024;

const STATUS_TEXT: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** What the handler's upgrade left for the connection to carry out. */
interface PendingUpgrade {
  socket: ServerWebSocket;
  /** The response `upgradeWebSocket` returned: the handler must answer with it. */
  response: Response;
  key: string;
  protocol: string;
}

/** Requests read by this module, with the connection they came on (for the upgrade). */
// deno-lint-ignore no-explicit-any
type RequestFrom = { conn: ConnLike; opts: HttpConnectionOptions<any>; upgrade?: PendingUpgrade };
/**
 * The connections of the `Request`s this module made (the WebSocket route's requests carry
 * theirs: a weak map's entry per handshake, which only a collection removes, is garbage the
 * collector must trace specially).
 */
const requestConns = new WeakMap<HandshakeRequest, RequestFrom>();

/** The connection `req` came on, when this module read it. */
function requestFrom(req: HandshakeRequest): RequestFrom | undefined {
  return HeadRequest.from(req) ?? requestConns.get(req);
}

/**
 * True when `req` was read by {@linkcode serveHttpConnection} (so {@linkcode upgradeWebSocket}
 * can upgrade it); false for requests of another server (e.g. `deno serve`).
 *
 * @example
 * ```ts
 * const upgrade = servedHere(req) ? upgradeWebSocket : Deno.upgradeWebSocket;
 * ```
 */
export function servedHere(req: HandshakeRequest): boolean {
  return requestFrom(req) !== undefined;
}

/**
 * Upgrades a request read by this module to a WebSocket, with the shape of
 * `Deno.upgradeWebSocket`: the socket opens once the handler has returned `response`. Throws,
 * with the reason, when the request is not a valid WebSocket handshake.
 *
 * @example
 * ```ts
 * const { socket, response } = upgradeWebSocket(req, { protocol: "fanout.v1" });
 * socket.onmessage = (e) => socket.send(String(e.data));
 * return response;
 * ```
 */
export function upgradeWebSocket(
  req: HandshakeRequest,
  options: { protocol?: string } = {},
): { socket: ServerWebSocket; response: Response } {
  const from = requestFrom(req);
  if (!from) throw new TypeError("the request was not read by this server");
  if (from.upgrade) throw new TypeError("the request was upgraded already");
  const headers = req.headers;
  if (!/(^|,)\s*upgrade\s*(,|$)/i.test(headers.get("connection") ?? "")) {
    throw new TypeError("'connection' header must contain 'Upgrade'");
  }
  if (headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new TypeError("'upgrade' header must be 'websocket'");
  }
  const key = headers.get("sec-websocket-key");
  if (key === null) throw new TypeError("'sec-websocket-key' header must be set");
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    throw new TypeError("'sec-websocket-key' header must be 16 bytes in base64");
  }
  if (headers.get("sec-websocket-version") !== "13") {
    throw new TypeError("'sec-websocket-version' header must be '13'");
  }
  const { conn, opts } = from;
  const limits = opts.limits;
  const socket = new ServerWebSocket({
    stream: conn,
    protocol: options.protocol ?? "",
    maxMessageBytes: limits.maxWsMessageBytes,
    maxFragments: limits.maxWsFragments,
    inbound: limits.inbound,
    closeTimeoutMs: limits.wsCloseTimeoutMs,
    now: opts.now,
    timers: opts.timers,
  });
  const response = new Response(null, { status: 200 });
  from.upgrade = { socket, response, key, protocol: options.protocol ?? "" };
  return { socket, response };
}

let dateCache = "";
let dateAt = 0;
function httpDate(): string {
  const now = Date.now();
  if (now - dateAt >= 1000) {
    dateAt = now - (now % 1000);
    dateCache = new Date(dateAt).toUTCString();
  }
  return dateCache;
}

/** Writes all of `bytes` (looping over short writes). */
async function writeAll(conn: ConnLike, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function headBytes(status: number, headers: [string, string][]): Uint8Array {
  let text = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Status"}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return encoder.encode(text + "\r\n");
}

const SWITCHING = encoder.encode(
  "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
    "sec-websocket-accept: ",
);
/**
 * The subprotocol's field of the last 101 (empty for none): upgrades nearly always agree on one,
 * so it is encoded once, not per handshake.
 */
let protocolField = { protocol: "", bytes: new Uint8Array(0) };

/**
 * The head of the 101 for `key`, with `protocol` ("" for none), built as bytes: a constant start,
 * the accept value written from its digest, the subprotocol's field, the empty line. Built from
 * strings, it took about 2 KB of them per handshake, and the encoder's call.
 */
function switchingProtocols(key: string, protocol: string): Uint8Array {
  if (protocol !== protocolField.protocol) {
    protocolField = {
      protocol,
      bytes: protocol === "" ? new Uint8Array(0) : encoder.encode(
        `\r\nsec-websocket-protocol: ${protocol}`,
      ),
    };
  }
  const field = protocolField.bytes;
  const out = new Uint8Array(SWITCHING.length + ACCEPT_KEY_LENGTH + field.length + 4);
  out.set(SWITCHING);
  let at = writeAcceptKey(key, out, SWITCHING.length);
  out.set(field, at);
  at += field.length;
  out[at] = out[at + 2] = 13;
  out[at + 1] = out[at + 3] = 10;
  return out;
}

/** A short plain-text response written by the connection itself (no handler involved). */
function plainResponse(error: HeadError | { status: number; reason: string }, close: boolean) {
  const body = encoder.encode(`${error.reason}\n`);
  const head = headBytes(error.status, [
    ["content-type", "text/plain; charset=utf-8"],
    ["content-length", String(body.length)],
    ["date", httpDate()],
    ...(close ? [["connection", "close"] as [string, string]] : []),
  ]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * Writes a refusal to a connection that is not read at all (the server is full, or the address
 * holds too many connections), then closes it.
 *
 * @example
 * ```ts
 * refuseConnection(conn, 503, "server is full; retry later");
 * ```
 */
export function refuseConnection(conn: ConnLike, status: number, reason: string): void {
  const bytes = plainResponse({ status, reason }, true);
  conn.write(bytes).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  });
}

/**
 * Read buffers of connections that upgraded or ended, for the next ones: a buffer of its own cost
 * every handshake an allocation outside the heap and its collection. At most
 * {@linkcode MAX_SPARE_BUFFERS} wait (256 KiB).
 */
const SPARE: Uint8Array[] = [];
const MAX_SPARE_BUFFERS = 64;

/** Bytes read from a connection and not consumed yet. */
class ReadBuffer {
  bytes = SPARE.pop() ?? new Uint8Array(READ_CHUNK);
  start = 0;
  end = 0;

  /**
   * Gives the buffer to the next connection (none of its reads may be pending, and nothing may
   * keep a view of it) and leaves this one empty.
   */
  release(): void {
    if (this.bytes.length === READ_CHUNK && SPARE.length < MAX_SPARE_BUFFERS) {
      SPARE.push(this.bytes);
    }
    this.bytes = EMPTY;
    this.start = this.end = 0;
  }

  get size(): number {
    return this.end - this.start;
  }

  /** Moves what is unread to the front and makes room for at least `room` more bytes. */
  reserve(room: number): void {
    if (this.start > 0) {
      this.bytes.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.bytes.length - this.end < room) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.end + room));
      grown.set(this.bytes.subarray(0, this.end));
      this.bytes = grown;
    }
  }

  /** Reads once from `conn`; false at the end of the stream. */
  async fill(conn: ConnLike): Promise<boolean> {
    this.reserve(READ_CHUNK);
    const n = await conn.read(this.bytes.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    return true;
  }

  take(n: number): Uint8Array {
    const out = this.bytes.slice(this.start, this.start + n);
    this.start += n;
    return out;
  }
}

class Refused extends Error {
  constructor(readonly status: number, readonly reason: string) {
    super(reason);
  }
}

/**
 * Serves `conn`: reads requests, answers them through `handler`, and hands the connection over
 * to a WebSocket when the handler upgrades. Resolves with `"ended"` once the connection is closed,
 * or with `"upgraded"` once its socket is open and reading by itself (`onWebSocketEnd` then tells
 * when it is done). Never rejects.
 *
 * @example
 * ```ts
 * const conn = await listener.accept();
 * const outcome = await serveHttpConnection(conn, info, {
 *   handler: app.fetch, origin, limits, draining: () => false, onWebSocket: () => {},
 * });
 * ```
 */
export async function serveHttpConnection<C extends ConnLike>(
  conn: C,
  info: ConnectionInfo,
  opts: HttpConnectionOptions<C>,
): Promise<"ended" | "upgraded"> {
  const { limits } = opts;
  const { setTimer, clearTimer } = opts.timers ?? realTimers;
  const buf = new ReadBuffer();
  let timer: unknown = null;
  let timedOut = false;
  const arm = (ms: number) => {
    if (timer !== null) clearTimer(timer);
    timer = setTimer(() => {
      timer = null;
      timedOut = true;
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }, ms);
  };
  const disarm = () => {
    if (timer !== null) clearTimer(timer);
    timer = null;
  };
  const close = (): "ended" => {
    disarm();
    buf.release();
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    return "ended";
  };
  let first = true;
  let upgrade: PendingUpgrade | null = null;
  try {
    while (upgrade === null) {
      // The first request must be complete within the request timeout of the connection's start;
      // later ones may keep it waiting for the keep-alive timeout, and once a byte of one came,
      // it must be complete within the request timeout.
      const waiting = !first && buf.size === 0;
      arm(waiting ? limits.keepAliveTimeoutMs : limits.requestTimeoutMs);
      opts.onPhase?.(conn, "waiting");
      first = false;
      let head = await readHead(conn, buf, limits, () => {
        if (waiting) arm(limits.requestTimeoutMs);
      });
      if (head === null) return close();
      opts.onPhase?.(conn, "busy");
      const outcome = await answer(conn, info, buf, head, opts, {
        read: disarm,
        writing: () => arm(limits.requestTimeoutMs),
      });
      head = null; // not kept for the life of a WebSocket
      if (outcome === "close") return close();
      if (outcome !== "keep") upgrade = outcome;
      else if (opts.draining()) return close();
    }
    disarm();
    opts.onPhase?.(conn, "upgraded");
    runWebSocket(conn, buf, upgrade, opts);
    return "upgraded";
  } catch (err) {
    // A refusal is written (unless the timer already closed the connection); anything else
    // (a read cut by the timer, a reset) just ends the connection.
    if (err instanceof Refused && !timedOut) {
      await writeAll(conn, plainResponse(err, true)).catch(() => {});
    }
    return close();
  }
}

/** Reads one request head; null at the end of the stream before any byte of it. */
async function readHead(
  conn: ConnLike,
  buf: ReadBuffer,
  limits: HttpLimits,
  started: () => void,
): Promise<RequestHead | null> {
  let searched = 0;
  while (true) {
    if (buf.size > 0) {
      const bytes = buf.bytes.subarray(buf.start, buf.end);
      const result = parseRequestHead(bytes, bytes.length, limits.maxHeadBytes, searched);
      if (result !== null) {
        if (!result.ok) throw new Refused(result.error.status, result.error.reason);
        buf.start += result.head.size;
        return result.head;
      }
      searched = Math.max(0, bytes.length - 3);
    }
    const hadBytes = buf.size > 0;
    if (!(await buf.fill(conn))) {
      if (hadBytes) throw new Refused(400, "connection closed in the middle of a request");
      return null;
    }
    if (!hadBytes) started();
  }
}

/** Reads the request's body as its framing says, within the size cap. */
async function readBody(
  conn: ConnLike,
  buf: ReadBuffer,
  head: RequestHead,
  limits: HttpLimits,
): Promise<Uint8Array | null> {
  const framing = bodyFraming(head.headers);
  if (!framing.ok) throw new Refused(framing.error.status, framing.error.reason);
  const f = framing.framing;
  if (f.kind === "none") return null;
  const max = limits.maxBodyBytes;
  const expects = head.headers.some(([n, v]) =>
    n === "expect" && v.toLowerCase() === "100-continue"
  );
  if (f.kind === "length") {
    if (f.length > max) throw new Refused(413, `request body is larger than ${max} bytes`);
    if (expects && buf.size < f.length) {
      await writeAll(conn, encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
    }
    while (buf.size < f.length) {
      buf.reserve(f.length - buf.size);
      if (!(await buf.fill(conn))) {
        throw new Refused(400, "connection closed in the middle of a body");
      }
    }
    return buf.take(f.length);
  }
  if (expects) await writeAll(conn, encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
  const parts: Uint8Array[] = [];
  let total = 0;
  const line = async (): Promise<string> => {
    let searched = 0;
    while (true) {
      const bytes = buf.bytes.subarray(buf.start, buf.end);
      for (let i = searched; i + 1 < bytes.length; i++) {
        if (bytes[i] === 13 && bytes[i + 1] === 10) {
          const text = String.fromCharCode(...bytes.subarray(0, i));
          buf.start += i + 2;
          return text;
        }
      }
      searched = Math.max(0, bytes.length - 1);
      if (bytes.length > 1024) throw new Refused(400, "malformed chunk size line");
      if (!(await buf.fill(conn))) {
        throw new Refused(400, "connection closed in the middle of a body");
      }
    }
  };
  while (true) {
    const sizeLine = (await line()).split(";")[0].trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeLine)) throw new Refused(400, "malformed chunk size");
    const size = parseInt(sizeLine, 16);
    if (size === 0) break;
    if (total + size > max) throw new Refused(413, `request body is larger than ${max} bytes`);
    while (buf.size < size + 2) {
      buf.reserve(size + 2 - buf.size);
      if (!(await buf.fill(conn))) {
        throw new Refused(400, "connection closed in the middle of a body");
      }
    }
    parts.push(buf.take(size));
    total += size;
    if (buf.bytes[buf.start] !== 13 || buf.bytes[buf.start + 1] !== 10) {
      throw new Refused(400, "malformed chunk");
    }
    buf.start += 2;
  }
  // Trailers: skipped up to the empty line.
  for (let n = 0; (await line()) !== ""; n++) {
    if (n > 100) throw new Refused(431, "too many trailer lines");
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    body.set(part, at);
    at += part.length;
  }
  return body;
}

/**
 * A request head's header fields as `Headers.get` reads them: names in any case, the values of
 * every field of a name joined with `", "`. The parser lowercased the names and trimmed the values.
 */
class HeadHeaders implements HeaderReader {
  constructor(readonly fields: readonly [string, string][]) {}

  get(name: string): string | null {
    const lower = name.toLowerCase();
    let value: string | null = null;
    for (const [n, v] of this.fields) {
      if (n === lower) value = value === null ? v : `${value}, ${v}`;
    }
    return value;
  }
}

/** A handshake request read from its head (the WebSocket route's, without a `Request`). */
class HeadRequest implements HandshakeRequest {
  readonly method = "GET";
  readonly headers: HeadHeaders;
  /** The connection it came on (private: the route's handler sees a request, not the server). */
  #from: RequestFrom;

  constructor(readonly url: string, fields: readonly [string, string][], from: RequestFrom) {
    this.headers = new HeadHeaders(fields);
    this.#from = from;
  }

  /** The connection `req` came on when it is a `HeadRequest`, else undefined. */
  static from(req: HandshakeRequest): RequestFrom | undefined {
    return #from in req ? (req as HeadRequest).#from : undefined;
  }
}

/**
 * What a query may hold for a URL parser to keep it as it is: printable ASCII but for the
 * characters it percent-encodes in a query (`"`, `#`, `'`, `<`, `>`).
 */
const PLAIN_QUERY = /^[\x21\x24-\x26\x28-\x3b\x3d\x3f-\x7e]*$/;

/**
 * The absolute URL of a request for exactly `path` (any query), as the URL parser would write
 * it but for the host's case and a default port: null when the target is anything else, or has
 * what the parser would change (then {@linkcode requestUrl} decides). Parsing a URL costs about
 * a microsecond of a handshake, for a query the route reads by itself.
 */
function routeUrl(head: RequestHead, path: string, origin: string): string | null {
  const target = head.target;
  if (!target.startsWith(path)) return null;
  if (target.length > path.length) {
    if (target.charCodeAt(path.length) !== 63 /* ? */) return null;
    if (!PLAIN_QUERY.test(target)) return null;
  }
  return requestBase(head, origin) + target;
}

const HOST =
  /^(?:[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,20}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** The origin a request names in its Host header, or `origin` without a usable one. */
function requestBase(head: RequestHead, origin: string): string {
  const host = head.headers.find(([n]) => n === "host")?.[1] ?? "";
  return host.length <= 300 && HOST.test(host) ? `http://${host}` : origin;
}

/** The URL of a request: its target on the Host it names, or on `origin` without a usable one. */
function requestUrl(head: RequestHead, origin: string): URL {
  let target = head.target;
  if (/^https?:\/\//i.test(target)) {
    const absolute = new URL(target);
    target = absolute.pathname + absolute.search;
  }
  if (!target.startsWith("/")) throw new Refused(400, "malformed request target");
  const base = requestBase(head, origin);
  try {
    // Joined, not resolved against the base: a target like `//other.host/x` is a path here.
    return new URL(base + target);
  } catch {
    throw new Refused(400, "malformed request target");
  }
}

/**
 * Answers one request: "keep" or "close" the connection afterwards, or the upgrade to carry out.
 * `phase` hears when the request is read (the handler's time is not limited) and when the
 * response starts to be written (which must end in time).
 */
async function answer<C extends ConnLike>(
  conn: C,
  info: ConnectionInfo,
  buf: ReadBuffer,
  head: RequestHead,
  opts: HttpConnectionOptions<C>,
  phase: { read(): void; writing(): void },
): Promise<"keep" | "close" | PendingUpgrade> {
  const body = await readBody(conn, buf, head, opts.limits);
  phase.read();
  // The WebSocket route's URL (`href`), read without a URL parser when it can be.
  const route = head.method === "GET" ? opts.webSocketRoute : undefined;
  let href = route === undefined ? null : routeUrl(head, route.path, opts.origin);
  let url: URL | null = null;
  if (href === null) {
    url = requestUrl(head, opts.origin);
    if (route !== undefined && url.pathname === route.path) href = url.href;
  }
  // Every Connection field counts (a request may send "Upgrade" and "close" on two lines).
  let connection = "";
  for (const [n, v] of head.headers) {
    if (n === "connection") {
      connection = connection === "" ? v.toLowerCase() : `${connection},${v.toLowerCase()}`;
    }
  }
  const wantsClose = head.version === "1.0"
    ? !/(^|,)\s*keep-alive\s*(,|$)/.test(connection)
    : /(^|,)\s*close\s*(,|$)/.test(connection);
  if (route !== undefined && href !== null) {
    const from: RequestFrom = { conn, opts };
    const req = new HeadRequest(href, head.headers, from);
    const res = await handled(route.handle, req, info, opts);
    return respond(conn, head, res, wantsClose, opts, phase, from.upgrade);
  }
  let req: Request;
  try {
    req = new Request(url!, {
      method: head.method,
      headers: head.headers,
      body: body !== null && head.method !== "GET" && head.method !== "HEAD"
        ? body as Uint8Array<ArrayBuffer>
        : undefined,
    });
  } catch (err) {
    throw new Refused(
      400,
      `malformed request: ${String((err as Error)?.message ?? err).slice(0, 80)}`,
    );
  }
  const from: RequestFrom = { conn, opts };
  requestConns.set(req, from);
  const res = await handled(opts.handler, req, info, opts);
  return respond(conn, head, res, wantsClose, opts, phase, from.upgrade);
}

/** `handle`'s response to `req`, or a 500 when it throws (told to `onError`). */
async function handled<R extends HandshakeRequest>(
  handle: (req: R, info: ConnectionInfo) => Response | Promise<Response>,
  req: R,
  info: ConnectionInfo,
  opts: { onError?: (err: unknown) => void },
): Promise<Response> {
  try {
    return await handle(req, info);
  } catch (err) {
    opts.onError?.(err);
    return new Response("internal error\n", { status: 500 });
  }
}

/**
 * Writes `res` to the request of `head` (the response and its body), or, when `res` is the
 * response of `made`, returns that upgrade for its socket to open (the socket writes the 101).
 * `made`: the upgrade the handler made for this request, if any; when `res` is not its response
 * (a router's HEAD answers with another), its socket never opens and is closed, so that whoever
 * holds it lets it go.
 */
async function respond<C extends ConnLike>(
  conn: C,
  head: RequestHead,
  res: Response,
  wantsClose: boolean,
  opts: HttpConnectionOptions<C>,
  phase: { writing(): void },
  made?: PendingUpgrade,
): Promise<"keep" | "close" | PendingUpgrade> {
  if (made !== undefined) {
    // The 101 is not written here: `runWebSocket` opens the socket with it.
    if (made.response === res) return made;
    made.socket.ended("the handler answered the upgrade with another response");
  }
  const close = wantsClose || opts.draining();
  const headers: [string, string][] = [];
  for (const [name, value] of res.headers) {
    if (name === "set-cookie" || name === "content-length" || name === "connection") continue;
    if (name === "transfer-encoding") continue;
    headers.push([name, value]);
  }
  for (const cookie of res.headers.getSetCookie()) headers.push(["set-cookie", cookie]);
  let payload: Uint8Array | null = null;
  if (head.method === "HEAD") {
    const length = res.headers.get("content-length");
    if (length !== null) headers.push(["content-length", length]);
    await res.body?.cancel();
  } else if (res.status !== 204 && res.status !== 304) {
    payload = res.body === null ? new Uint8Array(0) : new Uint8Array(await res.arrayBuffer());
    headers.push(["content-length", String(payload.length)]);
  }
  if (!res.headers.has("date")) headers.push(["date", httpDate()]);
  if (close) headers.push(["connection", "close"]);
  const headPart = headBytes(res.status, headers);
  phase.writing();
  if (payload === null || payload.length === 0) await writeAll(conn, headPart);
  else if (payload.length <= 16 * 1024) {
    const out = new Uint8Array(headPart.length + payload.length);
    out.set(headPart);
    out.set(payload, headPart.length);
    await writeAll(conn, out);
  } else {
    await writeAll(conn, headPart);
    await writeAll(conn, payload);
  }
  return close ? "close" : "keep";
}

/** What a connection's HTTP read buffer becomes once upgraded (one for all of them). */
const EMPTY = new Uint8Array(0);

/**
 * Opens an upgraded connection's socket and starts its reads, which run until the socket is
 * closed and the connection ended (then `onWebSocketEnd`).
 */
function runWebSocket<C extends ConnLike>(
  conn: C,
  buf: ReadBuffer,
  upgrade: PendingUpgrade,
  opts: HttpConnectionOptions<C>,
): void {
  const { socket } = upgrade;
  opts.onWebSocket(conn, socket);
  const reads = new WebSocketReads(conn, socket, opts);
  try {
    // The socket writes the 101 in front of its first frame (the welcome, most often), in one
    // write. A peer gone meanwhile fails that write: the socket, open by then, closes with 1006.
    socket.open(switchingProtocols(upgrade.key, upgrade.protocol));
    if (buf.size > 0) socket.receive(buf.bytes.subarray(buf.start, buf.end));
  } catch (err) {
    reads.failed(err);
    return;
  } finally {
    buf.release();
  }
  reads.next();
}

/**
 * Reads an upgraded connection into its socket until either side ends it. Callbacks, not an
 * async loop: an idle connection holds its one pending read and this object, no suspended
 * function (each holds a register file and promises: about 1 KB per connection). An idle
 * connection waits with a small buffer; one that fills it reads with a large one until its
 * reads get small again. The reader copies what it keeps, so buffers are reused.
 */
class WebSocketReads<C extends ConnLike> {
  #conn: C;
  #socket: ServerWebSocket;
  #opts: HttpConnectionOptions<C>;
  #chunk: Uint8Array<ArrayBuffer> = new Uint8Array(WS_IDLE_CHUNK);

  constructor(conn: C, socket: ServerWebSocket, opts: HttpConnectionOptions<C>) {
    this.#conn = conn;
    this.#socket = socket;
    this.#opts = opts;
  }

  /** Waits for the next bytes, or ends the socket once it is closed and done lingering. */
  next(): void {
    const socket = this.#socket;
    if (socket.readyState === 3 && !socket.lingering) return this.#end();
    let pending: Promise<number | null>;
    try {
      pending = this.#conn.read(this.#chunk);
    } catch (err) {
      return this.failed(err);
    }
    pending.then(this.#read, this.failed);
  }

  /** The connection failed (a read error, or the socket threw): the socket ends with `err`. */
  failed = (err: unknown): void => {
    this.#end(String((err as Error)?.message ?? err));
  };

  #end(error?: string): void {
    const socket = this.#socket;
    socket.ended(error);
    this.#opts.onWebSocketEnd?.(this.#conn, socket);
  }

  #read = (n: number | null): void => {
    if (n === null) return this.#end();
    const chunk = this.#chunk;
    try {
      this.#socket.receive(chunk.subarray(0, n));
    } catch (err) {
      return this.failed(err);
    }
    if (n === chunk.length) {
      if (chunk.length === WS_IDLE_CHUNK) this.#chunk = new Uint8Array(WS_BUSY_CHUNK);
    } else if (chunk.length !== WS_IDLE_CHUNK && n < WS_IDLE_CHUNK) {
      this.#chunk = new Uint8Array(WS_IDLE_CHUNK);
    }
    this.next();
  };
}
