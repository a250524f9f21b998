import assert from "node:assert/strict";
import { BUILD_FILE, bundleWithDeno, denoAssetLoader, newestMtime } from "../lib/bundle_deno.ts";

Deno.test("bundleWithDeno builds a minified browser bundle that boots islands", async () => {
  const js = new TextDecoder().decode(await bundleWithDeno());
  assert.ok(js.includes("[data-island]"), "the boot script is in the bundle");
  assert.ok(js.includes("fanout.v1"), "the client core is in the bundle");
  assert.ok(!js.includes("Deno."), "no Deno API reaches the browser bundle");
  assert.ok(js.length < 80_000, `bundle is ${js.length} bytes`);
  assert.ok(js.split("\n").length < 50, "minified");
});

async function fakeRoot(): Promise<URL> {
  const dir = await Deno.makeTempDir({ prefix: "fanout_bundle_" });
  const root = new URL(`file://${dir}/`);
  for (const path of ["islands/Chat.tsx", "lib/x.ts", "deno.json", "static/app.css"]) {
    await Deno.mkdir(new URL("./", new URL(path, root)), { recursive: true });
    await Deno.writeTextFile(new URL(path, root), path === "static/app.css" ? "a{}" : "//");
  }
  await Deno.mkdir(new URL("static/build/", root), { recursive: true });
  await Deno.writeTextFile(new URL(BUILD_FILE, root), "/* prebuilt */");
  return root;
}

Deno.test("a fresh static/build bundle is used; a newer source makes it bundle in memory", async () => {
  const root = await fakeRoot();
  try {
    const calls: string[] = [];
    const load = denoAssetLoader({
      root,
      bundle: () => Promise.resolve(new TextEncoder().encode("/* fresh */")),
      onLoad: (from) => calls.push(from),
    });
    const past = new Date(Date.now() - 60_000);
    for (const path of ["islands/Chat.tsx", "lib/x.ts", "deno.json"]) {
      await Deno.utime(new URL(path, root), past, past);
    }
    const first = await load();
    assert.equal(new TextDecoder().decode(first[0].body), "/* prebuilt */");
    assert.deepEqual(first.map((a) => a.name), ["island.js", "app.css"]);
    const future = new Date(Date.now() + 60_000);
    await Deno.utime(new URL("lib/x.ts", root), future, future);
    const newest = await newestMtime(root, ["lib"]);
    assert.ok(Math.abs(newest - future.getTime()) < 1000, `newest mtime ${newest}`);
    const second = await load();
    assert.equal(new TextDecoder().decode(second[0].body), "/* fresh */");
    await Deno.remove(new URL(BUILD_FILE, root));
    await load();
    assert.deepEqual(calls, ["prebuilt", "bundled", "bundled"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
