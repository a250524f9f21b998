/**
 * A minimal, fast WebSocket client for the load generator: a raw TCP socket (`Deno.connect`)
 * that does the HTTP handshake itself, then hands every read to a {@linkcode FrameScanner},
 * which parses server frames (unmasked) and counts benchmark markers without parsing JSON.
 *
 * @module
 */

import { maskedFrame, Op } from "../tests/helpers/masked_frames.ts";
import { FrameScanner, type MarkerSink } from "./frame_scanner.ts";

export type { MarkerSink };

/** Where and how to connect. */
export interface LoadClientOptions {
  host: string;
  port: number;
  /** Request target, e.g. `/ws?room=bench`. */
  path: string;
  /** Subprotocol to offer (`fanout.v1` for Fanout's JSON mode). */
  protocol?: string;
  /** Read buffer size in bytes (default 16 KiB; keep it small for many idle sockets). */
  bufferBytes?: number;
  onMarker?: MarkerSink;
  /** Ack markers (`!…|` in an ack's `ref`): only a sender's scanner looks for them. */
  onAck?: MarkerSink;
}

const enc = new TextEncoder();
const decoder = new TextDecoder();
const STATUS_101 = enc.encode("HTTP/1.1 101");

/** Where `\r\n\r\n` starts in `bytes`, or -1. */
function headEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/** True when `bytes` starts with a 101 status line. */
function startsWith101(bytes: Uint8Array): boolean {
  if (bytes.length < STATUS_101.length) return false;
  for (let i = 0; i < STATUS_101.length; i++) if (bytes[i] !== STATUS_101[i]) return false;
  return true;
}
/** The mask key of every frame the load generator sends: XOR with zero keeps the payload. */
const ZERO_KEY = [0, 0, 0, 0];

/**
 * Microseconds since the time origin, as the markers carry them.
 *
 * @example
 * ```ts
 * const text = `#0.1.${nowUs()}|`;
 * ```
 */
export function nowUs(): number {
  return Math.round(performance.now() * 1000);
}

/**
 * Encodes a masked client text frame with an all-zero mask key (payload stays as is).
 *
 * @example
 * ```ts
 * clientTextFrame("hi"); // Uint8Array [0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69]
 * ```
 */
export function clientTextFrame(text: string): Uint8Array {
  const payload = enc.encode(text);
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  // Header, then the mask key (zeros, as the array starts), then the payload XOR zero: itself.
  const out = new Uint8Array(2 + ext + 4 + len);
  out[0] = 0x80 | Op.text;
  out[1] = 0x80 | (ext === 0 ? len : ext === 2 ? 126 : 127);
  for (let i = 0, l = len; i < ext; i++, l = Math.floor(l / 256)) out[1 + ext - i] = l & 0xff;
  out.set(payload, 2 + ext + 4);
  return out;
}

/**
 * One benchmark connection.
 *
 * @example
 * ```ts
 * const ws = await LoadClient.connect({ host: "127.0.0.1", port: 8000, path: "/ws?room=a" });
 * await ws.firstFrame; // e.g. Fanout's welcome
 * ws.close();
 * ```
 */
export class LoadClient {
  closed = false;
  /** Resolves on the first data frame (Fanout's welcome). */
  readonly firstFrame: Promise<void>;
  #conn: Deno.TcpConn;
  #scanner: FrameScanner;
  #bufferBytes: number;
  // Writes are serialised and batched.
  #pending: Uint8Array[] = [];
  #writing = false;

  private constructor(conn: Deno.TcpConn, options: LoadClientOptions) {
    this.#conn = conn;
    this.#bufferBytes = options.bufferBytes ?? 16 * 1024;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.firstFrame = promise;
    this.#scanner = new FrameScanner({
      onMarker: options.onMarker,
      onAck: options.onAck,
      onDataFrame: (n) => n === 1 && resolve(),
      onControl: (opcode, payload) => {
        if (opcode === Op.ping) {
          this.#queue(
            maskedFrame({ opcode: Op.pong, payload: new Uint8Array(payload), mask: ZERO_KEY }),
          );
        }
        if (opcode === Op.close) this.closed = true;
      },
    });
  }

  /** Data frames received. */
  get frames(): number {
    return this.#scanner.frames;
  }

  /** Markers found. */
  get markers(): number {
    return this.#scanner.markers;
  }

  /** Connects and completes the handshake; throws unless the server answers 101. */
  static async connect(options: LoadClientOptions): Promise<LoadClient> {
    const conn = await Deno.connect({ hostname: options.host, port: options.port });
    conn.setNoDelay(true);
    const ws = new LoadClient(conn, options);
    try {
      const rest = await ws.#handshake(options);
      ws.#loop(rest);
    } catch (err) {
      conn.close();
      throw err;
    }
    return ws;
  }

  async #handshake(o: LoadClientOptions): Promise<Uint8Array> {
    const proto = o.protocol ? `Sec-WebSocket-Protocol: ${o.protocol}\r\n` : "";
    const req = `GET ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
      `Sec-WebSocket-Version: 13\r\n${proto}\r\n`;
    await this.#writeAll(enc.encode(req));
    let head = new Uint8Array(0);
    const buf = new Uint8Array(4096);
    while (true) {
      const n = await this.#conn.read(buf);
      if (n === null) throw new Error(`handshake with ${o.host}:${o.port}: connection closed`);
      // Most often the whole response head comes in the first read: no copy then.
      if (head.length === 0) head = buf.subarray(0, n);
      else {
        const joined = new Uint8Array(head.length + n);
        joined.set(head);
        joined.set(buf.subarray(0, n), head.length);
        head = joined;
      }
      // Only the head is looked at, not what follows it in the same read (Fanout's welcome).
      const end = headEnd(head);
      if (end < 0) {
        if (head.buffer === buf.buffer) head = head.slice(); // the next read reuses buf
        continue;
      }
      if (!startsWith101(head)) {
        const status = decoder.decode(head.subarray(0, Math.min(end, 200)));
        throw new Error(`handshake refused: ${status.slice(0, status.indexOf("\r\n"))}`);
      }
      return head.slice(end + 4);
    }
  }

  async #loop(rest: Uint8Array): Promise<void> {
    if (rest.length > 0) this.#scanner.push(rest, nowUs());
    const buf = new Uint8Array(this.#bufferBytes);
    try {
      while (true) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#scanner.push(buf.subarray(0, n), nowUs());
      }
    } catch {
      // Reset or closed by us: the run's counters tell the story.
    }
    this.closed = true;
  }

  /** Sends one text message (masked, as a client must). */
  sendText(text: string): void {
    this.#queue(clientTextFrame(text));
  }

  #queue(frame: Uint8Array): void {
    if (this.closed) return;
    this.#pending.push(frame);
    if (!this.#writing) this.#drain();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.length > 0) {
        const list = this.#pending;
        this.#pending = [];
        let total = 0;
        for (const f of list) total += f.length;
        const out = new Uint8Array(total);
        let at = 0;
        for (const f of list) (out.set(f, at), at += f.length);
        await this.#writeAll(out);
      }
    } catch {
      this.closed = true;
    }
    this.#writing = false;
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) at += await this.#conn.write(data.subarray(at));
  }

  /** Closes the TCP socket (no close handshake: the benchmark does not need one). */
  close(): void {
    this.closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}
