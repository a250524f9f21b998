/**
 * The one WebSocket frame codec of the tests and the benchmark: client frames built byte by byte
 * (any opcode, header bits, mask key, length form, or unmasked), and a decoder of whole frames,
 * masked or not, from a buffer or from a raw socket. The transport's unit tests, the raw client
 * (`raw_ws.ts`), the console relay, and the load generator (`bench/`) all use it.
 *
 * @module
 */

import type { ByteConn } from "./raw_ws_bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * WebSocket opcodes.
 *
 * @example
 * ```ts
 * maskedFrame({ opcode: Op.ping, payload: "hb" });
 * ```
 */
export const Op = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/**
 * A client frame to build with {@linkcode maskedFrame}.
 *
 * @example
 * ```ts
 * const spec: MaskedFrameSpec = { opcode: Op.text, payload: '{"type":', fin: false };
 * ```
 */
export interface MaskedFrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  /** Final fragment (default true). */
  fin?: boolean;
  /** Bits 0x70 of the first byte, RSV1-RSV3 (default 0). */
  rsv?: number;
  /** The mask key (default 0x37 0xfa 0x21 0x3d, RFC 6455's sample); null sends it unmasked. */
  mask?: number[] | null;
  /** Length field form: "auto" (minimal), 16 or 64 bits whatever the length (default "auto"). */
  lengthForm?: "auto" | 16 | 64;
  /** Announced length instead of the payload's (the payload bytes are still appended). */
  announce?: number;
}

/**
 * Encodes one client frame, masked as RFC 6455 requires of clients unless `mask` is null.
 *
 * @example
 * ```ts
 * maskedFrame({ opcode: 1, payload: "Hello" }); // RFC 6455 5.7: 81 85 37 fa 21 3d 7f 9f 4d 51 58
 * ```
 */
export function maskedFrame(spec: MaskedFrameSpec): Uint8Array {
  const payload = typeof spec.payload === "string"
    ? enc.encode(spec.payload)
    : spec.payload ?? new Uint8Array(0);
  const len = spec.announce ?? payload.length;
  const form = spec.lengthForm ?? "auto";
  const ext = form === 16 ? 2 : form === 64 ? 8 : len < 126 ? 0 : len < 65536 ? 2 : 8;
  const mask = spec.mask === undefined ? [0x37, 0xfa, 0x21, 0x3d] : spec.mask;
  const head = new Uint8Array(2 + ext + (mask ? 4 : 0));
  head[0] = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) & 0x70) | (spec.opcode & 0x0f);
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  const view = new DataView(head.buffer);
  if (ext === 2) view.setUint16(2, len);
  if (ext === 8) view.setBigUint64(2, BigInt(len));
  if (mask) head.set(mask, 2 + ext);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  for (let i = 0; i < payload.length; i++) {
    out[head.length + i] = mask ? payload[i] ^ mask[i & 3] : payload[i];
  }
  return out;
}

/**
 * The payload of a close frame: the 2-byte `code`, then `reason` (in UTF-8 when a string).
 *
 * @example
 * ```ts
 * maskedFrame({ opcode: Op.close, payload: closeBody(1000, "bye") });
 * ```
 */
export function closeBody(code: number, reason: string | Uint8Array = ""): Uint8Array {
  const r = typeof reason === "string" ? enc.encode(reason) : reason;
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/**
 * One decoded frame, its payload unmasked.
 *
 * @example
 * ```ts
 * const frame: RawFrame = { fin: true, opcode: Op.text, payload, text: "hi" };
 * ```
 */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
  /** The close code of a close frame with a payload. */
  code?: number;
  /** The text of a text frame, or the reason of a close frame. */
  text?: string;
}

/**
 * Bytes of a frame header whose second byte is `b1`: 2, the extended length, the mask key.
 *
 * @example
 * ```ts
 * headerSize(0x80 | 126); // 8: 2 + a 16-bit length + a mask key
 * ```
 */
export function headerSize(b1: number): number {
  const len7 = b1 & 0x7f;
  return 2 + (len7 < 126 ? 0 : len7 === 126 ? 2 : 8) + (b1 & 0x80 ? 4 : 0);
}

/**
 * The payload length a frame header announces; `head` holds at least the first
 * {@linkcode headerSize} bytes of the frame.
 *
 * @example
 * ```ts
 * payloadLength(new Uint8Array([0x81, 126, 1, 0])); // 256
 * ```
 */
export function payloadLength(head: Uint8Array): number {
  const len7 = head[1] & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return (head[2] << 8) | head[3];
  return Number(new DataView(head.buffer, head.byteOffset + 2, 8).getBigUint64(0));
}

/** The frame of a whole `head` and its `body` as sent (unmasked here, into a copy). */
function frameOf(head: Uint8Array, body: Uint8Array): RawFrame {
  const payload = body.slice();
  if (head[1] & 0x80) {
    const key = head.subarray(head.length - 4);
    for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
  }
  const frame: RawFrame = { fin: (head[0] & 0x80) !== 0, opcode: head[0] & 0x0f, payload };
  if (frame.opcode === Op.text) frame.text = dec.decode(payload);
  if (frame.opcode === Op.close && payload.length >= 2) {
    frame.code = (payload[0] << 8) | payload[1];
    frame.text = dec.decode(payload.subarray(2));
  }
  return frame;
}

/**
 * Decodes the frame that starts at byte `at` of `bytes`, masked or not, with its `size` in bytes;
 * null when `bytes` ends before the frame does.
 *
 * @example
 * ```ts
 * decodeFrame(maskedFrame({ opcode: Op.text, payload: "hi" })); // { frame: { text: "hi", ... }, size: 8 }
 * ```
 */
export function decodeFrame(
  bytes: Uint8Array,
  at = 0,
): { frame: RawFrame; size: number } | null {
  if (bytes.length - at < 2) return null;
  const headLen = headerSize(bytes[at + 1]);
  if (bytes.length - at < headLen) return null;
  const head = bytes.subarray(at, at + headLen);
  const size = headLen + payloadLength(head);
  if (bytes.length - at < size) return null;
  return { frame: frameOf(head, bytes.subarray(at + headLen, at + size)), size };
}

/**
 * Decodes the (unmasked) server frames of `bytes`, which must end at a frame boundary.
 *
 * @example
 * ```ts
 * serverFrames(new Uint8Array([0x81, 2, 104, 105])); // [{ fin: true, opcode: 1, payload, text: "hi", ... }]
 * ```
 */
export function serverFrames(bytes: Uint8Array): RawFrame[] {
  const frames: RawFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at + 1] & 0x80) throw new Error(`server frame at byte ${at} is masked`);
    const next = decodeFrame(bytes, at);
    if (!next) {
      throw new Error(`server frame at byte ${at} is cut: ${bytes.length - at} bytes left`);
    }
    frames.push(next.frame);
    at += next.size;
  }
  return frames;
}

/**
 * Reads one frame from `bytes`, or null at the end of the stream.
 *
 * @example
 * ```ts
 * const frame = await readFrame(bytes); // { fin: true, opcode: 1, payload: ... } or null
 * ```
 */
export async function readFrame(bytes: ByteConn): Promise<RawFrame | null> {
  const start = await bytes.take(2);
  if (!start) return null;
  const rest = await bytes.take(headerSize(start[1]) - 2);
  if (!rest) return null;
  const head = new Uint8Array(start.length + rest.length);
  head.set(start);
  head.set(rest, start.length);
  const body = await bytes.take(payloadLength(head));
  if (!body) return null;
  return frameOf(head, body);
}
