/**
 * A connection held in memory: what the server reads is what `feed` handed it, what it writes is
 * counted and dropped. The start-up warm-up (`lib/server/warm_up.ts`) and the in-process
 * benchmarks (`deno task bench:js`) hand such connections to Fanout's own server through a
 * {@linkcode MemoryListener}: no socket, no kernel.
 *
 * @module
 */

import { headEnd } from "./http_head.ts";

/**
 * A connection whose reads wait for what is fed and whose writes are counted and dropped.
 *
 * @example
 * ```ts
 * const conn = new MemoryConn(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
 * listener.connect(conn); // a MemoryListener the server accepts from
 * conn.close(); // the peer's end
 * ```
 */
export class MemoryConn {
  readonly remoteAddr: { transport: "tcp"; hostname: string; port: number };
  /** Bytes written to this connection. */
  bytes = 0;
  /** Writes made to this connection. */
  writes = 0;
  /** Bytes of the HTTP response head, found in the first write (0 before it). */
  headBytes = 0;
  #inbox: Uint8Array[] = [];
  #pending: { buf: Uint8Array; resolve: (n: number | null) => void } | null = null;
  #closed = false;

  /**
   * `request`: the first bytes the server reads (an HTTP request); `hostname`, `port`: the peer's
   * address (default 127.0.0.1:40000).
   */
  constructor(request: Uint8Array, hostname = "127.0.0.1", port = 40000) {
    this.#inbox.push(request);
    this.remoteAddr = { transport: "tcp", hostname, port };
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

  /** Nagle's algorithm has no meaning here. */
  setNoDelay(): void {}
}
