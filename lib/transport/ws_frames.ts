/**
 * WebSocket framing (RFC 6455) for the server side: encoding of the server's unmasked frames,
 * and an incremental reader of the client's masked frames that enforces the protocol's rules and
 * a cap on the size of a whole message, fragments included, before buffering its payload, and
 * fails a text message on the first byte that makes it invalid UTF-8. Pure: bytes in, callbacks
 * out.
 *
 * @module
 */

/**
 * Frame opcodes.
 *
 * @example
 * ```ts
 * encodeFrame(Opcode.ping, new Uint8Array(0));
 * ```
 */
export const Opcode = {
  continuation: 0,
  text: 1,
  binary: 2,
  close: 8,
  ping: 9,
  pong: 10,
} as const;

import { Close } from "../protocol/close_codes.ts";
import type { FramePool } from "./frame_pool.ts";

const encoder = new TextEncoder();

/** Texts up to this length are copied by a loop; longer ones by `encodeInto` (one call). */
const LOOP_CHARS = 256;

/**
 * Writes `text` at `out[at..]` as bytes if it is ASCII (one byte per character) and fits; false
 * otherwise (then what was written is garbage to overwrite). The frames below are built in one
 * buffer this way: a `TextEncoder.encode` per text cost an allocation of its own (about 1 µs, a
 * 200-byte frame took 2.1 µs encoded then copied, 1.0 µs written in place).
 */
function writeAscii(out: Uint8Array, at: number, text: string): boolean {
  const n = text.length;
  if (at + n > out.length) return false;
  if (n <= LOOP_CHARS) {
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) return false;
      out[at + i] = c;
    }
    return true;
  }
  const { read, written } = encoder.encodeInto(text, out.subarray(at, at + n));
  return read === n && written === n;
}
/**
 * A text payload is UTF-8 without a BOM to strip (RFC 6455 5.6; the browser's WebSocket decodes
 * "without BOM"): a leading U+FEFF is a character of the message like any other.
 */
const UTF8 = { fatal: true, ignoreBOM: true };
const strictUtf8 = new TextDecoder("utf-8", UTF8);
/**
 * For ASCII bytes only, which are valid UTF-8 and decode the same either way: Deno's decoder
 * takes about 370 ns for a 100-byte text when it must fail on invalid input, 140 ns when not.
 */
const asciiDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const STREAM = { stream: true };

/**
 * Encodes one final, unmasked frame (what a server sends).
 *
 * @example
 * ```ts
 * encodeFrame(Opcode.text, new TextEncoder().encode("hi")); // Uint8Array [0x81, 2, 104, 105]
 * ```
 */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const len = payload.length;
  const out = new Uint8Array(sentHeaderLength(len) + len);
  out.set(payload, writeHeader(out, 0, opcode, len));
  return out;
}

