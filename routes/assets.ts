/**
 * `GET /assets/:file`: the browser bundle and the style sheet, from one in-memory store per
 * process (built on first use). Hashed names are cached for a year; plain names revalidate.
 *
 * @module
 */

import type { AppDeps } from "../lib/server/app_deps.ts";
import { type AssetStore, createAssetStore } from "../lib/web/assets.ts";
import { denoAssetLoader } from "../lib/server/bundle_deno.ts";

let shared: AssetStore | null = null;

/**
 * The process-wide store (bundle made by `deno bundle` or read from `static/build/`).
 *
 * @example
 * ```ts
 * const assets = await sharedAssets(deps).ready();
 * ```
 */
export function sharedAssets(deps: Pick<AppDeps, "logger">): AssetStore {
  shared ??= createAssetStore(denoAssetLoader({
    onLoad: (from, ms) => deps.logger.info("assets.loaded", { from, ms }),
  }));
  return shared;
}

/**
 * Answers an asset request.
 *
 * @example
 * ```ts
 * app.get("/assets/:file", (c) => handleAsset(deps, c.req.raw, c.req.param("file")));
 * ```
 */
export function handleAsset(
  deps: Pick<AppDeps, "logger">,
  req: Request,
  file: string,
  store: AssetStore = sharedAssets(deps),
): Promise<Response> {
  return store.respond(req, file);
}
