/**
 * Opening many benchmark connections, with bounded concurrency, and a latency histogram.
 *
 * @module
 */

import { LoadClient, type MarkerSink } from "./load_client.ts";
import type { ServerHandle } from "./servers.ts";

/** Options of {@linkcode connectMany}. */
export interface ConnectManyOptions {
  count: number;
  /** Handshakes in progress at once (default 100; `Infinity` for a storm). */
  concurrency?: number;
  /** The handshake's room, or client `i`'s room (default `bench`). */
  room?: string | ((i: number) => string);
  bufferBytes?: number;
  /** Marker sink for client `i`. */
  onMarker?: (i: number) => MarkerSink;
  /** Ack marker sink for client `i` (undefined: its acks are not scanned). */
  onAck?: (i: number) => MarkerSink | undefined;
  /**
   * Called once client `i` is upgraded; its handshake slot (of `concurrency`) stays taken until
   * the returned promise settles (a join that goes on after the upgrade, such as `subscribe`s).
   * A rejection rejects `connectMany`.
   */
  onOpen?: (i: number, client: LoadClient) => Promise<void>;
}

/** Opened connections and how many failed. */
export interface Opened {
  clients: LoadClient[];
  /** Client `i` by its index, undefined where its handshake failed (`clients` skips those). */
  byIndex: (LoadClient | undefined)[];
  failed: number;
  firstError: string | null;
}

/**
 * Opens `count` connections to `server`; failures are counted, not thrown.
 *
 * @example
 * ```ts
 * const { clients, failed } = await connectMany(server, { count: 100 });
 * ```
 */
export async function connectMany(server: ServerHandle, o: ConnectManyOptions): Promise<Opened> {
  const clients: LoadClient[] = [];
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const worker = async () => {
    while (next < o.count) {
      const i = next++;
      try {
        clients[i] = await LoadClient.connect({
          host: "127.0.0.1",
          port: server.port,
          path: `/ws?room=${typeof o.room === "function" ? o.room(i) : o.room ?? "bench"}`,
          protocol: server.protocol,
          bufferBytes: o.bufferBytes,
          onMarker: o.onMarker?.(i),
          onAck: o.onAck?.(i),
        });
      } catch (err) {
        failed++;
        firstError ??= String(err);
        continue;
      }
      await o.onOpen?.(i, clients[i]);
    }
  };
  const n = Math.min(o.count, o.concurrency ?? 100);
  await Promise.all(Array.from({ length: n }, worker));
  const byIndex = Array.from({ length: o.count }, (_, i) => clients[i]);
  return { clients: clients.filter(Boolean), byIndex, failed, firstError };
}

/**
 * Waits until every client got its first frame (Fanout's welcome), or `timeoutMs` passed.
 *
 * @example
 * ```ts
 * const ok = await allWelcomed(clients, 30_000);
 * ```
 */
export async function allWelcomed(clients: LoadClient[], timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((r) => timer = setTimeout(() => r(false), timeoutMs));
  const all = Promise.all(clients.map((c) => c.firstFrame)).then(() => true as const);
  const ok = await Promise.race([all, timeout]);
  clearTimeout(timer);
  return ok;
}

/**
 * Waits `ms` milliseconds.
 *
 * @example
 * ```ts
 * await sleep(100);
 * ```
 */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Latency histogram in 0.1 ms buckets up to 10 s (larger values land in the last bucket).
 *
 * @example
 * ```ts
 * const h = new Histogram();
 * h.add(1500); // µs
 * h.quantile(0.99); // 1.5 (ms)
 * ```
 */
export class Histogram {
  #buckets = new Uint32Array(100_000);
  count = 0;
  maxUs = 0;

  /** Records one latency in microseconds. */
  add(us: number): void {
    const i = us < 0 ? 0 : Math.floor(us / 100);
    this.#buckets[i < 100_000 ? i : 99_999]++;
    this.count++;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** The `q` quantile in milliseconds (NaN when empty). */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const target = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i];
      if (seen >= target) return (i + 1) / 10;
    }
    return this.maxUs / 1000;
  }
}
