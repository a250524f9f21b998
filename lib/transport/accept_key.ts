/**
 * The `Sec-WebSocket-Accept` value of a handshake (RFC 6455 section 4.2.2): the base64 of the
 * SHA-1 of the client's key and the protocol's GUID. Computed here, in under a microsecond and
 * synchronously: `crypto.subtle` would cost a thread hop per handshake, and `node:crypto`'s
 * hash objects keep native memory that each connection's handshake left behind (about 400 bytes
 * per connection held, measured at 10,000). SHA-1 is not used for any security property here:
 * the value only proves that the server understood the WebSocket handshake.
 *
 * @module
 */

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const GUID_BYTES = new TextEncoder().encode(GUID);
/** The message schedule, reused by every call (computing is synchronous). */
const W = new Int32Array(80);
/** The padded message: a key of 24 characters and the GUID fit two 64-byte blocks. */
const BLOCKS = new Uint8Array(128);
/** The last digest computed ({@linkcode digest}), as five big-endian words. */
const H = new Int32Array(5);

/**
 * SHA-1 of an ASCII `text` of at most 119 characters, as 20 bytes.
 *
 * @example
 * ```ts
 * sha1Ascii("abc"); // a9 99 3e 36 47 06 81 6a ba 3e 25 71 78 50 c2 6c 9c d0 d8 9d
 * ```
 */
export function sha1Ascii(text: string): Uint8Array {
  putAscii(text);
  digest(text.length);
  const out = new Uint8Array(20);
  for (let i = 0; i < 5; i++) {
    const w = H[i];
    out[i * 4] = w >>> 24;
    out[i * 4 + 1] = (w >>> 16) & 0xff;
    out[i * 4 + 2] = (w >>> 8) & 0xff;
    out[i * 4 + 3] = w & 0xff;
  }
  return out;
}

/** Writes the ASCII `text` at the start of {@linkcode BLOCKS}. */
function putAscii(text: string): void {
  const length = text.length;
  if (length > 119) throw new RangeError(`sha1Ascii takes at most 119 characters, got ${length}`);
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) throw new RangeError(`sha1Ascii takes ASCII only, got code ${code} at ${i}`);
    BLOCKS[i] = code;
  }
}

/** SHA-1 of the first `length` bytes of {@linkcode BLOCKS} (at most 119), into {@linkcode H}. */
function digest(length: number): void {
  if (length > 119) throw new RangeError(`sha1Ascii takes at most 119 characters, got ${length}`);
  const blocks = length + 9 <= 64 ? 1 : 2;
  const bytes = BLOCKS;
  bytes.fill(0, length, blocks * 64);
  bytes[length] = 0x80;
  const bits = length * 8;
  const last = blocks * 64;
  bytes[last - 2] = bits >>> 8;
  bytes[last - 1] = bits & 0xff;
  let h0 = 0x67452301, h1 = 0xefcdab89 | 0, h2 = 0x98badcfe | 0, h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;
  for (let block = 0; block < blocks; block++) {
    for (let t = 0; t < 16; t++) {
      const at = block * 64 + t * 4;
      W[t] = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
    }
    for (let t = 16; t < 80; t++) {
      const x = W[t - 3] ^ W[t - 8] ^ W[t - 14] ^ W[t - 16];
      W[t] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, next = 0;
    for (let t = 0; t < 20; t++) {
      next = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + W[t]) | 0;
      e = d, d = c, c = (b << 30) | (b >>> 2), b = a, a = next;
    }
    for (let t = 20; t < 40; t++) {
      next = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + W[t]) | 0;
      e = d, d = c, c = (b << 30) | (b >>> 2), b = a, a = next;
    }
    for (let t = 40; t < 60; t++) {
      next =
        (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + (0x8f1bbcdc | 0) + W[t]) |
        0;
      e = d, d = c, c = (b << 30) | (b >>> 2), b = a, a = next;
    }
    for (let t = 60; t < 80; t++) {
      next = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + (0xca62c1d6 | 0) + W[t]) | 0;
      e = d, d = c, c = (b << 30) | (b >>> 2), b = a, a = next;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  H[0] = h0, H[1] = h1, H[2] = h2, H[3] = h3, H[4] = h4;
}

/** Byte `i` (0-19) of the digest in {@linkcode H}. */
function digestByte(i: number): number {
  return (H[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
}

/**
 * `Sec-WebSocket-Accept` for a handshake's `Sec-WebSocket-Key` (already checked to be 24
 * base64 characters).
 *
 * @example
 * ```ts
 * acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (RFC 6455's example)
 * ```
 */
export function acceptKey(key: string): string {
  writeAcceptKey(key, ACCEPT, 0);
  return String.fromCharCode.apply(null, ACCEPT as unknown as number[]);
}

/** The length of a `Sec-WebSocket-Accept` value: the base64 of 20 bytes. */
export const ACCEPT_KEY_LENGTH = 28;

/**
 * Writes `Sec-WebSocket-Accept` for `key` as {@linkcode ACCEPT_KEY_LENGTH} ASCII bytes at
 * `out[at..]`; returns where they end. The 101's head is built as bytes this way, with no string
 * for the value or the head.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(28);
 * writeAcceptKey("dGhlIHNhbXBsZSBub25jZQ==", out, 0); // 28: out holds "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export function writeAcceptKey(key: string, out: Uint8Array, at: number): number {
  putAscii(key);
  BLOCKS.set(GUID_BYTES, key.length);
  digest(key.length + GUID_BYTES.length);
  // Base64 of the 20 bytes: six groups of three, then two bytes and one "=".
  for (let i = 0; i < 18; i += 3) {
    const n = (digestByte(i) << 16) | (digestByte(i + 1) << 8) | digestByte(i + 2);
    out[at++] = BASE64[n >>> 18];
    out[at++] = BASE64[(n >>> 12) & 63];
    out[at++] = BASE64[(n >>> 6) & 63];
    out[at++] = BASE64[n & 63];
  }
  const n = (digestByte(18) << 16) | (digestByte(19) << 8);
  out[at++] = BASE64[n >>> 18];
  out[at++] = BASE64[(n >>> 12) & 63];
  out[at++] = BASE64[(n >>> 6) & 63];
  out[at++] = 0x3d; // =
  return at;
}

/** Where {@linkcode acceptKey} writes its value. */
const ACCEPT = new Uint8Array(ACCEPT_KEY_LENGTH);

const BASE64 = new TextEncoder().encode(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
);
