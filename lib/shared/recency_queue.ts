/**
 * The order items were last touched in, oldest first, for tables that forget their least recently
 * used items: O(1) amortised per touch and per oldest (a `Map` iterated from its start is not: V8
 * walks over the places its deleted entries left, and over every item that may not go). An item
 * touched again keeps its older places in the queue; its `queued` count tells them apart.
 *
 * @module
 */

import { Fifo } from "./fifo.ts";

/** What a {@linkcode RecencyQueue} holds: an item with its count of places in the queue. */
export interface Queued {
  /** Places the queue holds for this item (only the latest counts); 0 when none. */
  queued: number;
}

/**
 * A queue of the items of a table by when they were last touched.
 *
 * @example
 * ```ts
 * const order = new RecencyQueue<{ name: string; queued: number }>();
 * const a = { name: "a", queued: 0 }, b = { name: "b", queued: 0 };
 * order.touch(a);
 * order.touch(b);
 * order.touch(a); // a is the newest now
 * order.oldest(() => true); // b
 * ```
 */
export class RecencyQueue<T extends Queued> {
  #order = new Fifo<T>();

  /** Places held (stale ones included). */
  get length(): number {
    return this.#order.length;
  }

  /** Makes `item` the newest. */
  touch(item: T): void {
    item.queued++;
    this.#order.push(item);
  }

  /**
   * The least recently touched item that `live` accepts, left in the queue (it is dropped when met
   * again once `live` refuses it). Older places of items touched again, and items `live` refuses
   * (gone from the table, or not to be forgotten now: touch them again when they may be), are
   * dropped on the way.
   */
  oldest(live: (item: T) => boolean): T | undefined {
    const order = this.#order;
    for (let item = order.peek(); item !== undefined; item = order.peek()) {
      if (item.queued === 1 && live(item)) return item;
      order.shift();
      item.queued--;
    }
    return undefined;
  }

  /**
   * Starts again from `inOrder` (the table's items, oldest first) once the queue holds more than
   * twice `size` places plus 1024 (older places pile up when items are touched again and again):
   * O(1) per touch, amortised. `all` gives every item whose count must start again (items not in
   * the order too: their places are gone).
   */
  compact(size: number, inOrder: () => Iterable<T>, all: () => Iterable<T> = inOrder): void {
    if (this.#order.length <= 2 * size + 1024) return;
    this.#order.clear();
    for (const item of all()) item.queued = 0;
    for (const item of inOrder()) this.touch(item);
  }

  /** Empties the queue (the items' counts are left as they are). */
  clear(): void {
    this.#order.clear();
  }
}
