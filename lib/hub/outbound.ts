/**
 * Outbound frames: the send queue of every connection (`Connection.queue`), and its flush: every
 * connection that got something in this event-loop turn is flushed once, as one NDJSON frame, at
 * the end of the turn (or early past `FLUSH_BYTES`), recipients of the same frames sharing one
 * joined and encoded frame (`FrameCache`); sockets whose backlog stays over `MAX_BUFFERED_BYTES`
 * are closed 4008, and so are the largest backlogs while all of them together are over
 * `SEND_QUEUE_MEMORY_MB`. A room's messages of one turn are kept once, in a {@linkcode RoomRun},
 * and each member's queue ends with the range of it that member gets (`Connection.run`): a
 * delivery moves a number instead of growing an array per member.
 *
 * @module
 */

import { realTimers, type Timers } from "../shared/timers.ts";
import { Close } from "../protocol/close_codes.ts";
import type { Connection, Subscription } from "./connection.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "./metrics.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import {
  type CachedFrame,
  type FrameEncoder,
  RoomRun,
  type RunHolder,
  type RunSlice,
} from "./room_run.ts";

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
  /** Timers of the slow-consumer checks (default `setTimeout` and `clearTimeout`). */
  timers?: Timers;
  /** How long a backlog over `maxBufferedBytes` may last without shrinking, in ms. */
  slowGraceMs: number;
  /** Bytes every backlog together may hold (default: no bound). */
  sendQueueBytes?: number;
  /** Every connection, for the check of the sum of backlogs (default: none). */
  connections?: () => Iterable<Connection>;
  /** Monotonic clock in ms, to space the checks of the sum (default `performance.now`). */
  now?: () => number;
}

const OPEN = 1;

/** True when `a` and `b` hold the same strings in the same order (pointer compares, mostly). */
function sameParts(a: readonly string[] | null, b: readonly string[]): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True for a queued text (not a range of a run). */
function isText(part: string | RunSlice): part is string {
  return typeof part === "string";
}

/** The texts of a queue, its runs' ranges spelled out. */
function expand(queue: (string | RunSlice)[]): string[] {
  const texts: string[] = [];
  for (const part of queue) {
    if (typeof part === "string") texts.push(part);
    else for (let i = part.from; i < part.to; i++) texts.push(part.run.texts[i]);
  }
  return texts;
}

/**
 * The pieces of `queue`'s frame(s): its texts, and its ranges of flushed runs as bytes the run
 * made once (`cut`: the run's range `from..to`, or null when the run cannot give it). Null when a
 * range is of a run still growing, or `cut` gives none.
 */
function piecesOf(
  queue: (string | RunSlice)[],
  cut: (run: RoomRun, from: number, to: number, socket: FrameEncoder) => Uint8Array | null,
  socket: FrameEncoder,
): (string | Uint8Array)[] | null {
  const pieces: (string | Uint8Array)[] = new Array(queue.length);
  for (let i = 0; i < queue.length; i++) {
    const part = queue[i];
    if (typeof part === "string") {
      pieces[i] = part;
      continue;
    }
    if (!part.run.sealed) return null;
    const bytes = cut(part.run, part.from, part.to, socket);
    if (bytes === null) return null;
    pieces[i] = bytes;
  }
  return pieces;
}

/**
 * JSON mode: texts `from..to-1` of an ASCII run as a range of its NDJSON payload, with the newlines
 * between them (not the one after the last); null for a run that is not ASCII.
 */
function payloadRange(run: RoomRun, from: number, to: number): Uint8Array | null {
  const { bytes, starts } = run.payload();
  return starts === null ? null : bytes.subarray(starts[from], starts[to] - 1);
}

/** Plain mode: texts `from..to-1` of a run as a range of its frames (encoded once by `socket`). */
function framesRange(run: RoomRun, from: number, to: number, socket: FrameEncoder): Uint8Array {
  const { bytes, starts } = run.frames(socket);
  return bytes.subarray(starts[from], starts[to]);
}

/** Texts in `queue`, its ranges counted out. */
function textCount(queue: (string | RunSlice)[]): number {
  let n = 0;
  for (const part of queue) n += typeof part === "string" ? 1 : part.to - part.from;
  return n;
}

