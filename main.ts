/**
 * Entry point. Reads the config once, builds the server and serves it:
 * - `deno task start` (`deno run -P main.ts`) listens on `HOST:PORT` and prints the URLs;
 * - `deno serve -P main.ts` uses the default export (Deno listens and calls `onListen`);
 * - `FANOUT_SERVE=1 deno serve --parallel -P main.ts` does the same in every worker (Deno calls
 *   `onListen` in the first worker only, so the others need the variable to know).
 *
 * @module
 */

import {
  createDenoFanout,
  exitOnSignals,
  listen,
  loadConfigOrExit,
  printUrls,
} from "./lib/server/deno_server.ts";

const config = loadConfigOrExit(Deno.env.toObject());
const fanout = createDenoFanout(config);
let servedByDeno = config.servedByDeno;

if (import.meta.main) {
  await fanout.start();
  // `deno serve` calls onListen right after this module is evaluated, before any timer fires.
  setTimeout(async () => {
    const { logger } = fanout.deps;
    if (servedByDeno) {
      return exitOnSignals(() => fanout.shutdown(), config.shutdownGraceMs, { logger });
    }
    const server = await listen(config, { fanout });
    printUrls(server.url, config.logFormat);
    exitOnSignals(() => server.shutdown(), config.shutdownGraceMs, { logger });
  }, 0);
}

/** The handler for `deno serve main.ts`. */
export default {
  fetch: fanout.fetch,
  onListen(addr: Deno.Addr) {
    servedByDeno = true;
    if (addr.transport !== "tcp") return;
    const host = addr.hostname === "0.0.0.0" ? "localhost" : addr.hostname;
    printUrls(new URL(`http://${host}:${addr.port}/`), config.logFormat);
  },
} satisfies Deno.ServeDefaultExport;
