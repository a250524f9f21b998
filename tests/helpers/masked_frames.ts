/**
 * Frames for unit tests of the WebSocket reader and socket: client frames built byte by byte
 * (a fixed mask key, any header bits, any length form) and a decoder of the server's frames.
 *
 * @module
 */

const enc = new TextEncoder();

/**
 * A client frame to build with {@linkcode maskedFrame}.
 *
 * @example
 * ```ts
 * const spec: MaskedFrameSpec = { opcode: 1, payload: "hi", fin: false };
 * ```
 */
export interface MaskedFrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  /** Final fragment (default true). */
  fin?: boolean;
  /** Bits 0x70 of the first byte (default 0). */
  rsv?: number;
  /** The mask key (default 0x37 0xfa 0x21 0x3d, RFC 6455's sample); null sends it unmasked. */
  mask?: number[] | null;
  /** Length field form: "auto" (minimal), 16 or 64 bits whatever the length (default "auto"). */
  lengthForm?: "auto" | 16 | 64;
  /** Announced length instead of the payload's (the payload bytes are still appended). */
  announce?: number;
}

/**
 * Encodes one client frame.
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
 * The payload of a close frame: the 2-byte `code`, then `reason`.
 *
 * @example
 * ```ts
 * maskedFrame({ opcode: 8, payload: closeBody(1000, "bye") });
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
 * One server frame decoded by {@linkcode serverFrames}.
 *
 * @example
 * ```ts
 * const frame: ServerFrame = { fin: true, opcode: 1, payload: new Uint8Array(0) };
 * ```
 */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
  /** The close code of a close frame with a payload. */
  code?: number;
  /** The text of a text frame, or the reason of a close frame. */
  text?: string;
}

/**
 * Decodes the (unmasked) frames of `bytes`, which must end at a frame boundary.
 *
 * @example
 * ```ts
 * serverFrames(new Uint8Array([0x81, 2, 104, 105])); // [{ fin: true, opcode: 1, payload, text: "hi" }]
 * ```
 */
export function serverFrames(bytes: Uint8Array): ServerFrame[] {
  const frames: ServerFrame[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at + 1] & 0x80) throw new Error(`server frame at byte ${at} is masked`);
    let len = bytes[at + 1] & 0x7f;
    let head = 2;
    if (len === 126) {
      len = view.getUint16(at + 2);
      head = 4;
    } else if (len === 127) {
      len = Number(view.getBigUint64(at + 2));
      head = 10;
    }
    if (at + head + len > bytes.length) {
      throw new Error(`server frame at byte ${at} is cut: ${len} bytes announced`);
    }
    const payload = bytes.slice(at + head, at + head + len);
    const frame: ServerFrame = { fin: (bytes[at] & 0x80) !== 0, opcode: bytes[at] & 0x0f, payload };
    if (frame.opcode === 1) frame.text = new TextDecoder().decode(payload);
    if (frame.opcode === 8 && len >= 2) {
      frame.code = (payload[0] << 8) | payload[1];
      frame.text = new TextDecoder().decode(payload.subarray(2));
    }
    frames.push(frame);
    at += head + len;
  }
  return frames;
}
