/**
 * Entry point of `deno task start` (`deno run <permissions> main.ts`): reads the config once, builds
 * the server, binds `HOST:PORT`, warms the handshake path up in memory before its first accept
 * (`WARM_UP_HANDSHAKES`, `lib/server/warm_up.ts`), serves, prints the URLs and shuts down
 * gracefully on SIGINT/SIGTERM.
 * With `WORKERS` above 1 it starts that many workers running this file instead, each listening
 * on the same port with Fanout's own server (`lib/server/deno_workers.ts`). `deno serve` has its
 * own entry point, `serve.ts`.
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
import { inWorker, serveInWorker, startWorkers } from "./lib/server/deno_workers.ts";
import { createLogger } from "./lib/shared/log.ts";
import { warmUpBeforeServing } from "./lib/server/warm_up.ts";

if (import.meta.main && inWorker()) {
  serveInWorker(Deno.env.toObject());
} else if (import.meta.main) {
  const config = loadConfigOrExit(Deno.env.toObject());
  if (config.workers > 1) {
    const logger = createLogger({ level: config.logLevel, format: config.logFormat });
    const group = await startOrExit(
      startWorkers(
        config,
        new URL(import.meta.url),
        (worker, error) => logger.error("server.worker_failed", { worker, error }),
      ),
    );
    printUrls(group.url, config.logFormat);
    exitOnSignals(() => group.shutdown(), config.shutdownGraceMs, { logger });
  } else {
    const server = await startOrExit(
      listen(config, { beforeServing: warmUpBeforeServing(config.warmUpHandshakes) }),
    );
    printUrls(server.url, config.logFormat);
    exitOnSignals(() => server.shutdown(), config.shutdownGraceMs, {
      logger: server.fanout.deps.logger,
    });
  }
}
