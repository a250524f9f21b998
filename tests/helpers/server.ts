/**
 * Starts a real Fanout server in the test process, on a free loopback port.
 *
 * @module
 */

import { loadConfig } from "../../lib/config.ts";
import { listen, type RunningServer } from "../../lib/deno_server.ts";
import { silentLogger } from "../../lib/log.ts";

/** A server under test. */
export interface TestServer {
  server: RunningServer;
  /** `ws://127.0.0.1:PORT/ws?<query>`. */
  wsUrl(query?: Record<string, string>): string;
  /** `http://127.0.0.1:PORT<path>`. */
  httpUrl(path: string): string;
  stop(): Promise<void>;
}

/**
 * Starts a server with test-friendly defaults (loopback, port 0, fast presence) plus `env`.
 *
 * @example
 * ```ts
 * const srv = await startTestServer({ RATE_LIMIT: "5" });
 * // ... connect to srv.wsUrl({ room: "r1" })
 * await srv.stop();
 * ```
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    PRESENCE_INTERVAL_MS: "10",
    SHUTDOWN_GRACE_MS: "500",
    ...env,
  });
  const server = await listen(config, { logger: silentLogger, maintainEveryMs: 100 });
  const base = `127.0.0.1:${server.port}`;
  return {
    server,
    wsUrl: (query = {}) => `ws://${base}/ws?${new URLSearchParams(query)}`,
    httpUrl: (path) => `http://${base}${path}`,
    stop: () => server.shutdown(),
  };
}

/** Free TCP port on loopback (closed again before returning). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
