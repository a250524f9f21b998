/**
 * A redis-server for fault-injection tests: it keeps its RDB snapshot in a private directory, so
 * it can be SIGKILLed and started again from its last `SAVE` (a rolled-back history), and it can be
 * frozen with SIGSTOP and thawed with SIGCONT (a hung Redis whose sockets stay open).
 *
 * @module
 */

import { redisBinary } from "./redis.ts";
import { freePort } from "./server.ts";

/** A redis-server under the test's control. */
export interface RedisProcess {
  port: number;
  url: string;
  /** Sends one raw command through a short-lived connection. */
  command(...args: string[]): Promise<unknown>;
  /** SIGKILL: no shutdown save; the next {@linkcode RedisProcess.start} loads the last SAVE. */
  kill(): Promise<void>;
  /** Starts the server (again) on the same port, loading the snapshot if there is one. */
  start(): Promise<void>;
  /** SIGSTOP: the process stops answering, its sockets stay open. */
  pause(): void;
  /** SIGCONT after {@linkcode RedisProcess.pause}. */
  resume(): void;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

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
      // not listening yet, or still loading
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${port}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/**
 * Starts redis-server on a free port with its snapshot in a temporary directory.
 *
 * @example
 * ```ts
 * const redis = await startRedisProcess();
 * try { await redis.command("SAVE"); await redis.kill(); await redis.start(); }
 * finally { await redis.stop(); }
 * ```
 */
export async function startRedisProcess(): Promise<RedisProcess> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "fanout-redis-" });
  let child: Deno.ChildProcess | null = null;
  const signal = (sig: Deno.Signal) => {
    try {
      child?.kill(sig);
    } catch { /* already gone */ }
  };
  const kill = async () => {
    const proc = child;
    if (!proc) return;
    child = null;
    try {
      proc.kill("SIGKILL");
    } catch { /* already gone */ }
    await proc.status;
  };
  const start = async () => {
    if (child) throw new Error(`redis-server on ${port} is already running`);
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
    kill,
    start,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    async stop() {
      signal("SIGCONT");
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