/**
 * A connection that followed its run stops: its range ends at the run's end now, its bytes are
 * counted, and (while the run still grows) it is visited per message from now on.
 */
function settle(conn: Connection): void {
  if (!conn.follows) return;
  const run = conn.run!;
  conn.follows = false;
  conn.runTo = run.texts.length;
  if (conn.runFrom < conn.runTo) conn.queuedBytes += run.bytes - run.cum[conn.runFrom];
  const sub = run.followers?.get(conn.id);
  if (sub === undefined) return;
  run.followers!.delete(conn.id);
  if (!run.sealed) run.explicit.push(sub);
}

/** Ends `conn`'s open range of a run: it goes into the queue (a single text as itself). */
function closeRun(conn: Connection): void {
  settle(conn);
  const run = conn.run!;
  const n = conn.runTo - conn.runFrom;
  if (n > 0) {
    conn.queue.push(
      n === 1 ? run.texts[conn.runFrom] : { run, from: conn.runFrom, to: conn.runTo },
    );
  }
  conn.run = null;
}

/** Frames one flush pass remembers (most recently used first). */
const FRAME_CACHE_ENTRIES = 4;

/**
 * The frames built in one flush pass, for the last few distinct queues. Recipients of a room's
 * turn usually queued the very same strings, so they share one joined NDJSON frame and one
 * encoding of it (in plain mode, one encoding of the turn's frames back to back) instead of each
 * building its own. A sender's queue differs (its acks, not its own messages): the few entries let
 * the others' common frame survive the senders met between them in the pass.
 */
class FrameCache {
  #entries: CachedFrame[] = [];

  /** The entry of `parts` (same strings, same order: pointer compares, mostly), made if new. */
  of(parts: string[]): CachedFrame {
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (!sameParts(entry.parts, parts)) continue;
      if (i > 0) {
        entries.splice(i, 1);
        entries.unshift(entry);
      }
      return entry;
    }
    const entry: CachedFrame = { parts };
    entries.unshift(entry);
    if (entries.length > FRAME_CACHE_ENTRIES) entries.pop();
    return entry;
  }
}

