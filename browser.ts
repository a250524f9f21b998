/**
 * The browser bundle's entry point (`deno bundle --platform browser browser.ts`): names the
 * islands of `islands/` and hydrates those the server rendered into the page. Like `main.ts` for
 * the server and `client.ts` for the terminal, it only wires.
 *
 * @module
 */

import { Chat } from "./islands/Chat.tsx";
import { bootIslands } from "./lib/web/island_boot.ts";

bootIslands(document, { Chat });
