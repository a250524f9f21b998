/**
 * `deno task build`: bundles the islands for the browser into `static/build/island.js` and prints
 * its raw and gzipped size. `deno task start` uses this file while it is not older than the
 * sources, and bundles in memory otherwise.
 *
 * @module
 */

import { gzipBytes } from "../lib/web/assets.ts";
import { BUILD_FILE, bundleWithDeno, ROOT } from "../lib/server/bundle_deno.ts";

const started = performance.now();
const js = await bundleWithDeno(ROOT);
const target = new URL(BUILD_FILE, ROOT);
await Deno.mkdir(new URL("./", target), { recursive: true });
await Deno.writeFile(target, js);
const gz = (await gzipBytes(js)).length;
const ms = Math.round(performance.now() - started);
console.log(
  `wrote ${BUILD_FILE}: ${(js.length / 1024).toFixed(1)} KiB, ${
    (gz / 1024).toFixed(1)
  } KiB gzipped, in ${ms} ms`,
);
