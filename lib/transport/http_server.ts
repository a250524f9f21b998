/**
 * Fanout's own HTTP/1.1 and WebSocket server over a TCP listener: it counts every connection
 * from its first byte (also those that never finish a request), caps them in total and per
 * client address, drops requests that take longer than the request timeout, keeps accepting
 * after the process ran out of file descriptors, pings WebSockets that fall silent, and turns
 * Nagle's algorithm off on every connection (small frames leave at once). Runtime-free: the
 * listener (`Deno.listen`'s satisfies it), clock and timers are injected.
 *
 * @module
 */

import { CoalescedTimers } from "../shared/coalesced_timers.ts";
import { RecencyQueue } from "../shared/recency_queue.ts";
import { settleWithin, type Timers } from "../shared/timers.ts";
import {
  type ConnectionInfo,
  type ConnLike,
  type FetchHandler,
  type HttpConnectionOptions,
  type HttpLimits,
  refuseConnection,
  serveHttpConnection,
  type WebSocketRoute,
} from "./http_connection.ts";
import type { ServerWebSocket } from "./server_web_socket.ts";

/** An accepted TCP connection. */
export interface AcceptedConn extends ConnLike {
  /** The peer: an IP address and port (a Unix socket has neither). */
  readonly remoteAddr: { hostname?: string; port?: number };
  /**
   * Turns Nagle's algorithm off (`TCP_NODELAY`) with `true`; a Unix socket has no such thing.
   * `Deno.TcpConn` has it, and `Deno.listen` leaves it off.
   */
  setNoDelay?(noDelay?: boolean): void;
}

/** A connection held: the key its address is counted under, and its places in the wait order. */
interface Held {
  conn: AcceptedConn;
  key: string;
  queued: number;
}

/** A TCP listener: `Deno.Listener` satisfies it. */
export interface ListenerLike {
  accept(): Promise<AcceptedConn>;
  close(): void;
}

/**
 * Why a connection was refused before any byte was read, or (`descriptors_exhausted`) closed
 * while it waited for a request because a newcomer needed its descriptor.
 */
export type ConnectionRefusal =
  | "connections_full"
  | "connections_per_address"
  | "descriptors_exhausted";

/** Options of {@linkcode HttpServer}. */
export interface HttpServerOptions {
  handler: FetchHandler;
  /** The WebSocket route, answered without a `Request` or the handler (see `serveHttpConnection`). */
  webSocketRoute?: WebSocketRoute;
  limits: HttpLimits;
  /** Origin used for requests without a usable Host header. */
  origin: string;
  /** Most TCP connections held at once; past it a new one gets 503 and is closed. */
  maxConnections: number;
  /** Most TCP connections one client address holds; past it a new one gets 429 and is closed. */
  maxConnectionsPerAddress: number;
  /** The key addresses are counted by (default: the address itself). */
  addressKey?: (hostname: string) => string;
  /** Silence after which a WebSocket is dropped (it is pinged half-way), in ms. */
  idleTimeoutMs: number;
  /** A connection was refused before being read. */
  onRefused?: (reason: ConnectionRefusal, address: string) => void;
  /** `accept` failed (e.g. out of file descriptors); the server waits and tries again. */
  onAcceptError?: (err: unknown, open: number) => void;
  /** A handler threw. */
  onError?: (err: unknown) => void;
  now?: () => number;
  /**
   * Timers of the connections' deadlines and the server's own (default: `CoalescedTimers` on
   * `setTimeout`, one runtime timer per delay).
   */
  timers?: Timers;
}

function hostnameOf(addr: AcceptedConn["remoteAddr"]): { hostname: string; port: number } {
  return { hostname: addr.hostname ?? "unix", port: addr.port ?? 0 };
}

/**
 * Serves a listener until {@linkcode HttpServer.close}.
 *
 * @example
 * ```ts
 * const server = new HttpServer({ handler: app.fetch, limits, origin, maxConnections: 11000,
 *   maxConnectionsPerAddress: 96, idleTimeoutMs: 30_000 });
 * server.serve(Deno.listen({ port: 8000 }));
 * await server.close(5000);
 * ```
 */
export class HttpServer {
  #o: HttpServerOptions;
  #timers: Timers;
  /** Every connection held, with the key its address is counted under. */
  #conns = new Map<AcceptedConn, Held>();
  /**
   * Connections waiting for a request (their first or their next): closed at once when the server
   * shuts down, and the longest waiting (`#waitOrder`) first when descriptors run out.
   */
  #waiting = new Set<AcceptedConn>();
  /** When each connection began to wait, oldest first (a `Set` walked from its start is not O(1)). */
  #waitOrder = new RecencyQueue<Held>();
  #perAddress = new Map<string, number>();
  #sockets = new Set<ServerWebSocket>();
  #listeners = new Set<ListenerLike>();
  #draining = false;
  #closed = false;
  #heartbeat: unknown = null;
  #idle = Promise.withResolvers<void>();

  /** What every connection is served with (one object: a connection holds no closures). */
  #serving: HttpConnectionOptions<AcceptedConn>;

