/**
 * The two Redis connections of an engine (commands, and pub/sub), with reconnection backoff,
 * fail-fast commands while disconnected, and one log line per outage instead of one per retry.
 *
 * @module
 */

import { createClient } from "redis";
import type { Logger } from "./log.ts";

/** A connected npm:redis client. */
export type RedisClient = ReturnType<typeof createClient>;

/** Options of {@linkcode RedisLink}. */
export interface RedisLinkOptions {
  url: string;
  logger: Logger;
  /** Longest time a command may take before it fails (ms). */
  commandTimeoutMs: number;
  /** Called each time the pub/sub connection is (re)established, after resubscribing. */
  onSubscriberReady?: () => void;
  /** Clock for the outage duration (default `Date.now`). */
  now?: () => number;
  /** Reconnection delay for the n-th retry (default: 50 ms doubling up to 2 s, with jitter). */
  backoff?: (retries: number) => number;
}

/**
 * Default reconnection delay: 50 ms doubling up to 2 s, plus up to 20 % jitter.
 *
 * @example
 * ```ts
 * redisBackoff(0, () => 0); // 50
 * redisBackoff(10, () => 0); // 2000
 * ```
 */
export function redisBackoff(retries: number, random: () => number = Math.random): number {
  const base = Math.min(50 * 2 ** retries, 2000);
  return Math.round(base * (1 + random() * 0.2));
}

/**
 * Owns the command and subscriber clients.
 *
 * @example
 * ```ts
 * const link = new RedisLink({ url: "redis://127.0.0.1:6379", logger, commandTimeoutMs: 2000 });
 * await link.connect(3000);
 * await link.cmd.sendCommand(["PING"]);
 * await link.close();
 * ```
 */
export class RedisLink {
  readonly cmd: RedisClient;
  readonly sub: RedisClient;
  #log: Logger;
  #now: () => number;
  #downSince: number | null = null;
  #closed = false;

  constructor(options: RedisLinkOptions) {
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    const backoff = options.backoff ?? ((n: number) => redisBackoff(n));
    this.cmd = createClient({
      url: options.url,
      disableOfflineQueue: true,
      pingInterval: 5000,
      commandOptions: { timeout: options.commandTimeoutMs },
      socket: { connectTimeout: options.commandTimeoutMs, reconnectStrategy: backoff },
    });
    this.sub = this.cmd.duplicate();
    for (const client of [this.cmd, this.sub]) {
      client.on("error", (err: unknown) => this.#down(err));
      client.on("ready", () => this.#maybeUp());
    }
    this.sub.on("ready", () => options.onSubscriberReady?.());
  }

  /** True while both connections are ready. */
  get healthy(): boolean {
    return !this.#closed && this.cmd.isReady && this.sub.isReady;
  }

  /**
   * Connects both clients; waits at most `waitMs` (then keeps retrying in the background, so a
   * server can start while Redis is down and report itself degraded).
   */
  async connect(waitMs: number): Promise<void> {
    const both = Promise.all([this.cmd.connect(), this.sub.connect()]);
    both.catch(() => {}); // rejected only when closed meanwhile
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), waitMs));
    const result = await Promise.race([both, waited]);
    clearTimeout(timer);
    if (result === "timeout") this.#down(new Error(`no connection within ${waitMs} ms`));
  }

  /** Closes both connections (quickly when Redis is unreachable). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.cmd, this.sub].map(async (client) => {
      if (!client.isOpen) return;
      if (!client.isReady) return client.destroy();
      try {
        await client.close();
      } catch {
        client.destroy();
      }
    }));
  }

  #down(err: unknown): void {
    if (this.#closed || this.#downSince !== null) return;
    // An error while both sockets are still ready (e.g. a failed ping) is not an outage.
    if (this.cmd.isReady && this.sub.isReady) {
      this.#log.debug("redis.error", { error: String((err as Error)?.message ?? err) });
      return;
    }
    this.#downSince = this.#now();
    this.#log.warn("redis.down", {
      error: String((err as Error)?.message ?? err),
      retry: "reconnecting with backoff",
    });
  }

  #maybeUp(): void {
    if (this.#downSince === null || !this.cmd.isReady || !this.sub.isReady) return;
    this.#log.info("redis.up", { downMs: this.#now() - this.#downSince });
    this.#downSince = null;
  }
}
