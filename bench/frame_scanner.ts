/**
 * The load generator's parser of server WebSocket frames (unmasked): it reads headers and
 * lengths across read boundaries and scans data payloads for benchmark markers
 * `#<sender>.<seq>.<µs>|` without decoding JSON, so a frame holding many NDJSON objects counts
 * every marker in it, and a marker split between two reads is still found once. With `onAck`,
 * it also finds ack markers `!<sender>.<seq>.<µs>|` (the `ref` a sender put in its message,
 * which only its `ack` carries back).
 *
 * @module
 */

import { headerSize, payloadLength } from "../tests/helpers/masked_frames.ts";

/** Called for every marker found: sender index, sequence number, send time and read time (µs). */
export type MarkerSink = (sender: number, seq: number, sentUs: number, nowUs: number) => void;

/** What the scanner reports besides markers. */
export interface ScannerHooks {
  onMarker?: MarkerSink;
  /** Called for every ack marker `!…|` (only scanned for when given: senders). */
  onAck?: MarkerSink;
  /** A whole control frame (close 8, ping 9, pong 10) with its payload. */
  onControl?: (opcode: number, payload: number[]) => void;
  /** A data frame header was read (`frames` already counts it). */
  onDataFrame?: (frames: number) => void;
}

const DOT = 0x2e, BAR = 0x7c;
/** What the marker being read is: a delivery (`#`) or an ack (`!`). */
const DELIVERY = 0, ACK = 1;
const decoder = new TextDecoder();

/**
 * Incremental frame parser and marker counter.
 *
 * @example
 * ```ts
 * const s = new FrameScanner({ onMarker: (from, seq) => console.log(from, seq) });
 * s.push(new Uint8Array([0x81, 8, ...new TextEncoder().encode("#1.2.30|")]), 40); // logs 1 2
 * ```
 */
export class FrameScanner {
  /** Data frames whose header was read. */
  frames = 0;
  /** Markers found (with `onMarker` or `onAck`: a scanner without either does not look). */
  markers = 0;
  #hooks: ScannerHooks;
  #remaining = 0;
  #opcode = 0;
  #hdr = new Uint8Array(14);
  #hdrLen = 0;
  #control: number[] = [];
  // Marker state: 0 outside a marker, 1..3 inside field 1..3.
  #field = 0;
  #acc = 0;
  #sender = 0;
  #seq = 0;
  #kind = DELIVERY;

  /**
   * Whether payloads are scanned at all: not without `onMarker` or `onAck` (the `connect`, `idle`
   * and `join-storm` clients only count frames, and decoding every welcome cost the load
   * generator time the naive server's clients, which get no welcome, never spend).
   */
  #scans: boolean;

  constructor(hooks: ScannerHooks = {}) {
    this.#hooks = hooks;
    this.#scans = hooks.onMarker !== undefined || hooks.onAck !== undefined;
  }

