/**
 * Deno adapter of the asset store: reads the style sheet from `static/`, and the browser bundle
 * from `static/build/island.js` when that file is at least as new as the sources, else builds it
 * in memory with `deno bundle --platform browser --minify` in a subprocess. On Deno Deploy the
 * built file is always used (no subprocesses there). Writes nothing to disk.
 *
 * @module
 */

import { type AssetStore, createAssetStore, type SourceAsset } from "../web/assets.ts";
import type { Logger } from "../shared/log.ts";

/** Project root (the folder holding `deno.json`). */
export const ROOT: URL = new URL("../../", import.meta.url);
/** The bundle's entry point, relative to the root. */
const ENTRY = "browser.ts";
/** Where `deno task build` writes the bundle, relative to the root. */
export const BUILD_FILE = "static/build/island.js";
/** Style sheets served next to the bundle, relative to the root. */
const STYLES = ["static/app.css"];
/**
 * Folders and files whose changes make a prebuilt bundle stale: what the browser bundle is made
 * of, and nothing of the server (editing the Redis engine does not mark it stale).
 */
const SOURCES = [
  "browser.ts",
  "islands",
  "components",
  "lib/web",
  "lib/client",
  "lib/protocol",
  "lib/shared",
  "deno.json",
  "deno.lock",
];

/** Options of {@linkcode denoAssetLoader}. */
export interface DenoAssetOptions {
  root?: URL;
  /** Runs the bundler (default {@linkcode bundleWithDeno}). */
  bundle?: (root: URL) => Promise<Uint8Array>;
  /** Told where the bundle came from: `"prebuilt"` or `"bundled"` plus milliseconds taken. */
  onLoad?: (from: "prebuilt" | "bundled", ms: number) => void;
  /**
   * Running on Deno Deploy (default: `DENO_DEPLOYMENT_ID` is set). There subprocesses are not
   * available and file times say nothing, so the built file is always used, and its absence is
   * an error that says to run `deno task build`.
   */
  deployed?: boolean;
}

/**
 * True on Deno Deploy, where `DENO_DEPLOYMENT_ID` is set.
 *
 * @example
 * ```ts
 * onDenoDeploy(); // false on a laptop
 * ```
 */
export function onDenoDeploy(): boolean {
  try {
    return Boolean(Deno.env.get("DENO_DEPLOYMENT_ID"));
  } catch {
    return false; // no env permission: not something Deploy would do
  }
}

async function built(root: URL): Promise<Uint8Array> {
  try {
    return await Deno.readFile(new URL(BUILD_FILE, root));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new Error(
      `${BUILD_FILE} is missing: on Deno Deploy the bundle cannot be built at runtime (no ` +
        "subprocesses); run `deno task build` as the deployment's build step",
    );
  }
}

/**
 * Runs `deno bundle --platform browser --minify browser.ts` and returns its output.
 * Runs `Deno.execPath()`; if the permission set only allows `run: ["deno"]` and the executable is
 * reached through a symlink, falls back to `deno` from `PATH`.
 *
 * @example
 * ```ts
 * const js = await bundleWithDeno(ROOT);
 * ```
 */
export async function bundleWithDeno(root: URL = ROOT): Promise<Uint8Array> {
  const args = ["bundle", "--quiet", "--platform", "browser", "--minify", ENTRY];
  const run = (cmd: string) =>
    new Deno.Command(cmd, { args, cwd: root, stdout: "piped", stderr: "piped" }).output();
  let out: Deno.CommandOutput;
  try {
    out = await run(Deno.execPath());
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable)) throw err;
    out = await run("deno");
  }
  if (!out.success || out.stdout.length === 0) {
    const detail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join(" | ");
    throw new Error(`deno bundle ${ENTRY} failed with exit code ${out.code}: ${detail}`);
  }
  return out.stdout;
}

/**
 * Newest modification time (ms) of the files under `paths`, or 0 when none is known.
 *
 * @example
 * ```ts
 * const newest = await newestMtime(ROOT, SOURCES);
 * ```
 */
export async function newestMtime(root: URL, paths: string[]): Promise<number> {
  let newest = 0;
  const visit = async (url: URL) => {
    const info = await Deno.stat(url);
    if (info.isDirectory) {
      const dir = url.href.endsWith("/") ? url : new URL(url.href + "/");
      for await (const entry of Deno.readDir(dir)) await visit(new URL(entry.name, dir));
    } else newest = Math.max(newest, info.mtime?.getTime() ?? 0);
  };
  for (const path of paths) {
    try {
      await visit(new URL(path, root));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return newest;
}

async function prebuilt(root: URL): Promise<Uint8Array | null> {
  try {
    const info = await Deno.stat(new URL(BUILD_FILE, root));
    const built = info.mtime?.getTime() ?? 0;
    if (built < await newestMtime(root, SOURCES)) return null;
    return await Deno.readFile(new URL(BUILD_FILE, root));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * The loader for `createAssetStore`: the bundle (prebuilt if fresh, else bundled in memory)
 * plus the style sheets.
 *
 * @example
 * ```ts
 * const store = createAssetStore(denoAssetLoader());
 * ```
 */
export function denoAssetLoader(options: DenoAssetOptions = {}): () => Promise<SourceAsset[]> {
  const { root = ROOT, bundle = bundleWithDeno, onLoad, deployed = onDenoDeploy() } = options;
  return async () => {
    const started = performance.now();
    let js = deployed ? await built(root) : await prebuilt(root);
    const from = js ? "prebuilt" : "bundled";
    js ??= await bundle(root);
    onLoad?.(from, Math.round(performance.now() - started));
    const styles = await Promise.all(
      STYLES.map(async (path) => ({
        name: path.slice(path.lastIndexOf("/") + 1),
        body: await Deno.readFile(new URL(path, root)),
      })),
    );
    return [{ name: "island.js", body: js }, ...styles];
  };
}

let shared: AssetStore | null = null;

/**
 * The process-wide asset store of the Deno adapter (the bundle made by `deno bundle` or read from
 * `static/build/`, built on first use), reporting where it came from through `logger`.
 *
 * @example
 * ```ts
 * createFanout(config, { upgrade, assets: denoAssets });
 * ```
 */
export function denoAssets(logger: Logger): AssetStore {
  shared ??= createAssetStore(denoAssetLoader({
    onLoad: (from, ms) => logger.info("assets.loaded", { from, ms }),
  }));
  return shared;
}
