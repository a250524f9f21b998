/**
 * `GET /`: the web client's page (a minimal shell until the web client lands).
 *
 * @module
 */

import { renderToString } from "preact-render-to-string";
import type { AppDeps } from "../lib/app_deps.ts";

/** Props of {@linkcode IndexPage}. */
export interface IndexPageProps {
  room: string;
}

/**
 * The page, rendered on the server.
 *
 * @example
 * ```tsx
 * renderToString(<IndexPage room="lobby" />);
 * ```
 */
export function IndexPage({ room }: IndexPageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Fanout</title>
      </head>
      <body>
        <h1>Fanout</h1>
        <p>
          Real-time broadcast hub. Connect a WebSocket client to <code>/ws?room={room}</code>.
        </p>
      </body>
    </html>
  );
}

/**
 * Renders the page for a request.
 *
 * @example
 * ```ts
 * app.get("/", (c) => handleIndex(deps, c.req.raw));
 * ```
 */
export function handleIndex(_deps: AppDeps, req: Request): Response {
  const room = new URL(req.url).searchParams.get("room") ?? "lobby";
  const safeRoom = /^[a-z0-9_-]{1,64}$/.test(room) ? room : "lobby";
  const html = "<!doctype html>" + renderToString(<IndexPage room={safeRoom} />);
  return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
}
