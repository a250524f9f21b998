/**
 * The client's outbox: messages waiting for the server's `ack`, in the order they were written.
 *
 * @module
 */

/** One message in the outbox. */
export interface OutboxItem {
  /** Idempotency key sent with the message; the server deduplicates resends by it. */
  ref: string;
  /** The text, when the message has one. */
  text?: string;
  /** The structured payload, when the message has one. */
  data?: unknown;
  /** The room it goes to, when not the main room (`client.subscribe`). */
  room?: string;
  /** `queued`: not sent on the current connection yet; `sent`: sent, waiting for the ack. */
  status: "queued" | "sent";
  /** Clock time when `send` was called. */
  createdAt: number;
}

/**
 * Ordered outbox keyed by `ref`. Refs are `<prefix>-<counter>`; the prefix should be unique per
 * client instance so that a reloaded tab with the same client id never reuses a ref.
 *
 * @example
 * ```ts
 * const box = new Outbox("tab1-x7", () => 0);
 * const item = box.add("hi"); // { ref: "tab1-x7-1", text: "hi", status: "queued", createdAt: 0 }
 * box.next(); // the same item
 * box.mark(item.ref, "sent");
 * box.remove(item.ref); // acked
 * ```
 */
export class Outbox {
  #prefix: string;
  #now: () => number;
  #counter = 0;
  #items: OutboxItem[] = [];

  constructor(prefix: string, now: () => number) {
    this.#prefix = prefix;
    this.#now = now;
  }

  /** A copy of the items, oldest first. */
  get items(): OutboxItem[] {
    return this.#items.map((item) => ({ ...item }));
  }

  /** Number of items not yet acknowledged. */
  get size(): number {
    return this.#items.length;
  }

  /** Appends a new queued item (text, data or both) with a fresh ref. */
  add(body: string | { text?: string; data?: unknown; room?: string }): OutboxItem {
    const content = typeof body === "string" ? { text: body } : body;
    const item: OutboxItem = {
      ref: `${this.#prefix}-${++this.#counter}`,
      ...content,
      status: "queued",
      createdAt: this.#now(),
    };
    this.#items.push(item);
    return { ...item };
  }

  /** Makes a ref without queueing anything (for messages rejected before they are queued). */
  nextRef(): string {
    return `${this.#prefix}-${++this.#counter}`;
  }

  /** The item with `ref`, if it is still waiting. */
  get(ref: string): OutboxItem | undefined {
    const item = this.#items.find((i) => i.ref === ref);
    return item && { ...item };
  }

  /** Removes and returns the item with `ref` (on ack or a final error). */
  remove(ref: string): OutboxItem | undefined {
    const index = this.#items.findIndex((i) => i.ref === ref);
    if (index < 0) return undefined;
    return this.#items.splice(index, 1)[0];
  }

  /** Sets the status of the item with `ref`; returns false when there is no such item. */
  mark(ref: string, status: OutboxItem["status"]): boolean {
    const item = this.#items.find((i) => i.ref === ref);
    if (!item || item.status === status) return false;
    item.status = status;
    return true;
  }

  /** Marks every item queued again (a new connection must send them all). */
  requeueAll(): boolean {
    let changed = false;
    for (const item of this.#items) {
      if (item.status !== "queued") changed = true;
      item.status = "queued";
    }
    return changed;
  }

  /** The oldest item not sent on the current connection. */
  next(): OutboxItem | undefined {
    const item = this.#items.find((i) => i.status === "queued");
    return item && { ...item };
  }

  /** Drops every item and returns them. */
  clear(): OutboxItem[] {
    return this.#items.splice(0);
  }
}
