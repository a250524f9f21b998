/**
 * The byte level of the raw WebSocket client: a TCP connection with a read buffer, from which
 * the handshake takes the HTTP head and the frame reader takes exact byte counts.
 *
 * @module
 */

import type { TcpConn } from "./tcp_from.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A TCP connection (a `Deno.Conn`, or one from another source address made by `connectTcp`)
 * read in exact pieces.
 *
 * @example
 * ```ts
 * const bytes = new ByteConn(await Deno.connect({ hostname: "127.0.0.1", port }));
 * await bytes.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
 * const head = await bytes.readHead(); // "HTTP/1.1 200 OK\r\n..." or null
 * const two = await bytes.take(2); // exactly 2 bytes, or null at the end of the stream
 * bytes.abort();
 * ```
 */
export class ByteConn {
  readonly conn: TcpConn;
  #buf = new Uint8Array(0);
  #closed = false;

  constructor(conn: TcpConn) {
    this.conn = conn;
  }

  /** Reads an HTTP head; returns it without its closing blank line, or null if the stream ends. */
  async readHead(): Promise<string | null> {
    while (true) {
      const text = dec.decode(this.#buf);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const headBytes = enc.encode(text.slice(0, end + 4)).length;
        this.#buf = this.#buf.slice(headBytes);
        return text.slice(0, end);
      }
      if (!(await this.#fill())) return null;
    }
  }

  /** Reads exactly `n` bytes, or returns null when the stream ends first. */
  async take(n: number): Promise<Uint8Array | null> {
    while (this.#buf.length < n) if (!(await this.#fill())) return null;
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  /** Writes all of `data`. */
  async write(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) at += await this.conn.write(data.subarray(at));
  }

  /** Closes the TCP socket at once. Safe to call twice. */
  abort(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      n = null;
    }
    if (n === null) return false;
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }
}
