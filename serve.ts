/**
 * Entry point of `deno serve serve.ts` (and `deno serve --parallel serve.ts`, one worker per
 * core), with the permissions of `deno task start`: Deno listens and calls the default export's
 * `fetch`. Reads the config once, starts the engine and shuts down gracefully on SIGINT/SIGTERM,
 * in every worker. `deno task start` uses `main.ts` instead (Fanout's own listener, with the
 * transport's defences).
 *
 * @module
 */

import {
  createDenoFanout,
  exitOnSignals,
  loadConfigOrExit,
  printUrls,
  startOrExit,
} from "./lib/server/deno_server.ts";

const config = loadConfigOrExit(Deno.env.toObject());
const fanout = createDenoFanout(config);
await startOrExit(fanout.start());
exitOnSignals(() => fanout.shutdown(), config.shutdownGraceMs, { logger: fanout.deps.logger });

/**
 * The handler `deno serve` calls (Deno calls `onListen` in the first worker only).
 *
 * @example
 * ```sh
 * deno serve --port 8000 --allow-net --allow-env --allow-read --allow-run=deno --allow-sys=osRelease,hostname serve.ts
 * ```
 */
export default {
  fetch: fanout.fetch,
  onListen(addr: Deno.Addr) {
    if (addr.transport !== "tcp") return;
    const host = addr.hostname === "0.0.0.0" ? "localhost" : addr.hostname;
    printUrls(new URL(`http://${host}:${addr.port}/`), config.logFormat);
  },
} satisfies Deno.ServeDefaultExport;
