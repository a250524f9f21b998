/**
 * Limits per client address that survive reconnects: WebSockets held, handshakes per second,
 * new rooms per minute, and one message rate shared by every connection of the address. The
 * table of addresses is bounded too: an address without connections whose buckets are full again
 * is forgotten, and past `maxTracked` addresses the least recently seen idle ones go first.
 *
 * @module
 */

import { TokenBucket } from "../shared/token_bucket.ts";
import { RecencyQueue } from "../shared/recency_queue.ts";

/** Settings of {@linkcode AddressLimits}. */
export interface AddressLimitsOptions {
  /** WebSockets one address may hold. */
  maxConnections: number;
  /** Handshakes per second, and at once. */
  handshakeRate: number;
  handshakeBurst: number;
  /** Rooms an address may bring into existence per minute (and at once). */
  newRoomsPerMinute: number;
  /** Frames per second all connections of an address may send together, and at once. */
  messageRate: number;
  messageBurst: number;
  /** Addresses remembered at most (default 100 000). */
  maxTracked?: number;
  /** Monotonic clock in ms. */
  now: () => number;
}

/** What is counted for one address. */
export interface AddressEntry {
  readonly key: string;
  connections: number;
  readonly handshakes: TokenBucket;
  readonly rooms: TokenBucket;
  /** Shared by the rate limiters of the address's connections. */
  readonly messages: TokenBucket;
  /** How many times the table's forgetting order holds it (its own bookkeeping). */
  queued: number;
}

/** A refusal: the status (429), the one-line reason, its metric and when to retry. */
export interface AddressRefusal {
  status: 429;
  reason: string;
  metric: string;
  retryAfterSeconds: number;
}

/**
 * The per-address counters of one server.
 *
 * @example
 * ```ts
 * const limits = new AddressLimits({ maxConnections: 64, handshakeRate: 10, handshakeBurst: 30,
 *   newRoomsPerMinute: 30, messageRate: 100, messageBurst: 200, now: () => performance.now() });
 * const entry = limits.entry("203.0.113.9");
 * limits.handshake(entry); // null: allowed (one handshake counted)
 * limits.connect(entry); // null, then entry.connections === 1
 * limits.release(entry); // on close
 * ```
 */
export class AddressLimits {
  #o: Required<AddressLimitsOptions>;
  /** Every address, the least recently seen first (seen again: moved to the end). */
  #entries = new Map<string, AddressEntry>();
  /**
   * The order to forget addresses in: an address goes in when seen and when its last connection
   * closes; only its latest place counts (`queued` says if a later one exists). Forgetting takes
   * from the front, so it is O(1) per address however many keep connections; walking `#entries`
   * from its start was not (connected addresses and deleted places walked over for every newcomer:
   * 100-170 µs per new address at 100 000 tracked with 10 000 connected).
   */
  #order = new RecencyQueue<AddressEntry>();

  constructor(options: AddressLimitsOptions) {
    this.#o = { maxTracked: 100_000, ...options };
  }

  /** Addresses remembered now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `key`, created when new, marked as the most recently seen. */
  entry(key: string): AddressEntry {
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#enqueue(entry);
      return entry;
    }
    if (this.#entries.size >= this.#o.maxTracked) this.#forget(this.#o.maxTracked - 1);
    const { now } = this.#o;
    entry = {
      key,
      connections: 0,
      handshakes: new TokenBucket(this.#o.handshakeRate, this.#o.handshakeBurst, now),
      rooms: new TokenBucket(this.#o.newRoomsPerMinute / 60, this.#o.newRoomsPerMinute, now),
      messages: new TokenBucket(this.#o.messageRate, this.#o.messageBurst, now),
      queued: 0,
    };
    this.#entries.set(key, entry);
    this.#enqueue(entry);
    return entry;
  }

  /** Puts `entry` at the end of the forgetting order. */
  #enqueue(entry: AddressEntry): void {
    this.#order.touch(entry);
    this.#order.compact(this.#entries.size, () => this.#entries.values());
  }

  /** Counts one handshake; a refusal when the address is over its handshake rate. */
  handshake(entry: AddressEntry): AddressRefusal | null {
    if (entry.handshakes.take()) return null;
    return this.#refusal(
      `too many handshakes from your address: at most ${this.#o.handshakeRate} per second`,
      "handshake_rate_ip",
      entry.handshakes,
    );
  }

  /** A refusal when the address already holds its WebSockets; null when one more may come. */
  connect(entry: AddressEntry): AddressRefusal | null {
    if (entry.connections < this.#o.maxConnections) return null;
    return {
      status: 429,
      reason: `too many connections from your address (at most ${this.#o.maxConnections})`,
      metric: "handshake_connections_ip",
      retryAfterSeconds: 10,
    };
  }

  /** Counts one new room; a refusal when the address is over its new-room rate. */
  newRoom(entry: AddressEntry): AddressRefusal | null {
    if (entry.rooms.take()) return null;
    return this.#refusal(
      `too many new rooms from your address: at most ${this.#o.newRoomsPerMinute} per minute`,
      "handshake_new_rooms_ip",
      entry.rooms,
    );
  }

  /** A connection of the address closed (its last: the address may be forgotten from now). */
  release(entry: AddressEntry): void {
    entry.connections = Math.max(0, entry.connections - 1);
    if (entry.connections === 0 && this.#entries.get(entry.key) === entry) this.#enqueue(entry);
  }

  /** Forgets addresses without connections whose buckets are full again. */
  sweep(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#idle(entry)) this.#entries.delete(key);
    }
  }

  #idle(entry: AddressEntry): boolean {
    return entry.connections === 0 && entry.handshakes.full() && entry.rooms.full() &&
      entry.messages.full();
  }

  /**
   * Drops addresses without connections, least recently seen (or left) first, until `keep` are
   * left. An address with connections leaves the order; its last close puts it back.
   */
  #forget(keep: number): void {
    const forgettable = (entry: AddressEntry) =>
      entry.connections === 0 && this.#entries.get(entry.key) === entry;
    while (this.#entries.size > keep) {
      const entry = this.#order.oldest(forgettable);
      if (entry === undefined) return;
      this.#entries.delete(entry.key);
    }
  }

  #refusal(sentence: string, metric: string, bucket: TokenBucket): AddressRefusal {
    const retryAfterSeconds = Math.max(1, Math.ceil(bucket.waitMs() / 1000));
    return {
      status: 429,
      reason: `${sentence}; retry in ${retryAfterSeconds} s`,
      metric,
      retryAfterSeconds,
    };
  }
}
