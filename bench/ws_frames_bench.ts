/**
 * Micro-benchmark of the WebSocket reader (`lib/transport/ws_frames.ts`, `FrameReader.push`):
 * the hot path (a small text message in one frame and one read, what the hub gets from every
 * sender) and text messages that come in pieces (reads that cut a frame, fragments), which are
 * decoded as they arrive so that invalid UTF-8 fails at once.
 *
 * @example
 * ```sh
 * deno bench bench/ws_frames_bench.ts
 * ```
 *
 * @module
 */

import { FrameReader } from "../lib/transport/ws_frames.ts";

const enc = new TextEncoder();

/** One masked client frame (mask key 1 2 3 4). */
function frame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + 4 + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out[1] = 0x80 | (ext === 0 ? len : ext === 2 ? 126 : 127);
  const view = new DataView(out.buffer);
  if (ext === 2) view.setUint16(2, len);
  if (ext === 8) view.setBigUint64(2, BigInt(len));
  const mask = [1, 2, 3, 4];
  out.set(mask, 2 + ext);
  for (let i = 0; i < len; i++) out[2 + ext + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

/** The bytes cut into reads of `size`. */
function reads(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/** A message of `bytes` in fragments of `size`. */
function fragments(opcode: number, bytes: Uint8Array, size: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    parts.push(
      frame(at === 0 ? opcode : 0, bytes.subarray(at, at + size), at + size >= bytes.length),
    );
  }
  return concat(parts);
}

let delivered = 0;
const reader = new FrameReader({ maxMessageBytes: 16 * 1024 * 1024 }, {
  text: (t) => delivered += t.length,
  binary: (b) => delivered += b.length,
  ping: () => {},
  pong: () => {},
  close: () => {},
  fail: (code, reason) => {
    throw new Error(`the bench's frames failed: ${code} ${reason}`);
  },
});

const small = frame(1, enc.encode(`{"type":"message","text":"${"x".repeat(34)}"}`)); // 60 bytes
const ascii64k = reads(frame(1, enc.encode("x".repeat(64 * 1024))), 16 * 1024);
const mixed256k = reads(frame(1, enc.encode("ascii, é, €, 𝄞 ".repeat(12_483))), 16 * 1024);
const fragmented1m = reads(fragments(1, enc.encode("y".repeat(1 << 20)), 4096), 16 * 1024);
const tiny64k = reads(fragments(1, enc.encode("z".repeat(64 * 1024)), 64), 16 * 1024);
const binary64k = reads(frame(2, new Uint8Array(64 * 1024).fill(7)), 16 * 1024);

Deno.bench("60-byte text, one frame, one read (the hot path)", { group: "small" }, () => {
  reader.push(small);
});

Deno.bench("64 KiB ASCII text in 16 KiB reads", { group: "pieces" }, () => {
  for (const r of ascii64k) reader.push(r);
});

Deno.bench("256 KiB mixed UTF-8 text in 16 KiB reads", { group: "pieces" }, () => {
  for (const r of mixed256k) reader.push(r);
});

Deno.bench("1 MiB text in 4 KiB fragments, 16 KiB reads", { group: "pieces" }, () => {
  for (const r of fragmented1m) reader.push(r);
});

Deno.bench("64 KiB text in 64-byte fragments (1024, the cap)", { group: "pieces" }, () => {
  for (const r of tiny64k) reader.push(r);
});

Deno.bench("64 KiB binary in 16 KiB reads (no UTF-8)", { group: "pieces" }, () => {
  for (const r of binary64k) reader.push(r);
});
