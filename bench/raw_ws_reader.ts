/**
 * A minimal, fast WebSocket client for the load generator: a raw TCP socket (`Deno.connect`)
 * that does the HTTP handshake itself, then parses server frames (unmasked) without decoding
 * them: it only scans payloads for benchmark markers `#<sender>.<seq>.<micros>|`, so a frame
 * holding many NDJSON objects counts every marker in it and no JSON is parsed.
 *
 * @module
 */

/** Called for every marker found: sender index, sequence number, send time and read time (µs). */
export type MarkerSink = (sender: number, seq: number, sentUs: number, nowUs: number) => void;

/** Where and how to connect. */
export interface RawWsOptions {
  host: string;
  port: number;
  /** Request target, e.g. `/ws?room=bench`. */
  path: string;
  /** Subprotocol to offer (`fanout.v1` for Fanout's JSON mode). */
  protocol?: string;
  /** Read buffer size in bytes (default 16 KiB; keep it small for many idle sockets). */
  bufferBytes?: number;
  onMarker?: MarkerSink;
}

const enc = new TextEncoder();
const DOT = 0x2e, BAR = 0x7c;
const decoder = new TextDecoder();

/** Microseconds since the time origin, as the markers carry them. */
export function nowUs(): number {
  return Math.round(performance.now() * 1000);
}

/** Encodes a masked client text frame with an all-zero mask key (payload stays as is). */
export function clientTextFrame(text: string): Uint8Array {
  const payload = enc.encode(text);
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + 4 + len);
  out[0] = 0x81;
  out[1] = 0x80 | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) new DataView(out.buffer).setUint16(2, len);
  if (ext === 8) new DataView(out.buffer).setBigUint64(2, BigInt(len));
  out.set(payload, 2 + ext + 4);
  return out;
}

/**
 * One benchmark connection.
 *
 * @example
 * ```ts
 * const ws = await RawWs.connect({ host: "127.0.0.1", port: 8000, path: "/ws?room=a" });
 * await ws.firstFrame; // e.g. Fanout's welcome
 * ws.close();
 * ```
 */
export class RawWs {
  /** Data frames received. */
  frames = 0;
  /** Markers found. */
  markers = 0;
  closed = false;
  /** Resolves on the first data frame (Fanout's welcome). */
  readonly firstFrame: Promise<void>;
  #first: () => void;
  #conn: Deno.TcpConn;
  #onMarker: MarkerSink | undefined;
  #bufferBytes: number;
  // Frame parser state (persists across reads).
  #remaining = 0;
  #opcode = 0;
  #hdr = new Uint8Array(14);
  #hdrLen = 0;
  #control: number[] = [];
  // Marker parser state: 0 outside a marker, 1..3 inside field 1..3.
  #field = 0;
  #acc = 0;
  #sender = 0;
  #seq = 0;
  // Writes are serialised and batched.
  #pending: Uint8Array[] = [];
  #writing = false;

  private constructor(conn: Deno.TcpConn, options: RawWsOptions) {
    this.#conn = conn;
    this.#onMarker = options.onMarker;
    this.#bufferBytes = options.bufferBytes ?? 16 * 1024;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.firstFrame = promise;
    this.#first = resolve;
  }

  /** Connects and completes the handshake; throws unless the server answers 101. */
  static async connect(options: RawWsOptions): Promise<RawWs> {
    const conn = await Deno.connect({ hostname: options.host, port: options.port });
    conn.setNoDelay(true);
    const ws = new RawWs(conn, options);
    try {
      const rest = await ws.#handshake(options);
      ws.#loop(rest);
    } catch (err) {
      conn.close();
      throw err;
    }
    return ws;
  }