/** Bytes of the header of a frame Fanout sends (unmasked) with a `len`-byte payload. */
function sentHeaderLength(len: number): number {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

/** Writes a final unmasked frame's header at `at`; returns where its payload starts. */
function writeHeader(out: Uint8Array, at: number, opcode: number, len: number): number {
  out[at] = 0x80 | opcode;
  if (len < 126) {
    out[at + 1] = len;
    return at + 2;
  }
  if (len < 65536) {
    out[at + 1] = 126;
    out[at + 2] = len >>> 8;
    out[at + 3] = len & 0xff;
    return at + 4;
  }
  out[at + 1] = 127;
  const view = new DataView(out.buffer, out.byteOffset + at + 2, 8);
  view.setUint32(0, Math.floor(len / 0x1_0000_0000));
  view.setUint32(4, len >>> 0);
  return at + 10;
}

/**
 * Encodes `text` as one text frame.
 *
 * @example
 * ```ts
 * encodeTextFrame("héllo").length; // 2 + 6
 * ```
 */
export function encodeTextFrame(text: string): Uint8Array {
  const len = text.length;
  const out = new Uint8Array(sentHeaderLength(len) + len);
  if (writeAscii(out, writeHeader(out, 0, Opcode.text, len), text)) return out;
  return encodeFrame(Opcode.text, encoder.encode(text));
}

/**
 * Encodes `texts` as text frames back to back in one buffer, to go out in one write (plain mode
 * sends one frame per text, and a turn's frames for a connection leave together).
 *
 * @example
 * ```ts
 * encodeTextFrames(["hi", "yo"]); // Uint8Array [0x81, 2, 104, 105, 0x81, 2, 121, 111]
 * ```
 */
export function encodeTextFrames(texts: readonly string[]): Uint8Array {
  if (texts.length === 1) return encodeTextFrame(texts[0]);
  return encodeTextFramesAt(texts).bytes;
}

/** Text frames back to back, and where each starts. */
export interface TextFrames {
  bytes: Uint8Array;
  /** Byte offset of frame `i`, and the end of the last one at `starts[texts.length]`. */
  starts: number[];
}

/**
 * Encodes `texts` as text frames back to back, with where each frame starts: frames `i` to
 * `j - 1` are `bytes.subarray(starts[i], starts[j])`, whatever the characters (plain mode's frames
 * of a room's run, which the queues holding parts of it are cut from: {@linkcode joinTextFrames}).
 *
 * @example
 * ```ts
 * const { bytes, starts } = encodeTextFramesAt(["a", "bc", "d"]);
 * bytes.subarray(starts[1], starts[3]); // the frames of "bc" and "d"
 * ```
 */
export function encodeTextFramesAt(texts: readonly string[]): TextFrames {
  return asciiFramesAt(texts) ?? utf8FramesAt(texts);
}

/** {@linkcode encodeTextFramesAt} of ASCII texts, in one buffer; null when one is not ASCII. */
function asciiFramesAt(texts: readonly string[]): TextFrames | null {
  const starts: number[] = new Array(texts.length + 1);
  let size = 0;
  for (let i = 0; i < texts.length; i++) {
    starts[i] = size;
    size += sentHeaderLength(texts[i].length) + texts[i].length;
  }
  starts[texts.length] = size;
  const bytes = new Uint8Array(size);
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i];
    if (!writeAscii(bytes, writeHeader(bytes, starts[i], Opcode.text, text.length), text)) {
      return null;
    }
  }
  return { bytes, starts };
}

/** {@linkcode encodeTextFramesAt} of any texts: each encoded, then copied. */
function utf8FramesAt(texts: readonly string[]): TextFrames {
  const payloads: Uint8Array[] = new Array(texts.length);
  const starts: number[] = new Array(texts.length + 1);
  let size = 0;
  for (let i = 0; i < texts.length; i++) {
    const payload = payloads[i] = encoder.encode(texts[i]);
    starts[i] = size;
    size += sentHeaderLength(payload.length) + payload.length;
  }
  starts[texts.length] = size;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const payload of payloads) {
    at = writeHeader(bytes, at, Opcode.text, payload.length);
    bytes.set(payload, at);
    at += payload.length;
  }
  return { bytes, starts };
}

/**
 * Text frames back to back in one buffer from `pieces`: a string is encoded as a text frame, bytes
 * are whole frames already (a range of {@linkcode encodeTextFramesAt}'s) and are copied as they
 * are; a lone piece of bytes is returned itself. With a `pool`, the frames (when they are built)
 * go in one of its buffers when their size has a class (the caller gives it back once written).
 *
 * @example
 * ```ts
 * const run = encodeTextFramesAt(["a", "b", "c"]);
 * joinTextFrames([run.bytes.subarray(run.starts[1], run.starts[3]), "d"]); // frames b, c, d
 * ```
 */
export function joinTextFrames(
  pieces: readonly (string | Uint8Array)[],
  pool: FramePool | null = null,
): Uint8Array {
  if (pieces.length === 1 && typeof pieces[0] !== "string") return pieces[0];
  // Most often every string is ASCII: one buffer, each string's frame written in place.
  let size = 0;
  for (const piece of pieces) {
    size += typeof piece === "string"
      ? sentHeaderLength(piece.length) + piece.length
      : piece.length;
  }
  const out = pool?.take(size) ?? new Uint8Array(size);
  let at = 0;
  for (const piece of pieces) {
    if (typeof piece !== "string") {
      out.set(piece, at);
      at += piece.length;
      continue;
    }
    at = writeHeader(out, at, Opcode.text, piece.length);
    if (!writeAscii(out, at, piece)) {
      pool?.give(out);
      return joinUtf8Frames(pieces);
    }
    at += piece.length;
  }
  return out;
}

