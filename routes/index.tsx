/**
 * `GET /`: the web client's page. The shell is rendered on the server; the `Chat` island is
 * hydrated by the bundle (`browser.ts`), whose hashed URL comes from the asset store.
 * Query: `room` (shareable), `name`, and `backoff=<baseMs>-<capMs>` (short reconnect waits, for
 * tests and demos).
 *
 * @module
 */

import { authRequired, type Config } from "../lib/shared/config.ts";
import type { Logger } from "../lib/shared/log.ts";
import type { AssetStore } from "../lib/web/assets.ts";
import { validName } from "../lib/protocol/names.ts";
import { Island, renderPage } from "../lib/web/island.ts";
import { Document } from "../components/Document.tsx";
import { Chat, type ChatProps } from "../islands/Chat.tsx";
import { ROOM_PATTERN, WS_PATH } from "../lib/protocol/handshake.ts";

/** What the page reads. */
export interface IndexDeps {
  config: Pick<
    Config,
    "maxMessageBytes" | "rateLimit" | "rateBurst" | "authSecret" | "authPublicKey"
  >;
  logger: Logger;
  assets: AssetStore;
}

/**
 * Reads the island's props from the page URL; invalid values fall back to defaults (a name is
 * checked with the server's own rule, so the page never starts with a name the server refuses).
 *
 * @example
 * ```ts
 * pageProps(new URL("http://h/?room=dev&backoff=50-500"), config);
 * ```
 */
export function pageProps(url: URL, config: IndexDeps["config"]): ChatProps {
  const q = url.searchParams;
  const room = q.get("room") ?? "lobby";
  const backoff = /^(\d{1,6})-(\d{1,6})$/.exec(q.get("backoff") ?? "");
  const baseMs = backoff ? Math.max(10, Number(backoff[1])) : 0;
  return {
    room: ROOM_PATTERN.test(room) ? room : "lobby",
    name: validName(q.get("name")),
    wsPath: WS_PATH,
    auth: authRequired(config),
    limits: {
      maxMessageBytes: config.maxMessageBytes,
      rateLimit: config.rateLimit,
      rateBurst: config.rateBurst,
    },
    backoff: backoff ? { baseMs, capMs: Math.max(baseMs, Number(backoff[2])) } : null,
  };
}

/**
 * Renders the page for a request. Without a working asset store the page still renders (no
 * script, no styles) and the failure is logged.
 *
 * @example
 * ```ts
 * app.get("/", (c) => handleIndex(deps, c.req.raw));
 * ```
 */
export async function handleIndex(
  deps: IndexDeps,
  req: Request,
): Promise<Response> {
  const { assets } = deps;
  const props = pageProps(new URL(req.url), deps.config);
  let script: string | null = null;
  let style: string | null = null;
  try {
    const ready = await assets.ready();
    script = ready.get("island.js")?.url ?? null;
    style = ready.get("app.css")?.url ?? null;
  } catch (err) {
    deps.logger.error("assets.failed", { error: String(err) });
  }
  const { html } = renderPage(
    <Document title={`#${props.room} · Fanout`} styleHref={style}>
      <Island name="Chat" component={Chat} props={props} />
    </Document>,
    script,
  );
  return new Response(html, {
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
  });
}