  async #handshake(o: RawWsOptions): Promise<Uint8Array> {
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
      const joined = new Uint8Array(head.length + n);
      joined.set(head);
      joined.set(buf.subarray(0, n), head.length);
      head = joined;
      const text = new TextDecoder().decode(head);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      if (!text.startsWith("HTTP/1.1 101")) {
        throw new Error(`handshake refused: ${text.slice(0, text.indexOf("\r\n"))}`);
      }
      return head.subarray(end + 4); // the header is ASCII, so char and byte offsets agree
    }
  }

  async #loop(rest: Uint8Array): Promise<void> {
    if (rest.length > 0) this.#process(rest, rest.length);
    const buf = new Uint8Array(this.#bufferBytes);
    try {
      while (true) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#process(buf, n);
      }
    } catch {
      // Reset or closed by us: the run's counters tell the story.
    }
    this.closed = true;
  }

  #process(buf: Uint8Array, n: number): void {
    const chunk = buf.subarray(0, n);
    const now = nowUs();
    let p = 0;
    while (p < n) {
      if (this.#remaining === 0) {
        p = this.#header(chunk, p, n);
        continue;
      }
      const end = Math.min(n, p + this.#remaining);
      if (this.#opcode >= 8) {
        for (let i = p; i < end; i++) this.#control.push(chunk[i]);
      } else this.#scan(chunk, p, end, now);
      this.#remaining -= end - p;
      p = end;
      if (this.#remaining === 0) this.#frameDone();
    }
  }

  /** Reads header bytes; returns the new position. */
  #header(chunk: Uint8Array, p: number, n: number): number {
    const hdr = this.#hdr;
    while (p < n) {
      hdr[this.#hdrLen++] = chunk[p++];
      if (this.#hdrLen < 2) continue;
      const len7 = hdr[1] & 0x7f;
      const need = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
      if (this.#hdrLen < need) continue;
      this.#opcode = hdr[0] & 0x0f;
      this.#remaining = need === 2 ? len7 : need === 4 ? (hdr[2] << 8) | hdr[3] : Number(
        new DataView(hdr.buffer).getBigUint64(2),
      );
      this.#hdrLen = 0;
      if (this.#opcode < 8) this.frames++;
      if (this.#remaining === 0) this.#frameDone();
      return p;
    }
    return p;
  }

  #frameDone(): void {
    this.#field = 0;
    if (this.#opcode === 9) this.#queue(this.#controlFrame(0x8a, this.#control));
    if (this.#opcode === 8) this.closed = true;
    if (this.#opcode < 8 && this.frames === 1) this.#first();
    this.#control = [];
  }

  #controlFrame(first: number, payload: number[]): Uint8Array {
    const out = new Uint8Array(6 + payload.length);
    out[0] = first;
    out[1] = 0x80 | payload.length;
    out.set(payload, 6);
    return out;
  }

  /**
   * Finds markers in `chunk[p, end)`; a marker may continue in the next read. The bytes are
   * decoded first because `String#indexOf` is several times faster than `Uint8Array#indexOf`
   * (benchmark payloads are ASCII, so a read boundary never splits a character).
   */
  #scan(chunk: Uint8Array, p: number, end: number, now: number): void {
    const s = decoder.decode(chunk.subarray(p, end));
    const n = s.length;
    const sink = this.#onMarker;
    let field = this.#field, acc = this.#acc, sender = this.#sender, seq = this.#seq;
    let i = 0;
    while (i < n) {
      if (field === 0) {
        const h = s.indexOf("#", i);
        if (h < 0) break;
        i = h + 1;
        field = 1;
        acc = 0;
        continue;
      }
      const d = s.charCodeAt(i++) - 48;
      if (d >= 0 && d <= 9) acc = acc * 10 + d;
      else if (d === DOT - 48 && field < 3) {
        if (field === 1) sender = acc;
        else seq = acc;
        field++;
        acc = 0;
      } else {
        if (d === BAR - 48 && field === 3) {
          this.markers++;
          sink?.(sender, seq, acc, now);
        }
        field = 0;
      }
    }
    this.#field = field;
    this.#acc = acc;
    this.#sender = sender;
    this.#seq = seq;
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
