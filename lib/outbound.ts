/**
 * Outbound frames: every connection that got something in this event-loop turn is flushed once,
 * as one NDJSON frame, at the end of the turn (or early past `FLUSH_BYTES`); sockets whose
 * backlog stays over `MAX_BUFFERED_BYTES` are closed 4008.
 *
 * @module
 */

import { type Connection, FrameCache } from "./connection.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { ServerFrame } from "./protocol.ts";

/** Close code for a slow consumer. */
export const SLOW_CONSUMER = 4008;

/** Options of {@linkcode Outbound}. */
export interface OutboundOptions {
  flushBytes: number;
  maxBufferedBytes: number;
  metrics: Metrics;
  logger: Logger;
  /** Called after a connection was closed here (send failure or slow consumer). */
  onClosed: (conn: Connection) => void;
  /** Runs `fn` after the current event-loop turn (default `setImmediate`). */
  defer?: (fn: () => void) => void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** How long a backlog over `maxBufferedBytes` may last without shrinking (default 1000 ms). */
  slowGraceMs?: number;
}

/**
 * Queues frames per connection and writes them once per turn.
 *
 * @example
 * ```ts
 * const out = new Outbound({ flushBytes: 65536, maxBufferedBytes: 1 << 20, metrics, logger, onClosed });
 * out.queue(conn, '{"type":"pong","t":1}'); // written at the end of the turn
 * ```
 */
export class Outbound {
  #o: Required<OutboundOptions>;
  #dirty: Connection[] = [];
  #scheduled = false;
  /** Connections over the buffer limit, with the timer that judges them. */
  #slow = new Map<Connection, unknown>();

  constructor(options: OutboundOptions) {
    // Defaults by `??`: the hub passes its own options through, `undefined` included.
    this.#o = {
      ...options,
      defer: options.defer ?? setImmediate,
      setTimer: options.setTimer ?? setTimeout,
      clearTimer: options.clearTimer ?? ((h) => clearTimeout(h as number)),
      slowGraceMs: options.slowGraceMs ?? 1000,
    };
  }

  /** Queues a frame (or, with null, just marks the connection) and schedules the turn's flush. */
  queue(conn: Connection, frame: string | null): void {
    if (frame !== null && conn.push(frame) >= this.#o.flushBytes && conn.state === "open") {
      this.flushOne(conn);
      return;
    }
    if (conn.dirty) return;
    conn.dirty = true;
    this.#dirty.push(conn);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#o.defer(this.flushAll);
    }
  }

  /** Queues a server frame: as JSON in JSON mode; in plain mode only errors, as `error: ...`. */
  send(conn: Connection, frame: ServerFrame): void {
    if (conn.json) this.queue(conn, JSON.stringify(frame));
    else if (frame.type === "error") this.queue(conn, `error: ${frame.message}`);
  }

  /** Writes everything queued now. */
  flushAll = (): void => {
    this.#scheduled = false;
    const list = this.#dirty;
    this.#dirty = [];
    const cache = new FrameCache();
    for (const conn of list) this.flushOne(conn, cache);
  };

  /** Writes one connection's queue, then judges its backlog. */
  flushOne(conn: Connection, cache?: FrameCache): void {
    conn.dirty = false;
    if (conn.state !== "open") return;
    try {
      this.#o.metrics.framesOut += conn.flush(cache);
    } catch (err) {
      this.#o.logger.warn("ws.send_failed", { id: conn.id, error: String(err) });
      this.#close(conn, 1011, "send failed");
      return;
    }
    const limit = this.#o.maxBufferedBytes;
    if (conn.backlog > 4 * limit) this.#closeSlow(conn, conn.backlog);
    else if (conn.backlog > limit) this.#watchSlow(conn);
  }

  /**
   * Writes what is queued for `conn` now (also before its welcome: a refusal's error), then
   * closes it with `code` and reports it closed. For closes the server decides (abuse, restart,
   * refusal), so the client reads why before the close.
   */
  end(conn: Connection, code: number, reason: string): void {
    conn.dirty = false;
    try {
      this.#o.metrics.framesOut += conn.flush();
    } catch (err) {
      this.#o.logger.warn("ws.send_failed", { id: conn.id, error: String(err) });
    }
    this.#close(conn, code, reason);
  }

  /** Stops watching a connection that is gone. */
  forget(conn: Connection): void {
    if (!this.#slow.has(conn)) return;
    this.#o.clearTimer(this.#slow.get(conn));
    this.#slow.delete(conn);
  }

  #close(conn: Connection, code: number, reason: string): void {
    conn.close(code, reason);
    this.forget(conn);
    this.#o.onClosed(conn);
  }

  #closeSlow(conn: Connection, backlog: number): void {
    this.#o.metrics.slowConsumers++;
    this.#o.logger.info("ws.slow_consumer", { id: conn.id, room: conn.room, backlog });
    this.#close(conn, SLOW_CONSUMER, "slow consumer");
  }

  /**
   * Judges a connection over `maxBufferedBytes` one grace period later. Deno counts every byte
   * handed to `send` in `bufferedAmount` until its write completes, and writes progress only
   * between event-loop turns, so right after a burst or a large welcome even a fast reader is
   * over the limit. A connection still over it whose backlog did not shrink is closed 4008; one
   * that is draining is looked at again later. Past 4 times the limit it is closed at once, which
   * bounds memory while the grace runs.
   */
  #watchSlow(conn: Connection): void {
    if (this.#slow.has(conn)) return;
    const mark = conn.backlog;
    const timer = this.#o.setTimer(() => {
      this.#slow.delete(conn);
      if (conn.state !== "open") return;
      const backlog = conn.backlog;
      if (backlog <= this.#o.maxBufferedBytes) return;
      if (backlog < mark) return this.#watchSlow(conn);
      this.#closeSlow(conn, backlog);
    }, this.#o.slowGraceMs);
    this.#slow.set(conn, timer);
  }
}
