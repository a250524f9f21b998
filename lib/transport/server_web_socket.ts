/**
 * A server-side WebSocket over a byte stream: the surface of the standard `WebSocket` the hub
 * uses (`readyState`, `bufferedAmount`, `send`, `close`, the `on*` handlers), one write in flight
 * at a time with everything queued meanwhile coalesced, the close handshake with a deadline after
 * which the connection is dropped whether or not the peer reads, and heartbeats. Runtime-free:
 * the stream and the timers are injected.
 *
 * @module
 */

import { realTimers, type Timers } from "../shared/timers.ts";
import type { SocketListener } from "../shared/socket_listener.ts";
import { Close } from "../protocol/close_codes.ts";
import { type FramePool, sharedFramePool } from "./frame_pool.ts";
import {
  encodeCloseFrame,
  encodeFrame,
  encodeTextFrame,
  encodeTextFrames,
  encodeTextFramesAt,
  encodeTextPieces,
  type FrameEvents,
  FrameReader,
  type InboundBudget,
  joinTextFrames,
  Opcode,
  type TextFrames,
} from "./ws_frames.ts";

/** The connection under a socket: `Deno.Conn` satisfies it. */
export interface ByteStream {
  /** Writes bytes; resolves with how many the kernel took (possibly fewer than given). */
  write(bytes: Uint8Array): Promise<number>;
  /** Drops the connection at once; a pending write is cancelled. */
  close(): void;
  /**
   * Ends our direction only (TCP FIN): after a clean close handshake the peer then closes its
   * side and the read ends without an error (cheaper than cancelling it).
   */
  closeWrite?(): Promise<void>;
}

/** The close event, as the standard's `CloseEvent` has it. */
export interface SocketCloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Options of {@linkcode ServerWebSocket}. */
export interface ServerWebSocketOptions {
  stream: ByteStream;
  /** The subprotocol agreed in the handshake ("" for none). */
  protocol?: string;
  /** Largest incoming message, fragments included (close 1009 past it). */
  maxMessageBytes: number;
  /** Most fragments an incoming message may have (default 1024; close 1009 past it). */
  maxFragments?: number;
  /** Shared cap on bytes held for incomplete incoming messages (close 1013 past it). */
  inbound?: InboundBudget;
  /** How long the close handshake may take before the connection is dropped (default 2000). */
  closeTimeoutMs?: number;
  /** Monotonic clock in ms, for heartbeats (default `performance.now`). */
  now?: () => number;
  /** Timers (default `setTimeout` and `clearTimeout`). */
  timers?: Timers;
  /**
   * Buffers for the frames of `sendTextPieces` and `sendJoinedTextFrames` (default: one pool for
   * every socket).
   */
  framePool?: FramePool;
  /**
   * Runs a function once the callbacks of the current turn are done: a socket opened with the
   * 101's head writes it then, alone, when nothing was sent meanwhile. Default: one `setImmediate`
   * per turn checks every such socket of the turn.
   */
  defer?: (fn: () => void) => void;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** Small queued frames are joined into one write up to this size. */
const COALESCE_BYTES = 64 * 1024;
/**
 * Pongs waiting to be written at most (each at most 127 bytes); a ping past it drops the oldest
 * waiting pong, never its own: RFC 6455 5.5.3 lets an endpoint skip only pings older than the
 * most recent one.
 */
export const MAX_PENDING_PONGS = 16;
const PING = encodeFrame(Opcode.ping, new Uint8Array(0));
/** Nothing to write behind the 101's head. */
const EMPTY = new Uint8Array(0);
/** The default clock (one function for every socket). */
function monotonicNow(): number {
  return performance.now();
}
/** What every socket's reader hands on (set in the class's static block, which may use privates). */
let FRAME_EVENTS: FrameEvents<ServerWebSocket>;
/** Writes a socket's 101 alone when it still waits (set in the class's static block). */
let WRITE_HEAD: (socket: ServerWebSocket) => void;
/**
 * Sockets of this turn whose 101 still waited after their `onopen`: checked together once the
 * turn's callbacks are done, one `setImmediate` for all of them (one per socket costs 0.1-1.2 µs
 * and an object).
 */
let waitingHeads: ServerWebSocket[] = [];
function writeWaitingHeads(): void {
  const sockets = waitingHeads;
  waitingHeads = [];
  for (const socket of sockets) WRITE_HEAD(socket);
}

/**
 * One WebSocket connection after the HTTP upgrade.
 *
 * @example
 * ```ts
 * const socket = new ServerWebSocket({ stream: conn, protocol: "fanout.v1", maxMessageBytes: 1 << 18 });
 * socket.onmessage = (e) => console.log(e.data);
 * socket.open(head101); // the 101 goes out in front of the first frame
 * socket.receive(bytesReadFromConn); // frames are parsed and handed on
 * socket.send("hello");
 * socket.close(1000, "bye");
 * ```
 */
export class ServerWebSocket {
  readonly protocol: string;
  binaryType = "arraybuffer";
  onopen: ((event: Record<string, never>) => void) | null = null;
  onmessage: ((event: { data: string | ArrayBuffer }) => void) | null = null;
  onclose: ((event: SocketCloseEvent) => void) | null = null;
  onerror: ((event: { message: string }) => void) | null = null;
  /** Told when the peer broke the protocol or a limit (before the close). */
  onfail: ((code: number, reason: string) => void) | null = null;
  /** Told instead of the `on*` handlers once set by {@linkcode ServerWebSocket.listen}. */
  // deno-lint-ignore no-explicit-any
  #listener: SocketListener<any> | null = null;
  #target: unknown = null;
  #state = CONNECTING;
  #stream: ByteStream;
  #reader: FrameReader<ServerWebSocket>;
  #closeTimeoutMs: number;
  #now: () => number;
  #timers: Timers;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #inFlight = 0;
  #writing = false;
  /** What the write in flight is writing (null when none). */
  #chunk: Uint8Array | null = null;
  /** The frame of the write in flight when it is the pool's, given back once all written. */
  #pooled: Uint8Array | null = null;
  #pool: FramePool;
  /** The handshake's 101 while it waits to go out in front of the socket's first write. */
  #head: Uint8Array | null = null;
  /** The `defer` option; null for the default (the turn's shared check). */
  #defer: ((fn: () => void) => void) | null;
  #onWritten: ((n: number) => void) | null = null;
  #onWriteFailed: ((err: unknown) => void) | null = null;
  /** Set when the last queued frame is written: end the connection then (close handshake done). */
  #endAfterWrite = false;
  #closeTimer: unknown = null;
  #closeCode = 1005;
  #closeReason = "";
  #heardAt: number;
  #pinged = false;
  /** Pongs not written yet, oldest first: they go ahead of the queue in the next write. */
  #pongs: Uint8Array[] = [];
  /** The close event once closed; the promise of `closed` once asked for (most never are). */
  #closeEvent: SocketCloseEvent | null = null;
  #closed: PromiseWithResolvers<SocketCloseEvent> | null = null;
  /** After a clean close: drops the connection if the peer does not end it in time. */
  #linger: unknown = null;
  #dropped = false;