/** {@linkcode joinTextFrames} when a string is not ASCII: each string's frame made, then copied. */
function joinUtf8Frames(pieces: readonly (string | Uint8Array)[]): Uint8Array {
  return joined(pieces.map((piece) => typeof piece === "string" ? encodeTextFrame(piece) : piece));
}

/**
 * Encodes one text frame whose payload is `pieces` joined with newlines: strings as UTF-8, bytes
 * (already UTF-8) as they are. An NDJSON frame made of parts of other frames' payloads and new
 * lines, without building one string of it first. With a `pool`, the frame is built in one of
 * its buffers when its size has a class (the caller gives it back once written).
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode('{"a":1}\n{"b":2}');
 * encodeTextPieces([bytes.subarray(0, 7), '{"c":3}']); // one frame: {"a":1}\n{"c":3}
 * ```
 */
export function encodeTextPieces(
  pieces: readonly (string | Uint8Array)[],
  pool: FramePool | null = null,
): Uint8Array {
  // Most often every string is ASCII: one buffer, each string written in place.
  let len = pieces.length - 1;
  for (const piece of pieces) len += piece.length;
  const size = sentHeaderLength(len) + len;
  const out = pool?.take(size) ?? new Uint8Array(size);
  let at = writeHeader(out, 0, Opcode.text, len);
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    if (i > 0) out[at++] = 0x0a;
    if (typeof piece !== "string") out.set(piece, at);
    else if (!writeAscii(out, at, piece)) {
      pool?.give(out);
      return utf8Pieces(pieces, pool);
    }
    at += piece.length;
  }
  return out;
}

/** {@linkcode encodeTextPieces} when a string is not ASCII: each encoded, then copied. */
function utf8Pieces(pieces: readonly (string | Uint8Array)[], pool: FramePool | null): Uint8Array {
  const bytes: Uint8Array[] = new Array(pieces.length);
  let len = pieces.length - 1;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    const b = bytes[i] = typeof piece === "string" ? encoder.encode(piece) : piece;
    len += b.length;
  }
  const size = sentHeaderLength(len) + len;
  const out = pool?.take(size) ?? new Uint8Array(size);
  let at = writeHeader(out, 0, Opcode.text, len);
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0) out[at++] = 0x0a;
    out.set(bytes[i], at);
    at += bytes[i].length;
  }
  return out;
}

/**
 * Encodes a close frame with `code` and `reason` (cut to the 123 bytes a control frame allows).
 *
 * @example
 * ```ts
 * encodeCloseFrame(1009, "message too big");
 * ```
 */
