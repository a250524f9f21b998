/**
 * The sending half of the client core: the outbox, pacing below the server's rate limit,
 * acknowledgements, and what to do with each error code.
 *
 * @module
 */

import type { Emitter } from "./emitter.ts";
import type { Timers } from "../shared/timers.ts";
import { Outbox, type OutboxItem } from "./outbox.ts";
import { Pacer } from "./pacer.ts";
import type { ClientEvents, ServerLimits } from "./types.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { exceedsBytes } from "../shared/text_size.ts";
import { controlCharProblem } from "../protocol/control_chars.ts";

/**
 * Error codes after which a message stays in the outbox and is resent later. Every other code
 * with a ref (e.g. `ref_conflict`, `invalid_text`) is final: the message is dropped.
 */
const RETRYABLE = new Set(["rate_limited", "unavailable"]);

/** Options of {@linkcode Sender}. */
export interface SenderOptions {
  /** Ref prefix, unique per client instance. */
  prefix: string;
  now: () => number;
  timers: Timers;
  /** Delay before resending after `rate_limited` or `unavailable`. */
  retrySendMs: number;
  events: Emitter<ClientEvents>;
  /**
   * The room to name in the frame of a message for the main room (one sent without `room`):
   * undefined while the main room is the connection's handshake room, which the server takes for
   * a message that names none; the main room once it was switched over the open connection.
   * Default: always undefined.
   */
  mainRoom?: () => string | undefined;
}

/**
 * Keeps messages until acknowledged and sends them, in order, whenever a connection is attached.
 *
 * @example
 * ```ts
 * const sender = new Sender({ prefix: "tab1-x", now, timers, retrySendMs: 1000, events });
 * sender.send("hi"); // queued
 * sender.attach((data) => (ws.send(data), true), welcome.limits); // sent now
 * sender.ack("tab1-x-1", 7, Date.now()); // removed, `ack` emitted
 * ```
 */
export class Sender {
  #outbox: Outbox;
  #o: SenderOptions;
  #transmit: ((data: string) => boolean) | null = null;
  #pacer: Pacer | null = null;
  #maxBytes: number | null = null;
  #timer: unknown = null;

  constructor(options: SenderOptions) {
    this.#o = options;
    this.#outbox = new Outbox(options.prefix, options.now);
  }

  get items(): OutboxItem[] {
    return this.#outbox.items;
  }