  /** Feeds the bytes of one read; `nowUs` is the read time given to every marker in it. */
  push(chunk: Uint8Array, nowUs: number): void {
    const n = chunk.length;
    let p = 0;
    while (p < n) {
      if (this.#remaining === 0) {
        p = this.#header(chunk, p, n);
        continue;
      }
      const end = Math.min(n, p + this.#remaining);
      if (this.#opcode >= 8) {
        for (let i = p; i < end; i++) this.#control.push(chunk[i]);
      } else if (this.#scans) this.#scan(chunk, p, end, nowUs);
      this.#remaining -= end - p;
      p = end;
      if (this.#remaining === 0) this.#frameDone();
    }
  }

  #header(chunk: Uint8Array, p: number, n: number): number {
    const hdr = this.#hdr;
    while (p < n) {
      hdr[this.#hdrLen++] = chunk[p++];
      if (this.#hdrLen < 2 || this.#hdrLen < headerSize(hdr[1])) continue;
      this.#opcode = hdr[0] & 0x0f;
      this.#remaining = payloadLength(hdr);
      this.#hdrLen = 0;
      if (this.#opcode < 8) {
        this.frames++;
        this.#hooks.onDataFrame?.(this.frames);
      }
      if (this.#remaining === 0) this.#frameDone();
      return p;
    }
    return p;
  }

  #frameDone(): void {
    this.#field = 0;
    if (this.#opcode >= 8) {
      const payload = this.#control;
      this.#control = [];
      this.#hooks.onControl?.(this.#opcode, payload);
    }
  }

  /**
   * Finds markers in `chunk[p, end)`. The bytes are decoded to find each marker's start,
   * because `String#indexOf` is several times faster than `Uint8Array#indexOf`; its digits are
   * then read from the bytes, because indexing a `Uint8Array` is several times faster than
   * `String#charCodeAt`.
   */
  #scan(chunk: Uint8Array, p: number, end: number, now: number): void {
    const s = decoder.decode(chunk.subarray(p, end));
    // A string as long as its bytes has one character per byte (nothing decodes to more
    // characters than bytes), so the indexes of the two agree; otherwise (multi-byte
    // characters) the digits are read from the string's own codes.
    const codes = s.length === end - p ? chunk.subarray(p, end) : codesOf(s);
    const n = s.length;
    const sink = this.#hooks.onMarker;
    const ackSink = this.#hooks.onAck;
    let i = 0;
    let kind = this.#kind;
    if (this.#field !== 0) {
      // A marker cut by the previous read goes on here.
      i = readMarker(codes, 0, n, this.#field, this.#acc, this.#sender, this.#seq);
      if (i < 0) return this.#keep();
      if (found.complete) this.#emit(kind, now, sink, ackSink);
      this.#field = 0;
    }
    // The next `!` at or after i, looked up again only once passed: searching for it before
    // every `#` scanned the text up to the next ack again for every delivery before it.
    let ack = ackSink ? s.indexOf("!", i) : -1;
    while (i < n) {
      let h = s.indexOf("#", i);
      kind = DELIVERY;
      if (ack >= 0 && ack < i) ack = s.indexOf("!", i);
      if (ack >= 0 && (h < 0 || ack < h)) (h = ack, kind = ACK);
      if (h < 0) return;
      i = readMarker(codes, h + 1, n, 1, 0, 0, 0);
      if (i < 0) {
        this.#kind = kind;
        return this.#keep();
      }
      if (found.complete) this.#emit(kind, now, sink, ackSink);
    }
  }

  /** The marker read so far runs on into the next read. */
  #keep(): void {
    this.#field = found.field;
    this.#acc = found.acc;
    this.#sender = found.sender;
    this.#seq = found.seq;
  }

  #emit(kind: number, now: number, sink?: MarkerSink, ackSink?: MarkerSink): void {
    if (kind === ACK) ackSink!(found.sender, found.seq, found.acc, now);
    else {
      this.markers++;
      sink?.(found.sender, found.seq, found.acc, now);
    }
  }
}

/** What {@linkcode readMarker} read, in one record for every scanner (no object per marker). */
const found = { field: 0, acc: 0, sender: 0, seq: 0, complete: false };

/**
 * Reads a marker from `codes[i]` on, in its field `field` (1-3) with what was read of it: returns
 * the index after the character that ended it (`found.complete` when that was the closing `|`),
 * or -1 when `codes` ends first (`found` then holds what was read, for the next read to go on).
 */
function readMarker(
  codes: Uint8Array,
  i: number,
  n: number,
  field: number,
  acc: number,
  sender: number,
  seq: number,
): number {
  while (i < n) {
    const d = codes[i++] - 48;
    if (d >= 0 && d <= 9) acc = acc * 10 + d;
    else if (d === DOT - 48 && field < 3) {
      if (field === 1) sender = acc;
      else seq = acc;
      field++;
      acc = 0;
    } else {
      found.complete = d === BAR - 48 && field === 3;
      found.sender = sender;
      found.seq = seq;
      found.acc = acc;
      return i;
    }
  }
  found.field = field;
  found.acc = acc;
  found.sender = sender;
  found.seq = seq;
  return -1;
}

/** The codes of `s`, one byte each (those past a byte as 0, which no marker holds). */
function codesOf(s: string): Uint8Array {
  const codes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    codes[i] = c < 256 ? c : 0;
  }
  return codes;
}
