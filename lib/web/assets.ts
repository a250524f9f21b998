/**
 * In-memory asset store for the browser bundle and the style sheet: content-hashed URLs, ETags,
 * gzip, and long-lived caching. Where the bytes come from is injected (`lib/server/bundle_deno.ts` reads
 * `static/build/` or runs `deno bundle`), so this file touches no runtime API.
 *
 * @module
 */

import { acceptsGzip, etagListMatches } from "../shared/header_lists.ts";

/** A file the loader hands over, before hashing. */
export interface SourceAsset {
  /** Logical name such as `island.js` or `app.css`. */
  name: string;
  body: Uint8Array;
}

/** A file ready to serve. */
export interface Asset {
  name: string;
  /** First 12 hex digits of the SHA-256 of the body. */
  hash: string;
  /** `/assets/<base>.<hash>.<ext>`. */
  url: string;
  type: string;
  body: Uint8Array;
  gzip: Uint8Array;
}

/** Serves the assets; see {@linkcode createAssetStore}. */
export interface AssetStore {
  /** Loads (once; again after a failure) and returns the assets by name. */
  ready(): Promise<Map<string, Asset>>;
  /** Answers `GET /assets/<file>` (hashed or plain name). */
  respond(req: Request, file: string): Promise<Response>;
}

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};
/** Cache policy of a hashed URL: its content never changes. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * Builds an {@linkcode Asset}: hash, URL, type and gzipped body.
 *
 * @example
 * ```ts
 * const a = await prepareAsset({ name: "app.css", body: new TextEncoder().encode("a{}") });
 * a.url; // "/assets/app.<12 hex>.css"
 * ```
 */
export async function prepareAsset(source: SourceAsset): Promise<Asset> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", source.body as Uint8Array<ArrayBuffer>),
  );
  const hash = Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  const dot = source.name.lastIndexOf(".");
  const base = dot > 0 ? source.name.slice(0, dot) : source.name;
  const ext = dot > 0 ? source.name.slice(dot + 1) : "";
  const gzip = await gzipBytes(source.body);
  return {
    name: source.name,
    hash,
    url: `/assets/${base}.${hash}${ext ? "." + ext : ""}`,
    type: TYPES[ext] ?? "application/octet-stream",
    body: source.body,
    gzip,
  };
}

/**
 * Gzips bytes with the standard `CompressionStream`.
 *
 * @example
 * ```ts
 * (await gzipBytes(new Uint8Array(1000))).length < 100; // true
 * ```
 */
export async function gzipBytes(body: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([body as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Creates a store over `load`, which is called on first use and again only if it failed.
 *
 * @example
 * ```ts
 * const store = createAssetStore(async () => [{ name: "app.css", body: css }]);
 * const res = await store.respond(req, "app.css");
 * ```
 */
export function createAssetStore(load: () => Promise<SourceAsset[]>): AssetStore {
  let loading: Promise<Map<string, Asset>> | null = null;
  const ready = () => {
    loading ??= (async () => {
      const assets = await Promise.all((await load()).map(prepareAsset));
      return new Map(assets.map((a) => [a.name, a]));
    })();
    loading.catch(() => (loading = null));
    return loading;
  };
  return {
    ready,
    async respond(req, file) {
      let assets: Map<string, Asset>;
      try {
        assets = await ready();
      } catch (err) {
        return new Response(`assets unavailable: ${(err as Error).message}\n`, { status: 503 });
      }
      for (const asset of assets.values()) {
        const hashed = asset.url.endsWith("/" + file);
        if (!hashed && asset.name !== file) continue;
        return serve(req, asset, hashed);
      }
      return new Response(`no asset named ${JSON.stringify(file)}\n`, { status: 404 });
    },
  };
}

/**
 * The ETag of one encoding of `asset`: the gzip and identity bodies differ, so they must not share
 * a strong validator (a cache could otherwise revalidate one with the other).
 *
 * @example
 * ```ts
 * etagOf(asset, false); // "\"3f2a…\""
 * etagOf(asset, true); // "\"3f2a…-gzip\""
 * ```
 */
export function etagOf(asset: Pick<Asset, "hash">, gzip: boolean): string {
  return `"${asset.hash}${gzip ? "-gzip" : ""}"`;
}

function serve(req: Request, asset: Asset, hashed: boolean): Response {
  const gzip = acceptsGzip(req.headers.get("accept-encoding"));
  const etag = etagOf(asset, gzip);
  const headers = new Headers({
    "content-type": asset.type,
    etag,
    "cache-control": hashed ? IMMUTABLE : "no-cache",
    vary: "Accept-Encoding",
  });
  if (etagListMatches(req.headers.get("if-none-match"), etag)) {
    return new Response(null, { status: 304, headers });
  }
  if (gzip) headers.set("content-encoding", "gzip");
  const body = gzip ? asset.gzip : asset.body;
  headers.set("content-length", String(body.length));
  return new Response(req.method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, { headers });
}
