/**
 * A raw WebSocket client on a plain TCP socket (`Deno.connect`): it performs the HTTP handshake
 * itself with any headers, writes any frame (any opcode, masked or not, fragmented, invalid
 * UTF-8, oversized), and reads server frames only when asked, so that a test can stop reading
 * entirely and act as a slow consumer.
 *
 * @module
 */

/** WebSocket opcodes. */
export const Op = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** One frame read from the server. */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** A whole message (continuations joined), or the server's close frame, or the end of the stream. */
export type RawMessage =
  | { kind: "text"; text: string }
  | { kind: "binary"; data: Uint8Array }
  | { kind: "close"; code: number | null; reason: string }
  | { kind: "eof" };

/** What to write in {@linkcode RawWs.sendFrame}. */
export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  /** Final fragment (default true). */
  fin?: boolean;
  /** Mask the payload, as RFC 6455 requires of clients (default true). */
  mask?: boolean;
}

/** Result of the HTTP handshake: the status line, headers, and the socket when it was 101. */
export interface RawHandshake {
  status: number;
  headers: Headers;
  /** Body of a refused handshake (read up to its content-length). */
  body: string;
  ws: RawWs | null;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(payload: Uint8Array | string | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  return typeof payload === "string" ? enc.encode(payload) : payload;
}

/** Encodes one frame as a client would (masked unless told otherwise). */
export function encodeFrame(spec: FrameSpec): Uint8Array {
  const payload = bytes(spec.payload);
  const mask = spec.mask ?? true;
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = new Uint8Array(2 + ext + (mask ? 4 : 0));
  head[0] = ((spec.fin ?? true) ? 0x80 : 0) | (spec.opcode & 0x0f);
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  const view = new DataView(head.buffer);
  if (ext === 2) view.setUint16(2, len);
  if (ext === 8) view.setBigUint64(2, BigInt(len));
  const out = new Uint8Array(head.length + len);
  out.set(head);
  if (!mask) {
    out.set(payload, head.length);
    return out;
  }
  const key = crypto.getRandomValues(new Uint8Array(4));
  head.set(key, 2 + ext);
  out.set(head);
  for (let i = 0; i < len; i++) out[head.length + i] = payload[i] ^ key[i & 3];
  return out;
}

/**
 * A client socket speaking WebSocket by hand.
 *
 * @example
 * ```ts
 * const hs = await RawWs.connect(port, "/ws?room=r", { protocols: ["fanout.v1"] });
 * await hs.ws!.sendText('{"type":"ping","t":1}');
 * const msg = await hs.ws!.read(); // { kind: "text", text: '{"type":"welcome",...}' }
 * hs.ws!.abort();
 * ```
 */
export class RawWs {
  readonly conn: Deno.Conn;
  #buf: Uint8Array;
  #closed = false;
  /** NDJSON lines read by {@linkcode RawWs.until} but not consumed yet. */
  #lines: string[] = [];

  private constructor(conn: Deno.Conn, rest: Uint8Array) {
    this.conn = conn;
    this.#buf = rest;
  }

