/**
 * The frame writer and reader of the raw WebSocket client: encodes any frame a test asks for
 * (any opcode, masked or not, fragmented, invalid UTF-8, oversized) and decodes the server's.
 *
 * @module
 */

import type { ByteConn } from "./raw_ws_bytes.ts";

/**
 * WebSocket opcodes.
 *
 * @example
 * ```ts
 * encodeFrame({ opcode: Op.ping, payload: "hb" });
 * ```
 */
export const Op = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/**
 * One frame read from the server.
 *
 * @example
 * ```ts
 * const frame: RawFrame = { fin: true, opcode: Op.text, payload: new TextEncoder().encode("hi") };
 * ```
 */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/**
 * What to write in {@linkcode encodeFrame} (and `RawWs.sendFrame`).
 *
 * @example
 * ```ts
 * const half: FrameSpec = { opcode: Op.text, payload: '{"type":', fin: false };
 * ```
 */
export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  /** Final fragment (default true). */
  fin?: boolean;
  /** Mask the payload, as RFC 6455 requires of clients (default true). */
  mask?: boolean;
  /** Reserved bits RSV1-RSV3 as the bits 0x70 of the first byte (default 0). */
  rsv?: number;
}

const enc = new TextEncoder();

function bytesOf(payload: Uint8Array | string | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  return typeof payload === "string" ? enc.encode(payload) : payload;
}

/**
 * Encodes one frame as a client would (masked unless told otherwise).
 *
 * @example
 * ```ts
 * await conn.write(encodeFrame({ opcode: Op.text, payload: '{"type":"ping","t":1}' }));
 * ```
 */
export function encodeFrame(spec: FrameSpec): Uint8Array {
  const payload = bytesOf(spec.payload);
  const mask = spec.mask ?? true;
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = new Uint8Array(2 + ext + (mask ? 4 : 0));
  head[0] = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) & 0x70) | (spec.opcode & 0x0f);
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
 * The payload of a close frame: the 2-byte `code`, then `reason` in UTF-8.
 *
 * @example
 * ```ts
 * encodeFrame({ opcode: Op.close, payload: closePayload(1000, "bye") });
 * ```
 */
export function closePayload(code: number, reason: string): Uint8Array {
  const r = enc.encode(reason);
  const payload = new Uint8Array(2 + r.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(r, 2);
  return payload;
}

/**
 * Reads one (unmasked) server frame from `bytes`, or null at the end of the stream.
 *
 * @example
 * ```ts
 * const frame = await readFrame(bytes); // { fin: true, opcode: 1, payload: ... } or null
 * ```
 */
export async function readFrame(bytes: ByteConn): Promise<RawFrame | null> {
  const head = await bytes.take(2);
  if (!head) return null;
  let len = head[1] & 0x7f;
  if (len === 126) {
    const ext = await bytes.take(2);
    if (!ext) return null;
    len = new DataView(ext.buffer).getUint16(0);
  } else if (len === 127) {
    const ext = await bytes.take(8);
    if (!ext) return null;
    len = Number(new DataView(ext.buffer).getBigUint64(0));
  }
  const payload = await bytes.take(len);
  if (!payload) return null;
  return { fin: (head[0] & 0x80) !== 0, opcode: head[0] & 0x0f, payload };
}
