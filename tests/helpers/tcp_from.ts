/**
 * TCP connections from a chosen loopback source address (127.0.0.2, 127.0.0.3, ...), so that a
 * test can play several client addresses against the per-address limits. `Deno.connect` cannot
 * pick its local address; `node:net` can, and {@linkcode connectTcp} adapts its socket to the
 * small read/write/close surface of `Deno.Conn` that the raw clients use. At most 64 KiB are
 * taken from the kernel ahead of `read`, so a caller that stops reading is a real non-reader (the
 * server's writes back up).
 *
 * @module
 */

import net from "node:net";

/**
 * The part of `Deno.Conn` the raw clients need; `Deno.Conn` satisfies it.
 *
 * @example
 * ```ts
 * const conn: TcpConn = await connectTcp(port, { from: "127.0.0.2" });
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
 * ```
 */
export interface TcpConn {
  /** Reads into `buffer`; the byte count, or null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes bytes; resolves with how many were taken. */
  write(data: Uint8Array): Promise<number>;
  /** Drops the connection. */
  close(): void;
}

/** Bytes taken from the socket and not read yet before it is paused (backpressure). */
const HIGH_WATER = 64 * 1024;

/**
 * A `node:net` socket as a {@linkcode TcpConn}. Chunks are queued here as they arrive and the
 * socket is paused past {@linkcode HIGH_WATER} bytes, so that what came before a reset (a
 * server's close frame) is still read: `node:net` drops its own buffer when the reset arrives.
 */
class NodeTcpConn implements TcpConn {
  #socket: net.Socket;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    const wake = () => {
      const w = this.#wake;
      this.#wake = null;
      w?.();
    };
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(new Uint8Array(chunk));
      this.#queued += chunk.length;
      if (this.#queued >= HIGH_WATER) socket.pause();
      wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      wake();
    });
    socket.on("error", (err: Error) => {
      this.#error = err;
      wake();
    });
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (true) {
      const first = this.#chunks[0];
      if (first !== undefined) {
        const n = Math.min(buffer.length, first.length);
        buffer.set(first.subarray(0, n));
        if (n < first.length) this.#chunks[0] = first.subarray(n);
        else this.#chunks.shift();
        this.#queued -= n;
        if (this.#queued < HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
        return n;
      }
      if (this.#error) throw this.#error;
      if (this.#ended || this.#socket.destroyed) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  write(data: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#socket.destroyed) return reject(new Error("write on a closed connection"));
      this.#socket.write(data, (err?: Error | null) => err ? reject(err) : resolve(data.length));
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

/**
 * Options of {@linkcode connectTcp}.
 *
 * @example
 * ```ts
 * const options: TcpFromOptions = { from: "127.0.0.3" };
 * ```
 */
export interface TcpFromOptions {
  /** Local (source) address, e.g. `127.0.0.2`; default: `Deno.connect` from 127.0.0.1. */
  from?: string;
  /** Server host (default 127.0.0.1). */
  host?: string;
  /** Longest wait for the connection (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * Opens a TCP connection to `host:port`, from `from` when given (through `node:net`), else with
 * `Deno.connect`. Rejects with the address when the connection fails or takes too long.
 *
 * @example
 * ```ts
 * const conn = await connectTcp(port, { from: "127.0.0.2" }); // the server sees 127.0.0.2
 * conn.close();
 * ```
 */
export function connectTcp(port: number, options: TcpFromOptions = {}): Promise<TcpConn> {
  const host = options.host ?? "127.0.0.1";
  if (options.from === undefined) return Deno.connect({ hostname: host, port });
  const from = options.from;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress: from });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP connection from ${from} to ${host}:${port} within the timeout`));
    }, options.timeoutMs ?? 5000);
    socket.once("error", (err: Error) => {
      clearTimeout(timer);
      reject(new Error(`TCP connection from ${from} to ${host}:${port} failed: ${err.message}`));
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(new NodeTcpConn(socket));
    });
  });
}
