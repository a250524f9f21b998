/**
 * The two Redis connections of an engine (commands, and pub/sub): every command under our own
 * deadline, a PING on both every few seconds, reconnection with backoff, fail-fast commands while
 * disconnected, and one log line per outage instead of one per retry. A connection that misses a
 * deadline (Redis hung or the network silently gone) is thrown away and replaced.
 *
 * @module
 */

import type { Logger } from "../../shared/log.ts";
import { backoffDelay } from "../../shared/backoff.ts";
import { newRedisClient, REDIS_BACKOFF, type RedisClient } from "./redis_client.ts";
import { withDeadline } from "./with_deadline.ts";
import { realTimers, type Timers } from "../../shared/timers.ts";

/** Receives the payloads published on one channel. */
export type ChannelListener = (payload: string) => void;

/** Options of {@linkcode RedisLink}. */
export interface RedisLinkOptions {
  url: string;
  logger: Logger;
  /** Longest time a command (or a PING) may take before the link counts as down (ms). */
  commandTimeoutMs: number;
  /** Called each time the pub/sub connection is (re)established, after resubscribing. */
  onSubscriberReady?: () => void;
  /** Clock for the outage duration (default `Date.now`). */
  now?: () => number;
  /** Reconnection delay for the n-th retry (default: 50 ms doubling up to 2 s, with jitter). */
  backoff?: (retries: number) => number;
  /** How often both connections are pinged (ms). */
  pingIntervalMs: number;
  /** Timers for deadlines and pings (default `setTimeout`/`clearTimeout`). */
  timers?: Timers;
}

const errorText = (err: unknown) => String((err as Error)?.message ?? err);

/**
 * Owns the command and subscriber clients.
 *
 * @example
 * ```ts
 * const link = new RedisLink({ url: "redis://127.0.0.1:6379", logger, commandTimeoutMs: 2000,
 *   pingIntervalMs: 2000 });
 * await link.connect(3000);
 * await link.send(["PING"]);
 * await link.close();
 * ```
 */
export class RedisLink {
  #o: Required<Omit<RedisLinkOptions, "onSubscriberReady">> & RedisLinkOptions;
  #cmd: RedisClient;
  #sub: RedisClient;
  /** Whether the current subscriber client still has to subscribe to every channel itself. */
  #subFresh = true;
  #channels = new Map<string, Set<ChannelListener>>();
  #downSince: number | null = null;
  #closed = false;
  #pingTimer: unknown = null;

