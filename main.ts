/**
 * Entry point. `deno task start` (or `deno run -P main.ts`) listens on `PORT`;
 * `deno serve main.ts` uses the default export.
 *
 * @module
 */

import { loadConfig } from "./lib/config.ts";
import { createDenoFanout, exitOnSignals, listen, startedByDenoServe } from "./lib/deno_server.ts";

const config = loadConfig(Deno.env.toObject());
const underDenoServe = startedByDenoServe();
const served = underDenoServe ? createDenoFanout(config) : null;
if (served) {
  await served.start();
  exitOnSignals(() => served.shutdown(), config.shutdownGraceMs);
}

if (import.meta.main && !underDenoServe) {
  const server = await listen(config);
  const ws = new URL("/ws", server.url);
  ws.protocol = "ws:";
  console.log(`Fanout listening on ${server.url.href}  (WebSocket: ${ws.href})`);
  exitOnSignals(() => server.shutdown(), config.shutdownGraceMs);
}

/** The request handler, for `deno serve main.ts`. */
export default {
  fetch: (req: Request) =>
    served ? served.fetch(req) : new Response("not started by deno serve\n", { status: 500 }),
};
