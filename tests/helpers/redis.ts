/**
 * A private `redis-server` on a free loopback port for a test. Its snapshot lives in a temporary
 * directory, so a test can stop and restart it empty (an outage), SIGKILL it and start it again
 * from its last `SAVE` (a rolled-back history), or freeze it with SIGSTOP and thaw it with
 * SIGCONT (a hung Redis whose sockets stay open).
 *
 * @module
 */

import { silentLogger } from "../../lib/shared/log.ts";
import type { ChatMessage } from "../../lib/protocol/frames.ts";
import { RedisEngine, type RedisEngineOptions } from "../../lib/engine/redis/redis_engine.ts";
import { freePort } from "./server.ts";
import { requireBinary } from "./requires.ts";

/** Whether redis tests run, and the binary they use. */
export const redisBinary = requireBinary("redis-server", ["/usr/bin/redis-server"]);

/** A redis-server under test. */
export interface TestRedis {
  port: number;
  url: string;
  /** Sends raw commands through a short-lived connection (for checks and fault injection). */
  command(...args: string[]): Promise<unknown>;
  /** Stops the server (SIGTERM, then SIGKILL) and deletes its data, snapshot included. */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** SIGKILL: no shutdown save; the next {@linkcode TestRedis.start} loads the last `SAVE`. */
  kill(): Promise<void>;
  /** Starts the server (again) on the same port, loading the snapshot if there is one. */
  start(): Promise<void>;
  /** SIGSTOP: the process stops answering, its sockets stay open. */
  pause(): void;
  /** SIGCONT after {@linkcode TestRedis.pause}. */
  resume(): void;
}

/** Waits until the server answers PING (a server loading its snapshot does not yet). */
async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ping = new TextEncoder().encode("PING\r\n");
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(ping);
        const buf = new Uint8Array(64);
        const n = await conn.read(buf);
        if (n && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG")) return;
      } finally {
        conn.close();
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${port}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/**
 * Starts redis-server on a free port.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * try { await redis.command("SAVE"); await redis.kill(); await redis.start(); }
 * finally { await redis.stop(); }
 * ```
 */
export async function startRedis(): Promise<TestRedis> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "fanout-redis-" });
  let child: Deno.ChildProcess | null = null;
  const signal = (sig: Deno.Signal) => {
    try {
      child?.kill(sig);
    } catch { /* already gone */ }
  };
  /** Takes the running process out of `child` and ends it with `sig` (SIGKILL after 2 s). */
  const end = async (sig: Deno.Signal) => {
    const proc = child;
    if (!proc) return;
    signal("SIGCONT");
    child = null;
    try {
      proc.kill(sig);
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        proc.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 2000);
    await proc.status;
    clearTimeout(timer);
  };
  const start = async () => {
    if (child) throw new Error(`redis-server on ${port} is already running`);
    await Deno.mkdir(dir, { recursive: true });
    child = new Deno.Command(redisBinary.path, {
      args: [
        ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
        ...["--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"],
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPing(port, 5000);
  };
  const stop = async () => {
    await end("SIGTERM");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  await start();
  const { createClient } = await import("redis");
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async command(...args: string[]) {
      const client = createClient({ url: `redis://127.0.0.1:${port}` });
      client.on("error", () => {});
      await client.connect();
      try {
        return await client.sendCommand(args);
      } finally {
        client.destroy();
      }
    },
    stop,
    async restart() {
      await stop();
      await start();
    },
    kill: () => end("SIGKILL"),
    start,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
  };
}

/**
 * Starts a {@linkcode RedisEngine} on `redis` (history 50, a random key prefix unless `extra`
 * names one) that records what it delivers, the rooms whose remote presence changed, and the
 * epochs it reset rooms to.
 *
 * @example
 * ```ts
 * const { e, received } = await startEngine(redis, { presenceTtlMs: 600 });
 * await e.join("r");
 * ```
 */
export async function startEngine(redis: TestRedis, extra: Partial<RedisEngineOptions> = {}) {
  const received: ChatMessage[] = [];
  const presence: string[] = [];
  const resets: string[] = [];
  const e = new RedisEngine({
    url: redis.url,
    logger: silentLogger,
    historySize: 50,
    dedupTtlMs: 60_000,
    roomTtlMs: 60_000,
    keyPrefix: "t" + crypto.randomUUID().slice(0, 6),
    presenceTtlMs: 6000,
    commandTimeoutMs: 2000,
    pingIntervalMs: 2000,
    ...extra,
  });
  await e.start({
    message: (m) => received.push(m),
    presence: (room) => presence.push(room),
    reset: (_room, epoch) => resets.push(epoch),
  });
  return { e, received, presence, resets };
}