  /**
   * A connection is online: drop what the server's size limit would refuse (each with a
   * `too_large` error carrying its ref), then send everything queued, paced by `limits`.
   */
  attach(transmit: (data: string) => boolean, limits: ServerLimits): void {
    this.#transmit = transmit;
    this.#pacer = new Pacer(limits, this.#o.now);
    this.#maxBytes = limits.maxMessageBytes;
    // Text queued before the first welcome could not be checked (the limit was unknown); the
    // server would refuse it without a ref, so it would stay "sent" and be resent every time.
    const dropped = this.#outbox.items.filter((i) => this.#refuseIfTooLarge(i)).length > 0;
    if (!this.#flush() && dropped) this.#emit();
  }

  /** The connection is gone: unacknowledged messages wait (queued) for the next one. */
  detach(): void {
    this.#transmit = null;
    this.#pacer = null;
    this.#clearTimer();
    if (this.#outbox.requeueAll()) this.#emit();
  }

  /**
   * Queues a message, `text` or `{ text?, data? }` (refusing empty or oversized text, text with
   * control characters the server refuses, or a message with neither, with an `error`), and
   * returns its ref.
   */
  send(message: string | { text?: string; data?: unknown; room?: string }): string {
    const { events } = this.#o;
    const body: { text?: string; data?: unknown; room?: string } = typeof message === "string"
      ? { text: message }
      : contentOf(message);
    if (typeof message !== "string" && message.room !== undefined) body.room = message.room;
    if (body.text === undefined) {
      if (!Object.hasOwn(body, "data")) {
        const ref = this.#outbox.nextRef();
        events.emit("error", {
          code: "invalid_message",
          message: 'a message needs "text" or "data"',
          ref,
        });
        return ref;
      }
      return this.#queue(body);
    }
    const text = body.text;
    if (text.trim() === "") {
      const ref = this.#outbox.nextRef();
      events.emit("error", {
        code: "empty_message",
        message: "text is empty or only whitespace",
        ref,
      });
      return ref;
    }
    const control = controlCharProblem(text);
    if (control !== null) {
      const ref = this.#outbox.nextRef();
      events.emit("error", { code: "invalid_text", message: control, ref });
      return ref;
    }
    return this.#queue(body);
  }

  #queue(body: { text?: string; data?: unknown; room?: string }): string {
    const item = this.#outbox.add(body);
    if (this.#refuseIfTooLarge(item)) return item.ref;
    if (!this.#flush()) this.#emit();
    return item.ref;
  }

  /** The server stored the message with `ref`. */
  ack(ref: string, offset: number, ts: number): void {
    const item = this.#outbox.remove(ref);
    if (!item) return;
    this.#o.events.emit("ack", { ref, offset, ts, ...contentOf(item) });
    this.#emit();
  }

  /** An error frame: resend later, drop the message, or just report it. */
  error(frame: Extract<ServerFrame, { type: "error" }>): void {
    const { code, message, ref } = frame;
    const { events } = this.#o;
    const item = ref === undefined ? undefined : this.#outbox.get(ref);
    if (!item || ref === undefined) {
      events.emit("error", ref === undefined ? { code, message } : { code, message, ref });
    } else if (RETRYABLE.has(code)) {
      this.#outbox.mark(ref, "queued");
      this.#pacer?.drain();
      this.#emit();
      events.emit("error", { code, message, ref, retrying: true });
      this.#schedule(this.#o.retrySendMs);
    } else {
      this.#outbox.remove(ref);
      this.#emit();
      events.emit("error", { code, message, ref });
    }
  }

  /** Drops every waiting message and returns them. */
  clear(): OutboxItem[] {
    const dropped = this.#outbox.clear();
    if (dropped.length > 0) this.#emit();
    return dropped;
  }

  /** Removes `item` with a `too_large` error when its frame exceeds the server's limit. */
  #refuseIfTooLarge(item: OutboxItem): boolean {
    const max = this.#maxBytes;
    if (max === null || !exceedsBytes(this.#frame(item), max)) return false;
    this.#outbox.remove(item.ref);
    const message = `message is larger than the limit of ${max} bytes`;
    this.#o.events.emit("error", { code: "too_large", message, ref: item.ref });
    return true;
  }

  /** Sends queued items while the pacer allows; returns true when the outbox changed. */
  #flush(): boolean {
    if (!this.#transmit || !this.#pacer || this.#timer !== null) return false;
    let changed = false;
    for (let item = this.#outbox.next(); item; item = this.#outbox.next()) {
      const wait = this.#pacer.take();
      if (wait > 0) {
        this.#schedule(wait);
        break;
      }
      if (!this.#transmit(this.#frame(item))) break;
      this.#outbox.mark(item.ref, "sent");
      changed = true;
    }
    if (changed) this.#emit();
    return changed;
  }

  #schedule(ms: number): void {
    this.#clearTimer();
    this.#timer = this.#o.timers.setTimer(() => {
      this.#timer = null;
      this.#flush();
    }, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#o.timers.clearTimer(this.#timer);
    this.#timer = null;
  }

  #emit(): void {
    this.#o.events.emit("outbox", { items: this.#outbox.items });
  }

  /** The `message` frame of `item`, naming its room unless the server's default is meant. */
  #frame(item: OutboxItem): string {
    const frame: Record<string, unknown> = { type: "message", ...contentOf(item), ref: item.ref };
    const room = item.room ?? this.#o.mainRoom?.();
    if (room !== undefined) frame.room = room;
    return JSON.stringify(frame);
  }
}

/** The `text` and `data` of a message, only those it has (a `data` of `null` is kept). */
function contentOf(m: { text?: string; data?: unknown }): { text?: string; data?: unknown } {
  const content: { text?: string; data?: unknown } = {};
  if (m.text !== undefined) content.text = m.text;
  if (Object.hasOwn(m, "data") && m.data !== undefined) content.data = m.data;
  return content;
}