/** Least time between two checks of the sum of every backlog, in ms. */
const BUDGET_CHECK_MS = 100;

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
  /** Rooms with a run in this pass: their runs are let go when the pass is flushed. */
  #holders: RunHolder[] = [];
  #scheduled = false;
  /** Connections over the buffer limit, with the timer that judges them. */
  #slow = new Map<Connection, unknown>();
  /** A backlog this large after a flush has the sum of every backlog checked soon. */
  #heavy: number;
  #budgetDue = false;
  #budgetCheckedAt = -Infinity;

  constructor(options: OutboundOptions) {
    // Defaults by `??`: the hub passes its own options through, `undefined` included.
    this.#o = {
      ...options,
      defer: options.defer ?? setImmediate,
      timers: options.timers ?? realTimers,
      sendQueueBytes: options.sendQueueBytes ?? Infinity,
      connections: options.connections ?? (() => []),
      now: options.now ?? (() => performance.now()),
    };
    this.#heavy = Math.max(1, Math.floor(options.maxBufferedBytes / 4));
  }

  /** Queues a frame (or, with null, just marks the connection) and schedules the turn's flush. */
  queue(conn: Connection, frame: string | null): void {
    if (frame !== null) {
      if (conn.run !== null) closeRun(conn);
      conn.queue.push(frame);
      if ((conn.queuedBytes += frame.length) >= this.#o.flushBytes && conn.state === "open") {
        this.flushOne(conn);
        return;
      }
    }
    this.#mark(conn);
  }

  /**
   * The run of `holder` (a room) in this pass for JSON or plain texts, made when it has none.
   * Append a text with `run.texts.push`, then give it to members with {@linkcode queueRun}.
   */
  run(holder: RunHolder, json: boolean): RoomRun {
    const held = json ? holder.jsonRun : holder.plainRun;
    if (held !== null) return held;
    const run = new RoomRun();
    if (holder.jsonRun === null && holder.plainRun === null) this.#holders.push(holder);
    if (json) holder.jsonRun = run;
    else holder.plainRun = run;
    return run;
  }

  /**
   * Appends `text` to `run` and returns its index. A run with followers that grew past
   * `flushBytes` loses them (each is flushed if its queue is that large, as {@linkcode queueRun}
   * would have done).
   */
  append(run: RoomRun, text: string): number {
    run.cum.push(run.bytes);
    run.bytes += text.length;
    const at = run.texts.push(text) - 1;
    if (run.followers !== null && run.bytes >= this.#o.flushBytes) this.unfollowAll(run);
    return at;
  }

  /**
   * `conn` (a member of `sub`'s room) follows `run` from its next text on: it gets every text
   * appended to the run, and is not visited per message (`Hub.deliver` visits only the run's
   * `explicit` members). It stops following, its range then spelled out like any other, when
   * anything else is queued for it, when it sends in the room ({@linkcode unfollow}), or when its
   * queue is written.
   */
  follow(conn: Connection, run: RoomRun, sub: Subscription): void {
    conn.run = run;
    conn.runFrom = conn.runTo = run.texts.length;
    conn.follows = true;
    run.followers!.set(conn.id, sub);
    this.#mark(conn);
  }

  /** The follower `id` of `run`, if any, stops following (it sent the message appended next). */
  unfollow(run: RoomRun, id: string): void {
    const sub = run.followers?.get(id) as Subscription | undefined;
    if (sub !== undefined && sub.conn.run === run) settle(sub.conn);
  }

  /**
   * Every follower of `run` stops following (the room's members changed, or its messages' epoch
   * or order did), each flushed if its queue passed `flushBytes`; from then on every member is
   * visited per message.
   */
  unfollowAll(run: RoomRun): void {
    const followers = run.followers;
    if (followers === null) return;
    run.followers = null;
    for (const sub of followers.values() as Iterable<Subscription>) {
      const conn = sub.conn;
      if (conn.run !== run || !conn.follows) continue;
      settle(conn);
      if (conn.queuedBytes >= this.#o.flushBytes && conn.state === "open") this.flushOne(conn);
    }
  }

  /**
   * Queues text `at` of `run` for `conn`, like {@linkcode queue}: a connection that got the
   * run's previous text just takes one more (no allocation); otherwise a new range starts.
   */
  queueRun(conn: Connection, run: RoomRun, at: number): void {
    if (conn.follows) settle(conn);
    if (conn.run === run && conn.runTo === at) conn.runTo = at + 1;
    else {
      if (conn.run !== null) closeRun(conn);
      conn.run = run;
      conn.runFrom = at;
      conn.runTo = at + 1;
    }
    if ((conn.queuedBytes += run.texts[at].length) >= this.#o.flushBytes && conn.state === "open") {
      this.flushOne(conn);
      return;
    }
    this.#mark(conn);
  }

  /** Puts `conn` in this turn's flush list and schedules the flush. */
  #mark(conn: Connection): void {
    if (conn.dirty) return;
    conn.dirty = true;
    this.#dirty.push(conn);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#o.defer(this.flushAll);
    }
  }

  /**
   * Puts a frame of `conn`'s alone in front of everything queued for it (the welcome); `queue`
   * schedules it. The frame it is written in is then shared with no other connection.
   */
  putFirst(conn: Connection, frame: string): void {
    conn.queue.unshift(frame);
    conn.ownFirst = true;
    conn.queuedBytes += frame.length;
  }

  /** Bytes (UTF-16 units, close enough) waiting for `conn`: its queue and its socket's buffer. */
  backlog(conn: Connection): number {
    return conn.queuedBytes + conn.socket.bufferedAmount;
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
    // The runs of this pass stay as they are now; what is queued from here on starts new ones.
    for (const holder of this.#holders) {
      if (holder.jsonRun !== null) holder.jsonRun.sealed = true;
      if (holder.plainRun !== null) holder.plainRun.sealed = true;
      holder.jsonRun = holder.plainRun = null;
    }
    this.#holders = [];
    const cache = new FrameCache();
    for (const conn of list) this.flushOne(conn, cache);
  };

  /** Writes one connection's queue, then judges its backlog. */
  flushOne(conn: Connection, cache?: FrameCache): void {
    conn.dirty = false;
    if (conn.state !== "open") return;
    try {
      this.#o.metrics.framesOut += this.#write(conn, cache);
    } catch (err) {
      this.#o.logger.warn("ws.send_failed", { id: conn.id, error: String(err) });
      this.#close(conn, Close.unavailable, "send failed");
      return;
    }
    const limit = this.#o.maxBufferedBytes;
    const backlog = this.backlog(conn);
    if (backlog > 4 * limit) return this.#closeSlow(conn, backlog);
    if (backlog > limit) this.#watchSlow(conn);
    if (backlog >= this.#heavy) this.#scheduleBudgetCheck();
  }

  /**
   * A large backlog was just flushed: checks the sum of every backlog at the end of the turn,
   * at most once per turn and every {@linkcode BUDGET_CHECK_MS}. Backlogs only grow by flushes,
   * so checking after them is enough.
   */
  #scheduleBudgetCheck(): void {
    if (this.#budgetDue || this.#o.sendQueueBytes === Infinity) return;
    if (this.#o.now() - this.#budgetCheckedAt < BUDGET_CHECK_MS) return;
    this.#budgetDue = true;
    this.#o.defer(() => {
      this.#budgetDue = false;
      this.#budgetCheckedAt = this.#o.now();
      this.checkBudget();
    });
  }

  /**
   * Closes the largest backlogs (4008) while every backlog together is over `sendQueueBytes`.
   * Returns how many connections were closed.
   */
  checkBudget(): number {
    let total = 0;
    const held: [Connection, number][] = [];
    for (const conn of this.#o.connections()) {
      const backlog = this.backlog(conn);
      if (backlog === 0) continue;
      total += backlog;
      held.push([conn, backlog]);
    }
    let closed = 0;
    if (total > this.#o.sendQueueBytes) {
      held.sort((a, b) => b[1] - a[1]);
      for (const [conn, backlog] of held) {
        if (total <= this.#o.sendQueueBytes) break;
        total -= backlog;
        this.#closeSlow(conn, backlog, "send_queue_budget");
        closed++;
      }
    }
    return closed;
  }

  /**
   * Writes what is queued for `conn` now (also before its welcome: a refusal's error), then
   * closes it with `code` and reports it closed. For closes the server decides (abuse, restart,
   * refusal), so the client reads why before the close.
   */
  end(conn: Connection, code: number, reason: string): void {
    conn.dirty = false;
    try {
      this.#o.metrics.framesOut += this.#write(conn);
    } catch (err) {
      this.#o.logger.warn("ws.send_failed", { id: conn.id, error: String(err) });
    }
    this.#close(conn, code, reason);
  }

  /** Stops watching a connection that is gone. */
  forget(conn: Connection): void {
    if (!this.#slow.has(conn)) return;
    this.#o.timers.clearTimer(this.#slow.get(conn));
    this.#slow.delete(conn);
  }

  /**
   * Sends what is queued for `conn`: one NDJSON frame in JSON mode, one frame per text in plain
   * mode, all of them in one write where the socket can encode them (`encodeTexts`). Returns the
   * number of frames written; nothing is written to a socket that is not open. With a `cache`,
   * frames equal to those just built for another connection are reused. A member that got every
   * text of a room's run (and nothing else) shares the run's frame; in JSON mode, one that got
   * parts of a flushed run (a sender: not its own messages) gets a frame copied from the run's
   * bytes, with its own frames between (`encodeTextPieces`).
   */
  #write(conn: Connection, cache?: FrameCache): number {
    const socket = conn.socket;
    const ownFirst = conn.ownFirst;
    conn.ownFirst = false;
    settle(conn);
    // A follower that got nothing of its run has no range.
    if (conn.run !== null && conn.runTo === conn.runFrom) conn.run = null;
    const run = conn.run;
    if (run !== null && conn.queue.length === 0 && conn.runFrom === 0) {
      conn.run = null;
      conn.queuedBytes = 0;
      if (socket.readyState !== OPEN) return 0;
      return this.#writeWhole(conn, run, conn.runTo);
    }
    if (run !== null) closeRun(conn);
    const queue = conn.queue;
    if (queue.length === 0) return 0;
    conn.queue = [];
    conn.queuedBytes = 0;
    if (socket.readyState !== OPEN) return 0;
    const texts = queue.every(isText);
    if (!texts && conn.json && socket.sendTextPieces) {
      const pieces = piecesOf(queue, payloadRange, socket as FrameEncoder);
      if (pieces !== null) {
        socket.sendTextPieces(pieces);
        return 1;
      }
    }
    if (!texts && !conn.json && socket.sendJoinedTextFrames && socket.encodeTextsAt) {
      const pieces = piecesOf(queue, framesRange, socket as FrameEncoder);
      if (pieces !== null) {
        socket.sendJoinedTextFrames(pieces);
        return textCount(queue);
      }
    }
    const parts = texts ? queue as string[] : expand(queue);
    if (ownFirst && conn.json && socket.sendTextPieces) {
      // A queue that starts with the welcome is this connection's alone (the welcome names it):
      // no other has the same frame to share, so the socket builds it in a pooled buffer. A fresh
      // 5 KB frame per handshake (a welcome listing 100 members) cost about 7 µs of server CPU
      // per connection (`deno task bench --scenario connect --against`).
      socket.sendTextPieces(parts);
      return 1;
    }
    return this.#send(conn, parts, cache?.of(parts));
  }

  /** Sends the first `count` texts of `run`, the frame shared by every member that got them. */
  #writeWhole(conn: Connection, run: RoomRun, count: number): number {
    const socket = conn.socket;
    const texts = run.texts;
    if (run.whole === null || run.wholeCount !== count) {
      run.whole = { parts: count === texts.length ? texts : texts.slice(0, count) };
      run.wholeCount = count;
    }
    const entry = run.whole;
    if (conn.json && run.sealed && count === texts.length && socket.encodeTextPieces) {
      // The run's bytes, which the frames of its senders are copied from too.
      socket.sendFrame!(entry.frame ??= socket.encodeTextPieces([run.payload().bytes]));
      return 1;
    }
    if (!conn.json && run.sealed && socket.encodeTextsAt) {
      // The run's frames (its first `count`), which the frames of its senders are cut from too.
      const { bytes, starts } = run.frames(socket as FrameEncoder);
      socket.sendFrame!(count === texts.length ? bytes : bytes.subarray(0, starts[count]));
      return count;
    }
    return this.#send(conn, entry.parts, entry);
  }

  /** Sends `parts` (one NDJSON frame, or one frame each in plain mode), built once per `entry`. */
  #send(conn: Connection, parts: string[], entry: CachedFrame | undefined): number {
    const socket = conn.socket;
    if (conn.json) {
      const frame = entry
        ? entry.joined ??= parts.length === 1 ? parts[0] : parts.join("\n")
        : parts.length === 1
        ? parts[0]
        : parts.join("\n");
      if (entry && socket.encodeText) socket.sendFrame!(entry.frame ??= socket.encodeText(frame));
      else socket.send(frame);
      return 1;
    }
    if (socket.encodeTexts) {
      const frames = entry ? entry.frames ??= socket.encodeTexts(parts) : socket.encodeTexts(parts);
      socket.sendFrame!(frames);
    } else for (const text of parts) socket.send(text);
    return parts.length;
  }

  #close(conn: Connection, code: number, reason: string): void {
    conn.close(code, reason);
    this.forget(conn);
    this.#o.onClosed(conn);
  }

  #closeSlow(conn: Connection, backlog: number, reason = "buffer_limit"): void {
    this.#o.metrics.slowConsumers++;
    this.#o.logger.info("ws.slow_consumer", { id: conn.id, room: conn.room, backlog, reason });
    this.#close(conn, Close.slowConsumer, "slow consumer");
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
    const mark = this.backlog(conn);
    const timer = this.#o.timers.setTimer(() => {
      this.#slow.delete(conn);
      if (conn.state !== "open") return;
      const backlog = this.backlog(conn);
      if (backlog <= this.#o.maxBufferedBytes) return;
      if (backlog < mark) return this.#watchSlow(conn);
      this.#closeSlow(conn, backlog);
    }, this.#o.slowGraceMs);
    this.#slow.set(conn, timer);
  }
}
