/**
 * Entry point. Reads the config once, builds the server and serves it:
 * - `deno task start` (`deno run -P main.ts`) listens on `HOST:PORT` and prints the URLs;
 * - `deno serve -P main.ts` uses the default export (Deno listens and calls `onListen`);
 * - `FANOUT_SERVE=1 deno serve --parallel -P main.ts` does the same in every worker (Deno calls
 *   `onListen` in the first worker only, so the others need the variable to know).
 *
 * @module
 */

import { loadConfig } from "./lib/config.ts";
import { createDenoFanout, exitOnSignals, listen, printUrls } from "./lib/deno_server.ts";

const env = Deno.env.toObject();
const config = loadConfig(env);
const fanout = createDenoFanout(config);
let servedByDeno = env.FANOUT_SERVE === "1";

if (import.meta.main) {
  await fanout.start();
  // `deno serve` calls onListen right after this module is evaluated, before any timer fires.
  setTimeout(async () => {
    if (servedByDeno) return exitOnSignals(() => fanout.shutdown(), config.shutdownGraceMs);
    const server = await listen(config, { fanout });
    printUrls(server.url);
    exitOnSignals(() => server.shutdown(), config.shutdownGraceMs);
  }, 0);
}

/** The handler for `deno serve main.ts`. */
export default {
  fetch: fanout.fetch,
  onListen(addr: Deno.Addr) {
    servedByDeno = true;
    if (addr.transport !== "tcp") return;
    const host = addr.hostname === "0.0.0.0" ? "localhost" : addr.hostname;
    printUrls(new URL(`http://${host}:${addr.port}/`));
  },
} satisfies Deno.ServeDefaultExport;