  constructor(options: RedisLinkOptions) {
    this.#o = {
      now: Date.now,
      backoff: (n: number) => backoffDelay(n, REDIS_BACKOFF, Math.random),
      timers: realTimers,
      ...options,
    };
    this.#cmd = this.#client();
    this.#sub = this.#client();
  }

  /** True while both connections are ready and no deadline was missed since. */
  get healthy(): boolean {
    return !this.#closed && this.#downSince === null && this.#cmd.isReady && this.#sub.isReady;
  }

  /**
   * Connects both clients; waits at most `waitMs` (then keeps retrying in the background, so a
   * server can start while Redis is down and report itself degraded).
   */
  async connect(waitMs: number): Promise<void> {
    const both = Promise.all([this.#open(this.#cmd), this.#open(this.#sub)]);
    let timer: unknown;
    const waited = new Promise<"timeout">((r) =>
      timer = this.#o.timers.setTimer(() => r("timeout"), waitMs)
    );
    const result = await Promise.race([both, waited]);
    this.#o.timers.clearTimer(timer);
    if (result === "timeout") this.#down(new Error(`no connection within ${waitMs} ms`), true);
    this.#schedulePing();
  }

  /** Sends one command; rejects when offline or without a reply within the timeout. */
  send(args: string[]): Promise<unknown> {
    const client = this.#cmd;
    return this.#deadline(client, client.sendCommand(args), args[0]);
  }

  /** Adds `listener` to `channel`, subscribing when it is the channel's first. */
  async subscribe(channel: string, listener: ChannelListener): Promise<void> {
    let listeners = this.#channels.get(channel);
    if (!listeners) this.#channels.set(channel, listeners = new Set());
    listeners.add(listener);
    if (listeners.size > 1) return;
    const client = this.#sub;
    await this.#deadline(client, client.subscribe(channel, this.#dispatch), "SUBSCRIBE");
  }

  /** Removes `listener`; unsubscribes when the channel has no listener left. */
  async unsubscribe(channel: string, listener: ChannelListener): Promise<void> {
    const listeners = this.#channels.get(channel);
    if (!listeners?.delete(listener) || listeners.size > 0) return;
    this.#channels.delete(channel);
    const client = this.#sub;
    await this.#deadline(client, client.unsubscribe(channel, this.#dispatch), "UNSUBSCRIBE");
  }

  /** Closes both connections (quickly when Redis is unreachable). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#o.timers.clearTimer(this.#pingTimer);
    await Promise.all([this.#cmd, this.#sub].map(async (client) => {
      if (!client.isOpen) return;
      if (!client.isReady) return client.destroy();
      try {
        await withDeadline(
          client.close(),
          this.#o.commandTimeoutMs,
          "QUIT",
          this.#o.timers,
          () => {},
        );
      } catch {
        client.destroy();
      }
    }));
  }

  #dispatch = (payload: string, channel: string): void => {
    for (const listener of this.#channels.get(channel) ?? []) listener(payload);
  };

  #client(): RedisClient {
    const client = newRedisClient(this.#o.url, this.#o.commandTimeoutMs, this.#o.backoff);
    client.on("error", (err: unknown) => {
      if (client === this.#cmd || client === this.#sub) this.#down(err, false);
    });
    client.on("ready", () => {
      if (client === this.#cmd) this.#maybeUp();
      else if (client === this.#sub) void this.#subscriberReady(client);
    });
    return client;
  }

  #open(client: RedisClient): Promise<unknown> {
    const opened = client.connect();
    opened.catch(() => {}); // rejected only when the client was closed or replaced meanwhile
    return opened;
  }

  async #subscriberReady(client: RedisClient): Promise<void> {
    if (this.#subFresh && this.#channels.size > 0) {
      // A new client: npm:redis resubscribes only the channels a client subscribed itself.
      try {
        const channels = [...this.#channels.keys()];
        await this.#deadline(client, client.subscribe(channels, this.#dispatch), "SUBSCRIBE");
      } catch {
        return; // the miss replaced this client; its successor tries again
      }
    }
    if (client !== this.#sub) return;
    this.#subFresh = false;
    this.#maybeUp();
    this.#o.onSubscriberReady?.();
  }

  #deadline<T>(client: RedisClient, work: Promise<T>, what: string): Promise<T> {
    const { commandTimeoutMs, timers } = this.#o;
    return withDeadline(work, commandTimeoutMs, what, timers, (err) => this.#stalled(client, err));
  }

  /** PINGs both connections every interval; a missed deadline replaces them. */
  #schedulePing(): void {
    if (this.#closed) return;
    this.#pingTimer = this.#o.timers.setTimer(async () => {
      const clients = [this.#cmd, this.#sub].filter((c) => c.isReady);
      await Promise.allSettled(
        clients.map((c) => this.#deadline(c, c.sendCommand(["PING"]), "PING")),
      );
      this.#schedulePing();
    }, this.#o.pingIntervalMs);
  }

  /**
   * A command on `client` missed its deadline: Redis is hung or the connection silently dead.
   * The link counts as down, both clients are destroyed (failing their pending commands at once)
   * and replaced by new ones that reconnect with backoff.
   */
  #stalled(client: RedisClient, err: Error): void {
    if (this.#closed || (client !== this.#cmd && client !== this.#sub)) return;
    this.#down(err, true);
    const old = [this.#cmd, this.#sub];
    this.#cmd = this.#client();
    this.#sub = this.#client();
    this.#subFresh = true;
    for (const c of old) c.destroy();
    void this.#open(this.#cmd);
    void this.#open(this.#sub);
  }

  #down(err: unknown, force: boolean): void {
    if (this.#closed || this.#downSince !== null) return;
    // An error while both sockets are still ready is not an outage by itself (a missed
    // deadline is: `force`).
    if (!force && this.#cmd.isReady && this.#sub.isReady) {
      this.#o.logger.debug("redis.error", { error: errorText(err) });
      return;
    }
    this.#downSince = this.#o.now();
    this.#o.logger.warn("redis.down", {
      error: errorText(err),
      retry: "reconnecting with backoff",
    });
  }

  #maybeUp(): void {
    if (this.#downSince === null || !this.#cmd.isReady || !this.#sub.isReady || this.#subFresh) {
      return;
    }
    this.#o.logger.info("redis.up", { downMs: this.#o.now() - this.#downSince });
    this.#downSince = null;
  }
}
