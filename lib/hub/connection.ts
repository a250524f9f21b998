/**
 * One client connection: its identity, its mode, its rate limiter, and its send queue, which
 * packs everything queued in one event-loop turn into one NDJSON frame (JSON mode).
 *
 * @module
 */

import type { AddressEntry } from "./address_limits.ts";
import type { Handshake } from "../protocol/handshake.ts";
import type { RateLimiter } from "./rate_limiter.ts";

/** The part of a WebSocket a connection uses; `WebSocket` satisfies it. */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  /**
   * Encodes a text frame once, to be sent to many sockets with `sendFrame` (Fanout's own sockets,
   * `lib/transport/server_web_socket.ts`): every recipient of the same frame then shares one
   * encoding.
   */
  encodeText?(text: string): Uint8Array;
  /** Sends a frame made by `encodeText`. */
  sendFrame?(frame: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/**
 * The socket an upgrade gives: Fanout's own (`lib/transport/server_web_socket.ts`) or Deno's
 * `WebSocket`: what {@linkcode Hub.attach} wires. Handler parameters are `never` so that both fit.
 */
export interface UpgradedSocket extends SocketLike {
  binaryType: string;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  /**
   * Told when the peer broke the WebSocket protocol or a size limit, before the socket closes
   * with `code` (Fanout's own sockets; Deno's have no such hook).
   */
  onfail?: ((code: number, reason: string) => void) | null;
}

const OPEN = 1;

/**
 * The last NDJSON frame built in one flush pass. Recipients of a room's turn usually queued the
 * very same strings, so they share one joined frame instead of each joining (and copying) its own.
 *
 * @example
 * ```ts
 * const cache = new FrameCache();
 * a.flush(cache);
 * b.flush(cache); // reuses a's frame when b queued the same strings
 * ```
 */
export class FrameCache {
  parts: string[] | null = null;
  joined = "";
  #text: string | null = null;
  #frame: Uint8Array | null = null;

  /** `text` encoded by `encodeText`, reusing the last encoding when the text is the same. */
  encode(text: string, encodeText: (text: string) => Uint8Array): Uint8Array {
    if (text === this.#text) return this.#frame!;
    this.#text = text;
    return this.#frame = encodeText(text);
  }

  /** `parts` joined with newlines, reusing the previous result when the parts are the same. */
  join(parts: string[]): string {
    const prev = this.parts;
    if (prev !== null && prev.length === parts.length) {
      let same = true;
      for (let i = 0; i < parts.length; i++) {
        if (prev[i] !== parts[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.joined;
    }
    this.parts = parts;
    return this.joined = parts.join("\n");
  }
}

/** Lifecycle of a connection: waiting for its welcome, open, or gone. */
export type ConnectionState = "joining" | "open" | "closed";

/**
 * A client connection as the hub sees it.
 *
 * @example
 * ```ts
 * const conn = new Connection("c1", socket, handshake, true, limiter);
 * conn.push('{"type":"pong","t":1}');
 * conn.flush(); // sends one frame
 * ```
 */
export class Connection {
  readonly id: string;
  readonly room: string;
  readonly name: string | null;
  readonly client: string | null;
  /** JSON mode (`fanout.v1`) when true, plain text mode otherwise. */
  readonly json: boolean;
  readonly limiter: RateLimiter;
  state: ConnectionState = "joining";
  /** True while the connection waits in the hub's flush list. */
  dirty = false;
  /** The client address's counters (null for connections accepted without one, in tests). */
  address: AddressEntry | null = null;
  /** Epoch of this connection's welcome: only messages of that epoch are delivered to it. */
  epoch = "";
  /**
   * Offset of this connection's welcome: messages at or below it were in the welcome's history
   * (or before it), so live copies of them are not delivered again.
   */
  floor = 0;
  #socket: SocketLike;
  #queue: string[] = [];
  #queuedBytes = 0;

  constructor(
    id: string,
    socket: SocketLike,
    handshake: Handshake,
    json: boolean,
    limiter: RateLimiter,
  ) {
    this.id = id;
    this.#socket = socket;
    this.room = handshake.room;
    this.name = handshake.name;
    this.client = handshake.client;
    this.json = json;
    this.limiter = limiter;
  }

  /** Bytes (UTF-16 units, close enough) waiting in the queue plus the socket's own buffer. */
  get backlog(): number {
    return this.#queuedBytes + this.#socket.bufferedAmount;
  }

  /** Queues one frame (JSON object or plain text); returns the bytes now queued. */
  push(frame: string): number {
    this.#queue.push(frame);
    return (this.#queuedBytes += frame.length);
  }

  /** Puts a frame in front of everything queued (the welcome). */
  pushFirst(frame: string): void {
    this.#queue.unshift(frame);
    this.#queuedBytes += frame.length;
  }

  /**
   * Sends what is queued: one NDJSON frame in JSON mode, one frame per text in plain mode.
   * Returns the number of frames written; nothing is written to a socket that is not open.
   * With a `cache`, a frame equal to the one just built for another connection is reused.
   */
  flush(cache?: FrameCache): number {
    const queue = this.#queue;
    if (queue.length === 0) return 0;
    this.#queue = [];
    this.#queuedBytes = 0;
    const socket = this.#socket;
    if (socket.readyState !== OPEN) return 0;
    if (this.json) {
      const frame = queue.length === 1 ? queue[0] : cache ? cache.join(queue) : queue.join("\n");
      if (cache && socket.encodeText) socket.sendFrame!(cache.encode(frame, socket.encodeText));
      else socket.send(frame);
      return 1;
    }
    for (const text of queue) {
      if (cache && socket.encodeText) socket.sendFrame!(cache.encode(text, socket.encodeText));
      else socket.send(text);
    }
    return queue.length;
  }

  /** Closes the socket once; later calls do nothing. */
  close(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.#queue = [];
    this.#queuedBytes = 0;
    try {
      this.#socket.close(code, reason);
    } catch {
      // Already closing: nothing left to do.
    }
  }
}