  constructor(options: HttpServerOptions) {
    this.#o = options;
    this.#timers = options.timers ?? new CoalescedTimers();
    this.#serving = {
      handler: options.handler,
      webSocketRoute: options.webSocketRoute,
      origin: options.origin,
      limits: options.limits,
      draining: () => this.#draining,
      onWebSocket: (_conn, socket) => this.#sockets.add(socket),
      onWebSocketEnd: (conn, socket) => {
        this.#sockets.delete(socket);
        this.#release(conn);
      },
      onError: options.onError,
      onPhase: (conn, phase) => {
        this.#waiting.delete(conn);
        if (phase !== "waiting") return;
        if (this.#draining) return conn.close();
        const held = this.#conns.get(conn);
        if (!held) return;
        this.#waiting.add(conn);
        this.#waitOrder.touch(held);
        this.#waitOrder.compact(
          this.#waiting.size,
          () => this.#heldOf(this.#waiting),
          () => this.#conns.values(),
        );
      },
      now: options.now,
      timers: this.#timers,
    };
    this.#scheduleHeartbeat();
  }

  /** TCP connections held now (requests, keep-alive, WebSockets). */
  get connections(): number {
    return this.#conns.size;
  }

  /** Open WebSockets. */
  get webSockets(): number {
    return this.#sockets.size;
  }

  /** Accepts connections from `listener` until it or the server is closed. */
  async serve(listener: ListenerLike): Promise<void> {
    this.#listeners.add(listener);
    let wait = 10;
    while (!this.#closed) {
      let conn: AcceptedConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (this.#closed || !this.#listeners.has(listener)) break;
        if (err instanceof Error && /closed|BadResource/i.test(`${err.name} ${err.message}`)) break;
        // Out of descriptors (EMFILE/ENFILE) or a transient error: the listener stays. The
        // connection that has waited longest for a request (a slow or idle client) gives its
        // descriptor to the newcomer; without one, new connections wait in the backlog until
        // descriptors are free again.
        this.#o.onAcceptError?.(err, this.#conns.size);
        const oldest = this.#waitOrder.oldest((held) => this.#waiting.has(held.conn))?.conn;
        if (oldest) {
          this.#waiting.delete(oldest);
          this.#o.onRefused?.("descriptors_exhausted", "");
          try {
            oldest.close();
          } catch {
            // Already closed.
          }
          continue;
        }
        await new Promise((resolve) => this.#timers.setTimer(() => resolve(null), wait));
        wait = Math.min(wait * 2, 1000);
        continue;
      }
      wait = 10;
      this.#admit(conn);
    }
  }

  #admit(conn: AcceptedConn): void {
    // Without it a small frame written after another waits for the peer's delayed ACK (up to
    // 40 ms on Linux): every WebSocket message is small.
    try {
      conn.setNoDelay?.(true);
    } catch {
      // The connection is already gone: the first read or write says so.
    }
    const remote = hostnameOf(conn.remoteAddr);
    const key = this.#o.addressKey?.(remote.hostname) ?? remote.hostname;
    if (this.#draining) {
      refuseConnection(conn, 503, "server is shutting down; reconnect shortly");
      return;
    }
    if (this.#conns.size >= this.#o.maxConnections) {
      this.#o.onRefused?.("connections_full", key);
      refuseConnection(conn, 503, "server is full; retry later");
      return;
    }
    const held = this.#perAddress.get(key) ?? 0;
    if (held >= this.#o.maxConnectionsPerAddress) {
      this.#o.onRefused?.("connections_per_address", key);
      refuseConnection(
        conn,
        429,
        `too many connections from your address (at most ${this.#o.maxConnectionsPerAddress})`,
      );
      return;
    }
    this.#conns.set(conn, { conn, key, queued: 0 });
    this.#perAddress.set(key, held + 1);
    const info: ConnectionInfo = { remoteAddr: { transport: "tcp", ...remote } };
    serveHttpConnection(conn, info, this.#serving).then((outcome) => {
      if (outcome === "ended") this.#release(conn);
    });
  }

  /** `conn` is done: it no longer counts, in total or for its address. */
  #release(conn: AcceptedConn): void {
    const key = this.#conns.get(conn)?.key;
    if (key === undefined) return;
    this.#conns.delete(conn);
    this.#waiting.delete(conn);
    const left = (this.#perAddress.get(key) ?? 1) - 1;
    if (left === 0) this.#perAddress.delete(key);
    else this.#perAddress.set(key, left);
    if (this.#draining && this.#conns.size === 0) this.#idle.resolve();
  }

  /** The records of `conns`, in their order. */
  *#heldOf(conns: Iterable<AcceptedConn>): Iterable<Held> {
    for (const conn of conns) {
      const held = this.#conns.get(conn);
      if (held) yield held;
    }
  }

  #scheduleHeartbeat(): void {
    const idle = this.#o.idleTimeoutMs;
    this.#heartbeat = this.#timers.setTimer(() => {
      for (const socket of this.#sockets) socket.heartbeat(idle);
      if (!this.#closed) this.#scheduleHeartbeat();
    }, Math.max(100, Math.min(1000, Math.floor(idle / 4))));
  }

  /**
   * Stops accepting, lets requests in progress finish (their connections close after the
   * response), and after `graceMs` drops every connection still open. WebSockets are the hub's
   * to close before this.
   */
  async close(graceMs: number): Promise<void> {
    if (this.#closed) return;
    this.#draining = true;
    for (const listener of this.#listeners) {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
    }
    this.#listeners.clear();
    // Connections waiting for a request are closed now; the others after their response
    // (draining answers with `connection: close`).
    for (const conn of this.#waiting) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    if (this.#conns.size === 0) this.#idle.resolve();
    await settleWithin(this.#idle.promise, graceMs, this.#timers);
    this.#closed = true;
    this.#timers.clearTimer(this.#heartbeat);
    for (const conn of this.#conns.keys()) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }
}
