/**
 * Fake sockets for the in-process benchmarks (`deno task bench:js`): a listener that hands
 * Fanout's `listen()` the connections the benchmark makes, and connections whose reads wait for
 * what the benchmark feeds and whose writes are counted and dropped. No socket, no kernel: what
 * the benchmarks measure is JavaScript, V8 and the collector.
 *
 * @module
 */

import { headEnd } from "../lib/transport/http_head.ts";

const enc = new TextEncoder();

/**
 * A connection the benchmark feeds: reads wait for `feed`, writes are counted and dropped.
 *
 * @example
 * ```ts
 * const conn = new FakeConn(upgradeRequest(0, "bench"));
 * listener.connect(conn);
 * conn.feed(clientTextFrame('{"type":"message","text":"hi"}'));
 * ```
 */
export class FakeConn {
  readonly remoteAddr = { transport: "tcp" as const, hostname: "127.0.0.1", port: 40000 };
  /** Bytes written to this connection. */
  bytes = 0;
  /** Writes made to this connection. */
  writes = 0;
  /** Bytes of the HTTP response head, found in the first write (0 before it). */
  headBytes = 0;
  #inbox: Uint8Array[] = [];
  #pending: { buf: Uint8Array; resolve: (n: number | null) => void } | null = null;
  #closed = false;

  /** `request`: the first bytes the server reads (the HTTP upgrade request). */
  constructor(request: Uint8Array) {
    this.#inbox.push(request);
  }

  /** Fills `buf` with what was fed (waiting for it), or null once closed. */
  read(buf: Uint8Array): Promise<number | null> {
    const next = this.#inbox.shift();
    if (next !== undefined) return Promise.resolve(this.#copy(next, buf));
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#pending = { buf, resolve });
  }

  /** Hands `bytes` to the pending read, or keeps them for the next one. */
  feed(bytes: Uint8Array): void {
    const pending = this.#pending;
    if (pending === null) return void this.#inbox.push(bytes);
    this.#pending = null;
    pending.resolve(this.#copy(bytes, pending.buf));
  }

  #copy(bytes: Uint8Array, buf: Uint8Array): number {
    const n = Math.min(bytes.length, buf.length);
    buf.set(bytes.subarray(0, n));
    if (n < bytes.length) this.#inbox.unshift(bytes.subarray(n));
    return n;
  }

  /** True once bytes after the HTTP response head were written (the 101, then a frame). */
  get framed(): boolean {
    return this.headBytes > 0 && this.bytes > this.headBytes;
  }

  /** Counts the write and drops it. */
  write(bytes: Uint8Array): Promise<number> {
    if (this.writes === 0) {
      const end = headEnd(bytes, 0, bytes.length);
      this.headBytes = end < 0 ? bytes.length : end;
    }
    this.bytes += bytes.length;
    this.writes++;
    return Promise.resolve(bytes.length);
  }

  /** The peer's end: the pending read and every later one get null (end of stream). */
  close(): void {
    this.#closed = true;
    const pending = this.#pending;
    this.#pending = null;
    pending?.resolve(null);
  }

  setNoDelay(): void {}
}

/**
 * The listener `listen()` takes (its `listener` option): `accept` resolves with the next
 * connection the benchmark hands it through `connect`.
 *
 * @example
 * ```ts
 * const listener = new FakeListener();
 * const server = await listen(config, { listener });
 * listener.connect(new FakeConn(upgradeRequest(0, "bench")));
 * ```
 */
export class FakeListener {
  readonly addr = { hostname: "127.0.0.1", port: 8000 };
  #waiting: { resolve: (conn: FakeConn) => void; reject: (err: Error) => void }[] = [];
  #ready: FakeConn[] = [];

  /** The next connection handed over (waiting for one). */
  accept(): Promise<FakeConn> {
    const next = this.#ready.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Hands `conn` to the server, as if a client had just connected. */
  connect(conn: FakeConn): void {
    const take = this.#waiting.shift();
    if (take) take.resolve(conn);
    else this.#ready.push(conn);
  }

  /** Rejects the accepts still waiting. */
  close(): void {
    for (const w of this.#waiting.splice(0)) w.reject(new Error("listener closed"));
  }
}

/**
 * The upgrade request of client `i` to `room`, as a browser sends it: in JSON mode (`fanout.v1`),
 * or in plain mode (no subprotocol) when `plain`.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(upgradeRequest(3, "bench")).startsWith("GET /ws?room=bench "); // true
 * ```
 */
export function upgradeRequest(i: number, room: string, plain = false): Uint8Array {
  const key = btoa(String(i).padStart(16, "k"));
  return enc.encode(
    `GET /ws?room=${room} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      (plain ? "" : "Sec-WebSocket-Protocol: fanout.v1\r\n") + "\r\n",
  );
}
