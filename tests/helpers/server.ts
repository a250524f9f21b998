/**
 * Starts a real Fanout server in the test process, on a free loopback port.
 *
 * @module
 */

import { loadConfig } from "../../lib/shared/config.ts";
import { listen, type RunningServer } from "../../lib/server/deno_server.ts";
import { type LogLevel, silentLogger } from "../../lib/shared/log.ts";

/**
 * Per-address limits raised out of the way: every client of a test comes from 127.0.0.1, so the
 * defaults (made for one household) would refuse a test's tenth tab. Tests of those limits set
 * them (and use other 127.0.0.x source addresses).
 *
 * @example
 * ```ts
 * loadConfig({ ...LOOPBACK_CLIENTS, RATE_LIMIT: "5" });
 * ```
 */
export const LOOPBACK_CLIENTS: Record<string, string> = {
  MAX_CONNECTIONS_PER_IP: "100000",
  HANDSHAKE_RATE_PER_IP: "100000",
  HANDSHAKE_BURST_PER_IP: "100000",
  NEW_ROOMS_PER_MINUTE_PER_IP: "10000000",
  RATE_LIMIT_PER_IP: "1000000",
  RATE_BURST_PER_IP: "1000000",
};

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
 * Options of {@linkcode startTestServer}.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const options: TestServerOptions = { logWrite: (line) => lines.push(line) };
 * ```
 */
export interface TestServerOptions {
  /** Receives the lines of the server's own (configured, throttled) logger; default: silent. */
  logWrite?: (line: string, level: LogLevel) => void;
}

/**
 * Starts a server with test-friendly defaults (loopback, port 0, fast presence) plus `env`.
 *
 * @example
 * ```ts
 * const srv = await startTestServer({ RATE_LIMIT: "5" }); // logs nothing
 * // or: startTestServer({}, { logWrite: (line) => lines.push(line) })
 * // ... connect to srv.wsUrl({ room: "r1" })
 * await srv.stop();
 * ```
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const config = loadConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    PRESENCE_INTERVAL_MS: "10",
    SHUTDOWN_GRACE_MS: "500",
    ...LOOPBACK_CLIENTS,
    ...env,
  });
  const logging = options.logWrite ? { logWrite: options.logWrite } : { logger: silentLogger };
  const server = await listen(config, { ...logging, maintainEveryMs: 100 });
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
