/**
 * A raw WebSocket client on a plain TCP socket (`Deno.connect`, or `node:net` from another
 * loopback source address: `connectTcp`): it performs the HTTP handshake
 * itself with any headers (`raw_ws_handshake.ts`), writes any frame (any opcode, masked or not,
 * fragmented, invalid UTF-8, oversized; `masked_frames.ts`), and reads server frames only when
 * asked, so that a test can stop reading entirely and act as a slow consumer.
 *
 * @module
 */

import { ByteConn } from "./raw_ws_bytes.ts";
import {
  closeBody,
  maskedFrame,
  type MaskedFrameSpec,
  Op,
  type RawFrame,
  readFrame,
} from "./masked_frames.ts";
import { handshake, type HandshakeOptions } from "./raw_ws_handshake.ts";
import { connectTcp, type TcpConn } from "./tcp_from.ts";

/**
 * A whole message (continuations joined), or the server's close frame, or the end of the stream.
 *
 * @example
 * ```ts
 * const msg: RawMessage = await ws.read(); // e.g. { kind: "close", code: 1009, reason: "..." }
 * ```
 */
export type RawMessage =
  | { kind: "text"; text: string }
  | { kind: "binary"; data: Uint8Array }
  | { kind: "close"; code: number | null; reason: string }
  | { kind: "eof" };

/**
 * Result of the HTTP handshake: the status line, headers, and the socket when it was 101.
 *
 * @example
 * ```ts
 * const hs: RawHandshake = await RawWs.connect(port, "/ws?room=r");
 * if (hs.status !== 101) console.log(hs.status, hs.body);
 * ```
 */
export interface RawHandshake {
  status: number;
  headers: Headers;
  /** Body of a refused handshake (read up to its content-length). */
  body: string;
  ws: RawWs | null;
}

/**
 * Options of {@linkcode RawWs.connect}: the handshake's, and the source address.
 *
 * @example
 * ```ts
 * const options: RawConnectOptions = { from: "127.0.0.2", protocols: ["fanout.v1"] };
 * ```
 */
export interface RawConnectOptions extends HandshakeOptions {
  /** Source address of the connection, e.g. `127.0.0.2` (default 127.0.0.1). */
  from?: string;
}

const dec = new TextDecoder();

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
  readonly conn: TcpConn;
  #bytes: ByteConn;
  /** NDJSON lines read by {@linkcode RawWs.until} but not consumed yet. */
  #lines: string[] = [];

  private constructor(bytes: ByteConn) {
    this.#bytes = bytes;
    this.conn = bytes.conn;
  }

  /**
   * Opens a TCP connection to 127.0.0.1:`port` (from `options.from` when given) and sends the
   * upgrade request for `path`.
   */
  static async connect(
    port: number,
    path: string,
    options: RawConnectOptions = {},
  ): Promise<RawHandshake> {
    const bytes = new ByteConn(await connectTcp(port, { from: options.from }));
    const reply = await handshake(bytes, port, path, options);
    return { ...reply, ws: reply.status === 101 ? new RawWs(bytes) : null };
  }

  /** Writes raw bytes to the socket (e.g. a half frame). */
  async write(data: Uint8Array): Promise<void> {
    await this.#bytes.write(data);
  }

  /** Writes one frame. */
  async sendFrame(spec: MaskedFrameSpec): Promise<void> {
    await this.write(maskedFrame(spec));
  }

  /** Writes one masked text frame. */
  async sendText(text: string): Promise<void> {
    await this.sendFrame({ opcode: Op.text, payload: text });
  }

  /** Reads one frame, or null at the end of the stream. */
  readFrame(): Promise<RawFrame | null> {
    return readFrame(this.#bytes);
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
    await this.sendFrame({ opcode: Op.close, payload: closeBody(code, reason) }).catch(() => {});
  }

  /** Closes the TCP socket at once (no close handshake). Safe to call twice. */
  abort(): void {
    this.#bytes.abort();
  }
}
