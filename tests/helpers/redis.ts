/**
 * Starts a private `redis-server` on a free loopback port for a test (no persistence), and can
 * stop and restart it on the same port to simulate an outage.
 *
 * @module
 */

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
  /** Stops the server (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}: ${err}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  }
}

/**
 * Starts redis-server on a free port.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * try { await redis.command("PING"); } finally { await redis.stop(); }
 * ```
 */
export async function startRedis(): Promise<TestRedis> {
  const port = freePort();
  let child: Deno.ChildProcess | null = null;
  const spawn = async () => {
    child = new Deno.Command(redisBinary.path, {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port, 5000);
  };
  const stop = async () => {
    const proc = child as Deno.ChildProcess | null;
    if (!proc) return;
    child = null;
    try {
      proc.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        proc.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 2000);
    await proc.status;
    clearTimeout(timer);
  };
  await spawn();
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
      await spawn();
    },
  };
}