  constructor(options: ServerWebSocketOptions) {
    this.protocol = options.protocol ?? "";
    this.#stream = options.stream;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 2000;
    this.#now = options.now ?? monotonicNow;
    this.#timers = options.timers ?? realTimers;
    this.#pool = options.framePool ?? sharedFramePool;
    this.#defer = options.defer ?? null;
    this.#heardAt = this.#now();
    this.#reader = new FrameReader(
      {
        maxMessageBytes: options.maxMessageBytes,
        maxFragments: options.maxFragments,
        inbound: options.inbound,
      },
      FRAME_EVENTS,
      this,
    );
  }

  /** 0 connecting, 1 open, 2 closing, 3 closed, as for `WebSocket`. */
  get readyState(): number {
    return this.#state;
  }

  /**
   * True after a clean close while the connection is still read (and what arrives discarded)
   * until the peer ends it or the close timeout drops it: closing a connection with unread
   * bytes would make the kernel reset it and lose the close frame just written.
   */
  get lingering(): boolean {
    return this.#linger !== null;
  }

  /**
   * Tells `listener` (shared by many sockets) of this socket's messages, close, errors and
   * protocol failures, with `target`, instead of the `on*` handlers: no closures per socket.
   */
  listen<T>(listener: SocketListener<T>, target: T): void {
    this.#listener = listener;
    this.#target = target;
  }

  #error(message: string): void {
    if (this.#listener) this.#listener.error(this.#target, message);
    else this.onerror?.({ message });
  }

