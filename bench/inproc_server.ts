/**
 * Fanout's whole server (`listen` with its HTTP server, WebSocket transport, hub and memory
 * engine) from any checkout, in this process, on a {@linkcode MemoryListener}: the set-up of the
 * in-process benchmarks (`deno task bench:js`).
 *
 * @module
 */

import { FANOUT_ENV } from "./servers.ts";
import { MemoryListener } from "../lib/transport/memory_listener.ts";

type DenoServer = typeof import("../lib/server/deno_server.ts");
type ConfigModule = typeof import("../lib/shared/config.ts");

/** A server started by {@linkcode inprocServer}. */
export interface InprocServer {
  listener: MemoryListener;
  shutdown(): Promise<void>;
}

/**
 * Starts the server of the checkout at `root` (a file URL ending in `/`; its `lib/`) on a fake
 * listener, with the benchmark's configuration (`FANOUT_ENV`: per-address limits lifted).
 *
 * @example
 * ```ts
 * const { listener, shutdown } = await inprocServer(new URL("../", import.meta.url).href);
 * listener.connect(new MemoryConn(upgradeRequest(0, "bench")));
 * await shutdown();
 * ```
 */
export async function inprocServer(root: string): Promise<InprocServer> {
  const { listen }: DenoServer = await import(new URL("lib/server/deno_server.ts", root).href);
  const { loadConfig }: ConfigModule = await import(new URL("lib/shared/config.ts", root).href);
  const listener = new MemoryListener();
  const server = await listen(loadConfig({ ...FANOUT_ENV, PORT: "8000", LOG_LEVEL: "error" }), {
    listener,
  });
  return { listener, shutdown: () => server.shutdown() };
}

/**
 * Resolves after the current event-loop turn (and its immediates: Fanout flushes there).
 *
 * @example
 * ```ts
 * conn.feed(frame);
 * await turnOver(); // the server read, handled and flushed it
 * ```
 */
export const turnOver = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
