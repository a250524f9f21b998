/**
 * Entry point of `deno task start` (`deno run <permissions> main.ts`): reads the config once, builds the
 * server, listens on `HOST:PORT`, prints the URLs and shuts down gracefully on SIGINT/SIGTERM.
 * `deno serve` has its own entry point, `serve.ts`.
 *
 * @module
 */

import {
  exitOnSignals,
  listen,
  loadConfigOrExit,
  printUrls,
  startOrExit,
} from "./lib/server/deno_server.ts";

if (import.meta.main) {
  const config = loadConfigOrExit(Deno.env.toObject());
  const server = await startOrExit(listen(config));
  printUrls(server.url, config.logFormat);
  exitOnSignals(() => server.shutdown(), config.shutdownGraceMs, {
    logger: server.fanout.deps.logger,
  });
}