  /** Settles with the close event once the connection is gone. */
  get closed(): Promise<SocketCloseEvent> {
    if (this.#closed === null) {
      this.#closed = Promise.withResolvers();
      if (this.#closeEvent !== null) this.#closed.resolve(this.#closeEvent);
    }
    return this.#closed.promise;
  }

  /** Bytes handed to `send` (and control frames) not yet taken by the kernel. */
  get bufferedAmount(): number {
    return this.#queued + this.#inFlight;
  }

  /**
   * Opens the socket: the handshake is answered. `head`, the 101 response when it is not written
   * yet, goes out in front of the socket's first write: when `onopen` sends (Fanout's welcome, at
   * once with the memory engine) before the turn's callbacks are done, the 101 and that frame
   * leave in one write, one TCP segment; otherwise the head is written alone then.
   */
  open(head?: Uint8Array): void {
    if (this.#state !== CONNECTING) return;
    this.#state = OPEN;
    this.#heardAt = this.#now();
    if (head !== undefined && head.length > 0) this.#head = head;
    this.onopen?.({});
    // Deferred after `onopen`, so that what it deferred (a hub's flush) runs first.
    if (this.#head === null) return;
    if (this.#defer !== null) this.#defer(() => WRITE_HEAD(this));
    else if (waitingHeads.push(this) === 1) setImmediate(writeWaitingHeads);
  }

  /** Sends a text message; ignored unless open (like `WebSocket` after closing). */
  send(data: string): void {
    if (this.#state !== OPEN) return;
    this.#enqueue(encodeTextFrame(data));
  }

  /** Encodes `text` as a text frame, for {@linkcode ServerWebSocket.sendFrame} to many sockets. */
  encodeText(text: string): Uint8Array {
    return encodeTextFrame(text);
  }

  /**
   * Encodes `texts` as text frames back to back, for {@linkcode ServerWebSocket.sendFrame}: one
   * write carries them all (plain mode's frames of one turn).
   */
  encodeTexts(texts: readonly string[]): Uint8Array {
    return encodeTextFrames(texts);
  }

  /**
   * Encodes `texts` as text frames back to back with where each starts, for
   * {@linkcode ServerWebSocket.joinTextFrames}: plain mode's frames of a room's run.
   */
  encodeTextsAt(texts: readonly string[]): TextFrames {
    return encodeTextFramesAt(texts);
  }

  /**
   * Text frames back to back from `pieces`: strings encoded, bytes (ranges of
   * {@linkcode ServerWebSocket.encodeTextsAt}'s) copied as they are, for
   * {@linkcode ServerWebSocket.sendFrame}.
   */
  joinTextFrames(pieces: readonly (string | Uint8Array)[]): Uint8Array {
    return joinTextFrames(pieces);
  }

  /**
   * Sends {@linkcode ServerWebSocket.joinTextFrames} of `pieces`: frames for this socket alone
   * (plain mode's sender: ranges of a room's run with its own frames between), built in a buffer
   * of the frame pool like {@linkcode ServerWebSocket.sendTextPieces}'s. A lone range is sent as
   * it is (it is shared: never the pool's).
   */
  sendJoinedTextFrames(pieces: readonly (string | Uint8Array)[]): void {
    if (this.#state !== OPEN) return;
    if (pieces.length === 1 && typeof pieces[0] !== "string") return this.#enqueue(pieces[0]);
    const pooled = this.#idle();
    this.#sendOwn(joinTextFrames(pieces, pooled ? this.#pool : null), pooled);
  }

  /**
   * Encodes one text frame of `pieces` joined with newlines (strings, or UTF-8 bytes taken as
   * they are), for {@linkcode ServerWebSocket.sendFrame}: a frame made of parts of a shared one.
   */
  encodeTextPieces(pieces: readonly (string | Uint8Array)[]): Uint8Array {
    return encodeTextPieces(pieces);
  }

  /**
   * Sends one text frame of `pieces` joined with newlines ({@linkcode encodeTextPieces}): a frame
   * for this socket alone. With nothing waiting to be written it is built in a buffer of the
   * frame pool, written at once, and the buffer goes back to the pool when the write completed.
   */
  sendTextPieces(pieces: readonly (string | Uint8Array)[]): void {
    if (this.#state !== OPEN) return;
    const pooled = this.#idle();
    this.#sendOwn(encodeTextPieces(pieces, pooled ? this.#pool : null), pooled);
  }

  /** Nothing waits to be written: a frame enqueued now is written at once, alone. */
  #idle(): boolean {
    return !this.#writing && this.#queue.length === 0 && this.#pongs.length === 0;
  }

  /**
   * Sends a frame of this socket's own; `pooled` when it was built in the pool's buffer, the
   * socket being idle: it is then the write in flight, and its buffer goes back once written.
   */
  #sendOwn(frame: Uint8Array, pooled: boolean): void {
    if (pooled) this.#pooled = frame;
    this.#enqueue(frame);
  }

  /**
   * Sends a frame (or frames back to back) already encoded, possibly shared between recipients;
   * ignored unless open. With no write in flight it is written at once, in one write.
   */
  sendFrame(frame: Uint8Array): void {
    if (this.#state !== OPEN) return;
    this.#enqueue(frame);
  }

  /**
   * Starts the close handshake: the close frame follows what is queued, and the connection is
   * dropped when the peer answers or `closeTimeoutMs` later, whichever comes first.
   */
  close(code = 1000, reason = ""): void {
    if (this.#state === CONNECTING) {
      this.#closeCode = code;
      this.#finish(false);
      return;
    }
    if (this.#state !== OPEN) return;
    this.#state = CLOSING;
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#enqueue(encodeCloseFrame(code, reason));
    this.#closeTimer = this.#timers.setTimer(() => {
      this.#closeTimer = null;
      this.#finish(false);
    }, this.#closeTimeoutMs);
  }

  /** Bytes read from the connection. */
  receive(chunk: Uint8Array): void {
    if (this.#state === CLOSED) return;
    this.#heardAt = this.#now();
    this.#pinged = false;
    this.#reader.push(chunk);
  }

  /** The connection ended (EOF or a read error): the socket is closed. */
  ended(error?: string): void {
    if (this.#state === CLOSED) return this.#drop();
    if (error && this.#state === OPEN) this.#error(error);
    if (this.#state !== CLOSING) this.#closeCode = 1006;
    this.#finish(false);
  }

  /**
   * Heartbeat, called periodically: pings after `idleMs / 2` without a byte from the peer, and
   * closes (1001) after `idleMs`.
   */
  heartbeat(idleMs: number): void {
    if (this.#state !== OPEN) return;
    const silent = this.#now() - this.#heardAt;
    if (silent >= idleMs) {
      this.close(Close.idle, "no answer to ping");
      return;
    }
    if (silent >= idleMs / 2 && !this.#pinged) {
      this.#pinged = true;
      this.#enqueue(PING);
    }
  }

  static {
    WRITE_HEAD = (socket) => {
      if (socket.#head !== null) socket.#start(EMPTY);
    };
    // The reader's events for every socket: one table, no closures per socket (an idle
    // connection holds only what it must).
    FRAME_EVENTS = {
      text(text, socket) {
        if (socket.#state !== OPEN) return;
        if (socket.#listener) socket.#listener.message(socket.#target, text);
        else socket.onmessage?.({ data: text });
      },
      binary(payload, socket) {
        if (socket.#state !== OPEN) return;
        const whole = payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength;
        const data = whole ? payload.buffer as ArrayBuffer : payload.slice().buffer;
        if (socket.#listener) socket.#listener.message(socket.#target, data);
        else socket.onmessage?.({ data });
      },
      ping(payload, socket) {
        if (socket.#state !== OPEN) return;
        const pong = encodeFrame(Opcode.pong, payload);
        if (socket.#pongs.length >= MAX_PENDING_PONGS) {
          socket.#queued -= socket.#pongs.shift()!.length;
        }
        socket.#pongs.push(pong);
        socket.#queued += pong.length;
        if (!socket.#writing) socket.#pump();
      },
      pong() {},
      close(code, reason, socket) {
        socket.#peerClosed(code, reason);
      },
      fail(code, reason, socket) {
        if (socket.#listener) socket.#listener.fail(socket.#target, code, reason);
        else socket.onfail?.(code, reason);
        if (socket.#state !== OPEN) return;
        // The peer broke the protocol: tell it why, then drop the connection.
        socket.#state = CLOSING;
        socket.#closeCode = code;
        socket.#closeReason = reason;
        socket.#endAfterWrite = true;
        socket.#enqueue(encodeCloseFrame(code, reason));
        socket.#closeTimer = socket.#timers.setTimer(
          () => socket.#finish(false),
          socket.#closeTimeoutMs,
        );
      },
    };
  }

  #peerClosed(code: number | null, reason: string): void {
    if (this.#state === OPEN) {
      // Echo the close, then drop the connection once it is written.
      this.#state = CLOSING;
      this.#closeCode = code ?? 1005;
      this.#closeReason = reason;
      this.#endAfterWrite = true;
      this.#enqueue(encodeCloseFrame(code ?? 1000, ""));
      this.#closeTimer = this.#timers.setTimer(() => this.#finish(true), this.#closeTimeoutMs);
      return;
    }
    // Our close was answered.
    if (this.#state === CLOSING) this.#finish(true);
  }

  #enqueue(frame: Uint8Array): void {
    // Nothing waits: written at once, without going through the queue's array.
    if (this.#idle()) return this.#start(frame);
    this.#queue.push(frame);
    this.#queued += frame.length;
    if (!this.#writing) this.#pump();
  }

  #pump(): void {
    const queue = this.#queue;
    const pongs = this.#pongs;
    if (queue.length === 0 && pongs.length === 0) {
      this.#writing = false;
      if (this.#endAfterWrite) this.#finish(true);
      return;
    }
    this.#writing = true;
    // Pongs waiting go first (as soon as practical, RFC 6455 5.5.2; never after a close frame,
    // since none is made once closing), then the queue's frames while they fit in one write; a
    // frame larger than that goes alone.
    let size = 0;
    for (const pong of pongs) size += pong.length;
    let taken = 0;
    if (pongs.length === 0) size = queue[taken++].length;
    while (taken < queue.length && size + queue[taken].length <= COALESCE_BYTES) {
      size += queue[taken++].length;
    }
    let chunk: Uint8Array;
    if (pongs.length + taken === 1) chunk = pongs.length === 1 ? pongs[0] : queue[0];
    else {
      chunk = new Uint8Array(size);
      let at = 0;
      for (const pong of pongs) {
        chunk.set(pong, at);
        at += pong.length;
      }
      for (let i = 0; i < taken; i++) {
        chunk.set(queue[i], at);
        at += queue[i].length;
      }
    }
    if (pongs.length > 0) this.#pongs = [];
    if (taken > 0) this.#queue = taken === queue.length ? [] : queue.slice(taken);
    this.#queued -= chunk.length;
    this.#start(chunk);
  }

  /**
   * Starts writing `chunk`, nothing being in flight. While the 101's head waits, the write is the
   * head and `chunk` copied behind it (in a buffer of the pool when one fits; a pooled `chunk`
   * goes back at once, never written).
   */
  #start(chunk: Uint8Array): void {
    this.#writing = true;
    const head = this.#head;
    if (head !== null) {
      this.#head = null;
      if (chunk.length === 0) chunk = head;
      else {
        const size = head.length + chunk.length;
        const taken = this.#pool.take(size);
        const both = taken ?? new Uint8Array(size);
        both.set(head);
        both.set(chunk, head.length);
        if (this.#pooled !== null) this.#pool.give(this.#pooled);
        this.#pooled = taken;
        chunk = both;
      }
    }
    this.#inFlight = chunk.length;
    this.#write(chunk);
  }

  /**
   * Writes `chunk` (one write in flight at a time). The completion handlers are made once per
   * socket, at its first write, not two closures per write.
   */
  #write(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#stream.write(chunk).then(
      this.#onWritten ??= (n) => this.#written(n),
      this.#onWriteFailed ??= (err) => this.#writeFailed(err),
    );
  }

  #written(n: number): void {
    if (this.#state === CLOSED) return;
    const chunk = this.#chunk!;
    if (n < chunk.length) {
      const rest = chunk.subarray(n);
      this.#inFlight = rest.length;
      return this.#write(rest);
    }
    this.#chunk = null;
    this.#inFlight = 0;
    if (this.#pooled !== null) {
      this.#pool.give(this.#pooled);
      this.#pooled = null;
    }
    this.#pump();
  }

  #writeFailed(err: unknown): void {
    this.#chunk = null;
    if (this.#state === CLOSED) return;
    if (this.#state === OPEN) this.#error(String(err));
    if (this.#state !== CLOSING) this.#closeCode = 1006;
    this.#finish(false);
  }

  /** Drops the connection and reports the close once. */
  #finish(wasClean: boolean): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.#head = null;
    this.#reader.stop();
    if (this.#closeTimer !== null) this.#timers.clearTimer(this.#closeTimer);
    this.#closeTimer = null;
    this.#queue = [];
    this.#pongs = [];
    this.#queued = 0;
    this.#inFlight = 0;
    if (wasClean && this.#stream.closeWrite) {
      // The handshake is done and nothing is pending: send our FIN and let the peer end the
      // connection (its end of stream releases it), or drop it after the close timeout.
      this.#stream.closeWrite().catch(() => this.#drop());
      this.#linger = this.#timers.setTimer(() => this.#drop(), this.#closeTimeoutMs);
    } else this.#drop();
    const event = { code: this.#closeCode, reason: this.#closeReason, wasClean };
    this.#closeEvent = event;
    try {
      if (this.#listener) this.#listener.close(this.#target, event);
      else this.onclose?.(event);
    } finally {
      this.#closed?.resolve(event);
    }
  }

  /** Releases the connection (once). */
  #drop(): void {
    if (this.#linger !== null) this.#timers.clearTimer(this.#linger);
    this.#linger = null;
    if (this.#dropped) return;
    this.#dropped = true;
    try {
      this.#stream.close();
    } catch {
      // Already closed.
    }
  }
}