export function encodeCloseFrame(code: number, reason: string): Uint8Array {
  let bytes = encoder.encode(reason);
  if (bytes.length > 123) {
    // Cut at a character boundary so the reason stays valid UTF-8.
    let end = 123;
    while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const payload = new Uint8Array(2 + bytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(bytes, 2);
  return encodeFrame(Opcode.close, payload);
}

/**
 * Bytes held by the readers of every connection for messages not complete yet, against one cap,
 * so that many connections each sending a large message slowly cannot add up past it. Bytes count
 * as they arrive (a frame header announcing a size reserves nothing), and past the cap the
 * readers holding the most are closed first, whoever brought the last byte.
 *
 * @example
 * ```ts
 * const inbound: InboundBudget = { held: 0, max: 64 * 1024 * 1024 };
 * ```
 */
export interface InboundBudget {
  held: number;
  max: number;
  /** The readers holding bytes now (kept by the readers themselves). */
  // deno-lint-ignore no-explicit-any
  holders?: Set<FrameReader<any>>;
}

/** The big-endian 32-bit number at `at` of `bytes`. */
function uint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** The longest frame header: 2 bytes, 8 of length, 4 of mask key. */
const MAX_HEADER = 14;
/** The largest control frame payload. */
const MAX_CONTROL = 125;
/**
 * Scratch shared by every reader (reading is synchronous, so one is in use at a time): the mask
 * key of the frame being unmasked, loaded before each unmasking loop, and a control frame's
 * payload when it arrives whole in one chunk (as control frames nearly always do).
 */
const MASK_BYTES = new Uint8Array(4);
const CONTROL_SCRATCH = new Uint8Array(MAX_CONTROL);
/**
 * A text message's payload when it arrives whole in one chunk and fits (as chat messages nearly
 * always do): unmasked here and decoded at once, with no buffer of its own.
 */
const TEXT_SCRATCH = new Uint8Array(16 * 1024);

/** Header length announced by a frame's second byte (its length field and mask bit). */
function headerLength(second: number): number {
  const len7 = second & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((second & 0x80) !== 0 ? 4 : 0);
}

/** Loads a 32-bit mask key into {@linkcode MASK_BYTES} for an unmasking loop. */
function loadMask(key: number): Uint8Array {
  MASK_BYTES[0] = key >>> 24;
  MASK_BYTES[1] = (key >>> 16) & 0xff;
  MASK_BYTES[2] = (key >>> 8) & 0xff;
  MASK_BYTES[3] = key & 0xff;
  return MASK_BYTES;
}

/** Share of the inbound budget the largest holders are closed down to when it is exceeded. */
const INBOUND_RECLAIM_TO = 0.9;

/**
 * What the reader hands on; each payload is only valid during the call. Every call also gets the
 * reader's `target` (see {@linkcode FrameReader}), so that one events object can serve every
 * reader of a server instead of each holding closures of its own.
 */
export interface FrameEvents<T = undefined> {
  /** A whole text message (fragments joined, UTF-8 checked as its bytes arrived). */
  text(text: string, target: T): void;
  /** A whole binary message. */
  binary(payload: Uint8Array, target: T): void;
  ping(payload: Uint8Array, target: T): void;
  pong(target: T): void;
  /** The peer's close frame: its code (null when it sent none) and reason. */
  close(code: number | null, reason: string, target: T): void;
  /** The peer broke the protocol: close with `code`; nothing more is read. */
  fail(code: number, reason: string, target: T): void;
}

/** Options of {@linkcode FrameReader}. */
export interface FrameReaderOptions {
  /** Largest message in bytes, summed over its fragments; past it the reader fails with 1009. */
  maxMessageBytes: number;
  /** Most fragments one message may have (default 1024); past it the reader fails with 1009. */
  maxFragments?: number;
  /** Shared cap on what every reader holds (default: none); past it the reader fails with 1013. */
  inbound?: InboundBudget;
}

/** The pieces of a message as one array (the piece itself when there is one). */
function joined(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let size = 0;
  for (const part of parts) size += part.length;
  const whole = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}

/** A close code a peer may send (RFC 6455 section 7.4). */
function validCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

/**
 * Reads client frames from a byte stream, chunk by chunk. A frame's length is checked against
 * the cap as soon as its header is read, so a peer can never make the reader hold more than the
 * cap (plus one frame header) whatever it announces or however it fragments.
 *
 * @example
 * ```ts
 * const reader = new FrameReader({ maxMessageBytes: 65536 }, {
 *   text: (t) => console.log(t), binary: () => {}, ping: () => {}, pong: () => {},
 *   close: () => {}, fail: (code) => console.log("close with", code),
 * });
 * reader.push(chunkFromTheSocket);
 * ```
 */
export class FrameReader<T = undefined> {
  #max: number;
  #maxFragments: number;
  #on: FrameEvents<T>;
  #target: T;
  #inbound: InboundBudget | null;
  /** Bytes this reader counts in the shared budget. */
  #held = 0;
  /** Set after a protocol failure or the peer's close frame: later bytes are ignored. */
  #stopped = false;
  /**
   * An idle reader holds no buffer: a header that arrives whole is read where it is, and a
   * control frame's payload that does unmasked into the shared scratch. Only a header cut
   * between chunks is assembled here (made at the first such cut, then kept), and only a control
   * payload cut between chunks in `#control`.
   */
  #head: Uint8Array | null = null;
  #headLen = 0;
  #control: Uint8Array | null = null;
  /** The frame's mask key, as a 32-bit number (big-endian). */
  #maskKey = 0;
  // The frame being read.
  #inFrame = false;
  #fin = false;
  #opcode = 0;
  #frameLength = 0;
  #filled = 0;
  // The fragmented message being assembled.
  #messageOpcode = 0;
  /**
   * What arrived of the message so far, unmasked, in the pieces it came in: a binary message, or
   * a text message that came whole in one piece (decoded at once when it ends).
   */
  #parts: Uint8Array[] = [];
  /**
   * A text message that comes in more than one piece (fragments, or reads that cut a frame) is
   * decoded as it arrives, so that the piece that makes it invalid fails it at once (RFC 6455
   * 8.1): these are its characters so far; the decoder keeps a character cut between pieces.
   */
  #texts: string[] | null = null;
  /** A whole text message decoded as it was read (see {@linkcode TEXT_SCRATCH}). */
  #text: string | null = null;
  #utf8: TextDecoder | null = null;
  #messageBytes = 0;
  #fragments = 0;

  /** `target` is handed to every event (e.g. the socket the reader reads for). */
  constructor(options: FrameReaderOptions, events: FrameEvents<T>, target?: T) {
    this.#max = options.maxMessageBytes;
    this.#maxFragments = options.maxFragments ?? 1024;
    this.#inbound = options.inbound ?? null;
    this.#on = events;
    this.#target = target as T;
  }

  /** Bytes held for the message and frame being read (bounded by the cap). */
  get held(): number {
    return this.#held;
  }

  /** Gives what this reader holds back to the shared budget (the message ended or failed). */
  #release(): void {
    const inbound = this.#inbound;
    if (inbound !== null && this.#held > 0) {
      inbound.held -= this.#held;
      inbound.holders?.delete(this);
    }
    this.#held = 0;
  }

  /**
   * Counts `n` more bytes held; past the shared cap, closes the readers holding the most (1013)
   * until the budget is back under 90 %. False when this reader was one of them.
   */
  #charge(n: number): boolean {
    this.#held += n;
    const inbound = this.#inbound;
    if (inbound === null) return true;
    inbound.held += n;
    (inbound.holders ??= new Set()).add(this);
    if (inbound.held <= inbound.max) return true;
    const target = inbound.max * INBOUND_RECLAIM_TO;
    let survived = true;
    while (inbound.held > target && inbound.holders.size > 0) {
      let largest: FrameReader<T> | null = null;
      for (const reader of inbound.holders) {
        if (largest === null || reader.#held > largest.#held) largest = reader;
      }
      largest!.#fail(Close.busy, "server busy: too much incoming data; retry later");
      if (largest === this) survived = false;
    }
    return survived;
  }

  /**
   * A whole message decoded from the shared scratch within this call holds nothing afterwards:
   * when it fits in the budget it is counted in and out at once (no entry in `holders`, whose
   * add and delete per message cost an allocation each), as {@linkcode #charge} then
   * {@linkcode #release} would. Past the cap, it is charged as any other and reclaims.
   */
  #admit(n: number): boolean {
    const inbound = this.#inbound;
    if (inbound === null || (this.#held === 0 && inbound.held + n <= inbound.max)) return true;
    return this.#charge(n);
  }

  /** Stops reading for good (the connection is closing) and releases what is held. */
  stop(): void {
    this.#stopped = true;
    this.#inFrame = false;
    this.#parts = [];
    this.#texts = null;
    this.#utf8 = null;
    this.#messageBytes = 0;
    this.#fragments = 0;
    this.#release();
  }

  /** Reads what `chunk` holds. The chunk may be reused by the caller after the call. */
  push(chunk: Uint8Array): void {
    let i = 0;
    const end = chunk.length;
    while (i < end && !this.#stopped) {
      if (!this.#inFrame) {
        // Header: 2 bytes, then 0, 2 or 8 bytes of length, then the 4-byte mask. An unmasked
        // frame has no mask key to wait for: it is refused once its length is read.
        let headLen = this.#headLen;
        if (headLen === 0 && end - i >= 2) {
          const need = headerLength(chunk[i + 1]);
          if (end - i >= need) {
            // Whole in this chunk (nearly always): read where it is.
            i += need;
            if (!this.#startFrame(chunk, i - need, need)) return;
            if (this.#frameLength === 0) this.#endFrame();
            continue;
          }
        }
        const head = this.#head ??= new Uint8Array(MAX_HEADER);
        if (headLen < 2) {
          head[headLen++] = chunk[i++];
          this.#headLen = headLen;
          if (headLen < 2) continue;
        }
        const need = headerLength(head[1]);
        const take = Math.min(need - headLen, end - i);
        head.set(chunk.subarray(i, i + take), headLen);
        this.#headLen = headLen + take;
        i += take;
        if (this.#headLen < need) continue;
        this.#headLen = 0;
        if (!this.#startFrame(head, 0, need)) return;
        if (this.#frameLength === 0) this.#endFrame();
        continue;
      }
      const take = Math.min(this.#frameLength - this.#filled, end - i);
      let at = this.#filled;
      if (this.#opcode >= 8) {
        // A control payload: whole in this chunk, unmasked into the shared scratch and handed on
        // at once; cut, assembled in a buffer of this reader's.
        const mask = loadMask(this.#maskKey);
        const whole = at === 0 && take === this.#frameLength;
        const bytes = whole ? CONTROL_SCRATCH : this.#control ??= new Uint8Array(MAX_CONTROL);
        for (let k = 0; k < take; k++, at++) bytes[at] = chunk[i + k] ^ mask[at & 3];
        this.#filled = at;
        i += take;
        if (at === this.#frameLength) {
          this.#inFrame = false;
          this.#controlFrame(this.#opcode, bytes.subarray(0, at));
        }
        continue;
      } else if (take > 0) {
        const whole = at === 0 && take === this.#frameLength && this.#fin && this.#fragments === 1;
        if (whole && this.#messageOpcode === Opcode.text && take <= TEXT_SCRATCH.length) {
          const mask = loadMask(this.#maskKey);
          let high = 0;
          for (let k = 0; k < take; k++) high |= TEXT_SCRATCH[k] = chunk[i + k] ^ mask[k & 3];
          this.#messageBytes += take;
          if (!this.#admit(take)) return;
          const payload = TEXT_SCRATCH.subarray(0, take);
          try {
            // ASCII (no byte with its high bit set) cannot be invalid: no check needed.
            this.#text = high < 0x80 ? asciiDecoder.decode(payload) : strictUtf8.decode(payload);
          } catch {
            this.#fail(Close.invalidData, "text message is not valid UTF-8");
            return;
          }
          this.#filled = take;
          i += take;
          this.#endFrame();
          continue;
        }
        // Data: what arrived is unmasked into a part of its own, counted as it comes.
        const part = new Uint8Array(take);
        const mask = loadMask(this.#maskKey);
        for (let k = 0; k < take; k++, at++) part[k] = chunk[i + k] ^ mask[at & 3];
        this.#messageBytes += take;
        if (!this.#charge(take)) return;
        if (this.#messageOpcode !== Opcode.text || whole) this.#parts.push(part);
        else if (!this.#decodePiece(part)) return;
      }
      this.#filled = at;
      i += take;
      if (this.#filled === this.#frameLength) this.#endFrame();
    }
  }

  /** Decodes one piece of a text message; false when it made the message invalid (failed). */
  #decodePiece(piece: Uint8Array): boolean {
    this.#utf8 ??= new TextDecoder("utf-8", UTF8);
    try {
      (this.#texts ??= []).push(this.#utf8.decode(piece, STREAM));
      return true;
    } catch {
      return this.#fail(Close.invalidData, "text message is not valid UTF-8");
    }
  }

  #fail(code: number, reason: string): false {
    this.stop();
    this.#on.fail(code, reason, this.#target);
    return false;
  }

  /**
   * Checks a complete header, `headLen` bytes of `bytes` from `at`, and takes its mask key;
   * false when the reader failed.
   */
  #startFrame(bytes: Uint8Array, at: number, headLen: number): boolean {
    const first = bytes[at];
    const second = bytes[at + 1];
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    if ((first & 0x70) !== 0) {
      return this.#fail(Close.protocolError, "reserved bits set (no extension was agreed)");
    }
    if ((second & 0x80) === 0) {
      return this.#fail(Close.protocolError, "client frames must be masked");
    }
    let len = second & 0x7f;
    if (len === 126) len = (bytes[at + 2] << 8) | bytes[at + 3];
    else if (len === 127) {
      const high = uint32(bytes, at + 2);
      len = high >= 0x200000 ? Infinity : high * 0x1_0000_0000 + uint32(bytes, at + 6);
    }
    this.#maskKey = uint32(bytes, at + headLen - 4);
    if (opcode >= 8) {
      if (opcode > 10) return this.#fail(Close.protocolError, `reserved opcode ${opcode}`);
      if (!fin) return this.#fail(Close.protocolError, "control frames must not be fragmented");
      if (len > 125) return this.#fail(Close.protocolError, "control frame over 125 bytes");
    } else if (opcode === Opcode.continuation) {
      if (this.#messageOpcode === 0) {
        return this.#fail(Close.protocolError, "continuation frame without a message to continue");
      }
    } else if (opcode === Opcode.text || opcode === Opcode.binary) {
      if (this.#messageOpcode !== 0) {
        return this.#fail(Close.protocolError, "new message before the previous one ended");
      }
    } else return this.#fail(Close.protocolError, `reserved opcode ${opcode}`);
    if (opcode < 8) {
      if (this.#messageBytes + len > this.#max) {
        return this.#fail(Close.tooBig, `message over ${this.#max} bytes`);
      }
      if (this.#fragments >= this.#maxFragments) {
        return this.#fail(
          Close.tooBig,
          `message in more than ${this.#maxFragments} fragments`,
        );
      }
      if (opcode !== Opcode.continuation) this.#messageOpcode = opcode;
      this.#fragments++;
    }
    this.#inFrame = true;
    this.#fin = fin;
    this.#opcode = opcode;
    this.#frameLength = len;
    this.#filled = 0;
    return true;
  }

  #endFrame(): void {
    this.#inFrame = false;
    const opcode = this.#opcode;
    // An empty control frame: its payload is empty (a longer one ends in `push`).
    if (opcode >= 8) return this.#controlFrame(opcode, CONTROL_SCRATCH.subarray(0, 0));
    if (!this.#fin) return;
    const parts = this.#parts;
    const texts = this.#texts;
    const whole = this.#text;
    const kind = this.#messageOpcode;
    if (parts.length > 0) this.#parts = [];
    this.#texts = null;
    this.#text = null;
    this.#messageOpcode = 0;
    this.#messageBytes = 0;
    this.#fragments = 0;
    this.#release();
    if (kind === Opcode.binary) return this.#on.binary(joined(parts), this.#target);
    let text: string;
    try {
      if (whole !== null) text = whole;
      else if (texts !== null) {
        // The end: a character still cut short fails it (the decoder is then ready again).
        texts.push(this.#utf8!.decode());
        text = texts.join("");
      } else text = strictUtf8.decode(parts[0] ?? new Uint8Array(0));
    } catch {
      this.#fail(Close.invalidData, "text message is not valid UTF-8");
      return;
    }
    this.#on.text(text, this.#target);
  }

  #controlFrame(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.ping) return this.#on.ping(payload, this.#target);
    if (opcode === Opcode.pong) return this.#on.pong(this.#target);
    if (payload.length === 0) return this.#on.close(null, "", this.#target);
    if (payload.length === 1) {
      this.#fail(Close.protocolError, "close frame with a 1-byte payload");
      return;
    }
    const code = (payload[0] << 8) | payload[1];
    if (!validCloseCode(code)) {
      this.#fail(Close.protocolError, `invalid close code ${code}`);
      return;
    }
    let reason: string;
    try {
      reason = strictUtf8.decode(payload.subarray(2));
    } catch {
      this.#fail(Close.invalidData, "close reason is not valid UTF-8");
      return;
    }
    this.stop(); // nothing after a close frame is read: release a message left unfinished
    this.#on.close(code, reason, this.#target);
  }
}
