/**
 * The echo server of `scripts/echo_server.ts` under `deno serve`, for conformance runs
 * (`deno task autobahn`): Deno's own HTTP server, and the routes' upgrade (`denoUpgrade`), which
 * gives `Deno.upgradeWebSocket`'s socket here: the socket of `deno serve serve.ts`.
 *
 * ```sh
 * deno serve --host 127.0.0.1 --port 9002 --allow-net --allow-env --allow-read scripts/echo_serve.ts
 * ```
 *
 * @module
 */

import { denoUpgrade } from "../lib/server/deno_server.ts";
import { echoHandler } from "./echo_server.ts";

/**
 * The handler `deno serve` calls: every message echoed.
 *
 * @example
 * ```sh
 * deno serve --port 9002 --allow-net --allow-env --allow-read scripts/echo_serve.ts
 * ```
 */
export default { fetch: echoHandler(denoUpgrade) } satisfies Deno.ServeDefaultExport;
