/**
 * How the KV engine lays out a room and its messages in Deno KV: the keys, a message body as
 * UTF-8 JSON cut into chunks that fit a KV value, and the messages read back from a range.
 *
 * Keys: `["h", room]` the room's head ({@linkcode KvHead}), `["m", room, offset, part]` the
 * chunks of a message, `["r", room, refKey]` a remembered `ref` (with `expireIn`), `["rt", at,
 * writer, n]` a commit's refs (their rooms and keys) in the order refs were accepted and `["rn"]`
 * how many refs those hold (see `kv_disk_refs.ts`).
 *
 * @module
 */

import { type Draft, messageOf, type StoredBody, storedBody } from "../engine.ts";
import type { ChatMessage } from "../../protocol/frames.ts";
import { KV_LIMITS, type KvKey } from "./kv_handle.ts";

/** A room's head: its epoch, newest offset, oldest kept offset, bytes kept, last write. */
export interface KvHead {
  epoch: string;
  offset: number;
  /** Oldest offset still kept (offset + 1 when none is). */
  oldest: number;
  /** Bytes of the kept message bodies. */
  bytes: number;
  /** When the room was last written, in epoch ms. */
  ts: number;
}

/** What a remembered ref holds (the original ack, the content's hash, when it was accepted). */
export interface KvRef {
  offset: number;
  ts: number;
  hash: number;
  at: number;
}

/** What a message is stored as, besides its room, epoch and offset. */
interface Body extends StoredBody {
  ts: number;
}

/**
 * The keys of the KV engine.
 *
 * @example
 * ```ts
 * kvKeys.head("lobby"); // ["h", "lobby"]
 * kvKeys.chunk("lobby", 3, 0); // ["m", "lobby", 3, 0]
 * ```
 */
export const kvKeys = {
  /** Prefix of every head. */
  heads: ["h"] as KvKey,
  head: (room: string): KvKey => ["h", room],
  /** Prefix of a room's messages. */
  messages: (room: string): KvKey => ["m", room],
  /** Where the messages from `offset` on start (a range's bound). */
  from: (room: string, offset: number): KvKey => ["m", room, offset],
  chunk: (room: string, offset: number, part: number): KvKey => ["m", room, offset, part],
  /** Prefix of a room's refs. */
  refs: (room: string): KvKey => ["r", room],
  ref: (room: string, key: string): KvKey => ["r", room, key],
  /** Prefix of every ref's entry in the order refs were accepted. */
  refTimes: ["rt"] as KvKey,
  /**
   * A ref's entry in that order (its value: the room and the ref's key): when it was accepted
   * (epoch ms), which engine wrote it and its number there.
   */
  refTime: (at: number, writer: string, n: number): KvKey => ["rt", at, writer, n],
  /** How many entries `refTimes` holds (a `Deno.KvU64` every commit adds to). */
  refCount: ["rn"] as KvKey,
};

/**
 * The bytes of `key` as Deno KV encodes it, which its limits count: 2 and the UTF-8 bytes of a
 * string (a NUL counts twice), 9 for a number.
 *
 * @example
 * ```ts
 * keySize(["m", "lobby", 3, 0]); // 3 + 7 + 9 + 9
 * ```
 */
export function keySize(key: KvKey): number {
  let n = 0;
  for (const part of key) {
    if (typeof part === "number") {
      n += 9;
      continue;
    }
    n += 2;
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      if (c === 0) n += 2;
      else if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c < 0xdc00 && (part.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        n += 4;
        i++;
      } else n += 3;
    }
  }
  return n;
}

/** Chunks of one message body needed for `bytes` bytes (at least one). */
export function partsOf(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / KV_LIMITS.chunkBytes));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The body of `draft` stamped `ts`, as UTF-8 JSON cut into chunks of at most
 * `KV_LIMITS.chunkBytes`.
 *
 * @example
 * ```ts
 * const { chunks, bytes } = encodeBody({ room: "r", from: "c1", client: null, name: null, text: "hi", ref: null }, 5);
 * chunks.length; // 1
 * ```
 */
export function encodeBody(draft: Draft, ts: number): { chunks: Uint8Array[]; bytes: number } {
  const body: Body = { ...storedBody(draft), ts };
  const all = encoder.encode(JSON.stringify(body));
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < all.length || chunks.length === 0; at += KV_LIMITS.chunkBytes) {
    chunks.push(all.subarray(at, at + KV_LIMITS.chunkBytes));
  }
  return { chunks, bytes: all.length };
}

/**
 * Decodes the chunk entries of a range (`["m", room, offset, part]`, in key order) into messages
 * in offset order; a message with a chunk missing is left out.
 *
 * @example
 * ```ts
 * decodeChunks("lobby", "e1", entries); // [message 4, message 5]
 * ```
 */
export function decodeChunks(
  room: string,
  epoch: string,
  entries: { key: readonly unknown[]; value: unknown }[],
): ChatMessage[] {
  const out: ChatMessage[] = [];
  let i = 0;
  while (i < entries.length) {
    const offset = entries[i].key[2] as number;
    const parts: Uint8Array[] = [];
    let expected = 0;
    while (i < entries.length && entries[i].key[2] === offset) {
      if (entries[i].key[3] === expected++) parts.push(entries[i].value as Uint8Array);
      i++;
    }
    if (parts.length !== expected) continue;
    const bytes = parts.length === 1 ? parts[0] : concat(parts);
    try {
      const body = JSON.parse(decoder.decode(bytes)) as Body;
      out.push(messageOf(room, epoch, offset, body.ts, body));
    } catch {
      // A body cut short (a write lost mid-way) is left out: the caller sees the gap.
    }
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
