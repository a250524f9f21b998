/**
 * npm:redis is loaded only by a server that uses Redis: no static import from `main.ts` reaches
 * it (importing it costs about 8 MB of heap, 30 MB of RSS and a quarter of a second at start).
 */

import assert from "node:assert/strict";
import { testWithPermissions } from "../helpers/requires.ts";

interface InfoDependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}

testWithPermissions("main.ts reaches npm:redis only through a dynamic import", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const deps = new Map<string, InfoDependency[]>();
  for (const m of info.modules) deps.set(m.specifier, m.dependencies ?? []);
  const root = info.roots[0];
  const seen = new Set<string>([root]);
  const staticRedis: string[] = [];
  const dynamicRedis: string[] = [];
  for (const queue = [root]; queue.length > 0;) {
    const from = queue.pop()!;
    for (const dep of deps.get(from) ?? []) {
      const to = dep.code?.specifier;
      if (to === undefined) continue;
      if (to.startsWith("npm:redis")) {
        (dep.isDynamic ? dynamicRedis : staticRedis).push(from);
        continue;
      }
      if (dep.isDynamic || seen.has(to)) continue;
      seen.add(to);
      queue.push(to);
    }
  }
  assert.deepEqual(staticRedis, [], "statically imported by");
  assert.equal(dynamicRedis.length, 1, `loaded dynamically by ${dynamicRedis}`);
  assert.match(dynamicRedis[0], /lib\/engine\/redis\/redis_client\.ts$/);
});
