import assert from "node:assert/strict";
import {
  BUILD_FILE,
  bundleWithDeno,
  denoAssetLoader,
  newestMtime,
  onDenoDeploy,
} from "../../lib/server/bundle_deno.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions(
  "bundleWithDeno builds a minified browser bundle that boots islands",
  async () => {
    const js = new TextDecoder().decode(await bundleWithDeno());
    assert.ok(js.includes("[data-island]"), "the boot script is in the bundle");
    assert.ok(js.includes("fanout.v1"), "the client core is in the bundle");
    assert.ok(!js.includes("Deno."), "no Deno API reaches the browser bundle");
    assert.ok(js.length < 80_000, `bundle is ${js.length} bytes`);
    assert.ok(js.split("\n").length < 50, "minified");
  },
);

async function fakeRoot(): Promise<URL> {
  const dir = await Deno.makeTempDir({ prefix: "fanout_bundle_" });
  const root = new URL(`file://${dir}/`);
  for (
    const path of [
      "islands/Chat.tsx",
      "lib/web/x.ts",
      "lib/engine/redis/x.ts",
      "deno.json",
      "static/app.css",
    ]
  ) {
    await Deno.mkdir(new URL("./", new URL(path, root)), { recursive: true });
    await Deno.writeTextFile(new URL(path, root), path === "static/app.css" ? "a{}" : "//");
  }
  await Deno.mkdir(new URL("static/build/", root), { recursive: true });
  await Deno.writeTextFile(new URL(BUILD_FILE, root), "/* prebuilt */");
  return root;
}

testWithPermissions(
  "a fresh static/build bundle is used; a newer source makes it bundle in memory",
  async () => {
    const root = await fakeRoot();
    try {
      const calls: string[] = [];
      const load = denoAssetLoader({
        root,
        bundle: () => Promise.resolve(new TextEncoder().encode("/* fresh */")),
        onLoad: (from) => calls.push(from),
      });
      const past = new Date(Date.now() - 60_000);
      for (const path of ["islands/Chat.tsx", "lib/web/x.ts", "deno.json"]) {
        await Deno.utime(new URL(path, root), past, past);
      }
      const future = new Date(Date.now() + 60_000);
      // A server-side file (the Redis engine) is not part of the bundle: it does not make it stale.
      await Deno.utime(new URL("lib/engine/redis/x.ts", root), future, future);
      const first = await load();
      assert.equal(new TextDecoder().decode(first[0].body), "/* prebuilt */");
      assert.deepEqual(first.map((a) => a.name), ["island.js", "app.css"]);
      await Deno.utime(new URL("lib/web/x.ts", root), future, future);
      const newest = await newestMtime(root, ["lib/web"]);
      assert.ok(Math.abs(newest - future.getTime()) < 1000, `newest mtime ${newest}`);
      const second = await load();
      assert.equal(new TextDecoder().decode(second[0].body), "/* fresh */");
      await Deno.remove(new URL(BUILD_FILE, root));
      await load();
      assert.deepEqual(calls, ["prebuilt", "bundled", "bundled"]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

testWithPermissions(
  "on Deno Deploy the built file is used even when it looks older than the sources",
  async () => {
    const root = await fakeRoot();
    try {
      const past = new Date(Date.now() - 60_000);
      await Deno.utime(new URL(BUILD_FILE, root), past, past); // mtimes on Deploy mean nothing
      let bundled = 0;
      const bundle = () => {
        bundled++;
        return Promise.reject(new Error("subprocesses are not allowed"));
      };
      const calls: string[] = [];
      const load = denoAssetLoader({ root, bundle, deployed: true, onLoad: (f) => calls.push(f) });
      const assets = await load();
      assert.equal(new TextDecoder().decode(assets[0].body), "/* prebuilt */");
      assert.equal(bundled, 0, "never tries `deno bundle`");
      assert.deepEqual(calls, ["prebuilt"]);
      // Off Deploy the same stale file is rebuilt.
      await assert.rejects(denoAssetLoader({ root, bundle, deployed: false }), /not allowed/);
      await Deno.remove(new URL(BUILD_FILE, root));
      await assert.rejects(load, /static\/build\/island\.js is missing.*deno task build/);
      assert.equal(bundled, 1);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

testWithPermissions("onDenoDeploy follows DENO_DEPLOYMENT_ID", () => {
  const before = Deno.env.get("DENO_DEPLOYMENT_ID");
  try {
    Deno.env.delete("DENO_DEPLOYMENT_ID");
    assert.equal(onDenoDeploy(), false);
    Deno.env.set("DENO_DEPLOYMENT_ID", "abc123");
    assert.equal(onDenoDeploy(), true);
  } finally {
    if (before === undefined) Deno.env.delete("DENO_DEPLOYMENT_ID");
    else Deno.env.set("DENO_DEPLOYMENT_ID", before);
  }
});