  /** Opens a TCP connection to 127.0.0.1:`port` and sends the upgrade request for `path`. */
  static async connect(
    port: number,
    path: string,
    options: { headers?: Record<string, string>; protocols?: string[]; upgrade?: boolean } = {},
  ): Promise<RawHandshake> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
    if (options.upgrade ?? true) {
      lines.push("Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${key}`);
      lines.push("Sec-WebSocket-Version: 13");
    } else lines.push("Connection: close");
    if (options.protocols?.length) {
      lines.push(`Sec-WebSocket-Protocol: ${options.protocols.join(", ")}`);
    }
    for (const [k, v] of Object.entries(options.headers ?? {})) lines.push(`${k}: ${v}`);
    await writeAll(conn, enc.encode(lines.join("\r\n") + "\r\n\r\n"));
    const raw = new RawWs(conn, new Uint8Array(0));
    const head = await raw.#readHead();
    if (head === null) {
      raw.abort();
      throw new Error(`connection closed during the handshake to ${path}`);
    }
    const [statusLine, ...headerLines] = head.split("\r\n");
    const status = Number(statusLine.split(" ")[1]);
    const headers = new Headers();
    for (const line of headerLines) {
      const i = line.indexOf(":");
      if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    if (status === 101) return { status, headers, body: "", ws: raw };
    const length = Number(headers.get("content-length") ?? "0");
    const body = (await raw.#take(length)) ?? new Uint8Array(0);
    raw.abort();
    return { status, headers, body: dec.decode(body), ws: null };
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

  async #readHead(): Promise<string | null> {
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

  async #take(n: number): Promise<Uint8Array | null> {
    while (this.#buf.length < n) if (!(await this.#fill())) return null;
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  /** Writes raw bytes to the socket (e.g. a half frame). */
  async write(data: Uint8Array): Promise<void> {
    await writeAll(this.conn, data);
  }

  /** Writes one frame. */
  async sendFrame(spec: FrameSpec): Promise<void> {
    await this.write(encodeFrame(spec));
  }

  /** Writes one masked text frame. */
  async sendText(text: string): Promise<void> {
    await this.sendFrame({ opcode: Op.text, payload: text });
  }

  /** Reads one frame, or null at the end of the stream. */
  async readFrame(): Promise<RawFrame | null> {
    const head = await this.#take(2);
    if (!head) return null;
    let len = head[1] & 0x7f;
    if (len === 126) {
      const ext = await this.#take(2);
      if (!ext) return null;
      len = new DataView(ext.buffer).getUint16(0);
    } else if (len === 127) {
      const ext = await this.#take(8);
      if (!ext) return null;
      len = Number(new DataView(ext.buffer).getBigUint64(0));
    }
    const payload = await this.#take(len);
    if (!payload) return null;
    return { fin: (head[0] & 0x80) !== 0, opcode: head[0] & 0x0f, payload };
  }

  /**
   * Reads one whole message: joins continuations, answers pings, and returns the close frame or
   * `eof`. Rejects after `timeoutMs`.
   */
  async read(timeoutMs = 3000): Promise<RawMessage> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no frame from the server within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.#readMessage(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #readMessage(): Promise<RawMessage> {
    const parts: Uint8Array[] = [];
    let opcode = -1;
    while (true) {
      const frame = await this.readFrame();
      if (!frame) return { kind: "eof" };
      if (frame.opcode === Op.ping) {
        await this.sendFrame({ opcode: Op.pong, payload: frame.payload }).catch(() => {});
        continue;
      }
      if (frame.opcode === Op.pong) continue;
      if (frame.opcode === Op.close) {
        const p = frame.payload;
        const code = p.length >= 2 ? (p[0] << 8) | p[1] : null;
        return { kind: "close", code, reason: dec.decode(p.subarray(2)) };
      }
      if (frame.opcode !== Op.cont) opcode = frame.opcode;
      parts.push(frame.payload);
      if (!frame.fin) continue;
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      return opcode === Op.text
        ? { kind: "text", text: dec.decode(all) }
        : { kind: "binary", data: all };
    }
  }

  /**
   * Reads the next JSON-mode object (NDJSON lines split, the rest kept for the next call), or
   * the close frame, binary frame or end of the stream. Rejects after `timeoutMs`.
   */
  async nextJson(
    timeoutMs = 3000,
  ): Promise<
    { kind: "json"; frame: Record<string, unknown> } | Exclude<RawMessage, { kind: "text" }>
  > {
    if (this.#lines.length === 0) {
      const msg = await this.read(timeoutMs);
      if (msg.kind !== "text") return msg;
      this.#lines.push(...msg.text.split("\n"));
    }
    return { kind: "json", frame: JSON.parse(this.#lines.shift()!) };
  }

  /**
   * Reads JSON-mode objects until one satisfies `match` and returns it. Throws on close, eof or
   * timeout with what was seen.
   */
  async until(
    match: (frame: Record<string, unknown>) => boolean,
    timeoutMs = 3000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    const seen: string[] = [];
    while (true) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame; saw ${seen.join(" | ").slice(-400)}`);
      const next = await this.nextJson(left);
      if (next.kind !== "json") {
        throw new Error(`got ${JSON.stringify(next)} before a match; saw ${seen.join(" | ")}`);
      }
      seen.push(JSON.stringify(next.frame).slice(0, 100));
      if (match(next.frame)) return next.frame;
    }
  }

  /** Sends a close frame with `code` (best effort). */
  async sendClose(code = 1000, reason = ""): Promise<void> {
    const r = enc.encode(reason);
    const payload = new Uint8Array(2 + r.length);
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    payload.set(r, 2);
    await this.sendFrame({ opcode: Op.close, payload }).catch(() => {});
  }

  /** Closes the TCP socket at once (no close handshake). Safe to call twice. */
  abort(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.length) at += await conn.write(data.subarray(at));
}
