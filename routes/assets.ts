/**
 * `GET /assets/:file`: the browser bundle and the style sheet, from the server's in-memory asset
 * store. Hashed names are cached for a year; plain names revalidate.
 *
 * @module
 */

import type { AssetStore } from "../lib/web/assets.ts";

/**
 * Answers an asset request.
 *
 * @example
 * ```ts
 * app.get("/assets/:file", (c) => handleAsset(deps, c.req.raw, c.req.param("file")));
 * ```
 */
export function handleAsset(
  deps: { assets: AssetStore },
  req: Request,
  file: string,
): Promise<Response> {
  return deps.assets.respond(req, file);
}
