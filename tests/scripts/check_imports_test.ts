/**
 * The dependency rule is checked (`deno task check` runs scripts/check_imports.ts): the project
 * follows it, and each kind of breach is reported when a file commits it.
 */

import assert from "node:assert/strict";
import { checkImports, importsOf, projectFiles } from "../../scripts/check_imports.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions("check_imports: the project follows the dependency rule", async () => {
  const files = await projectFiles(new URL("../../", import.meta.url));
  assert.ok(files.size > 80, `read ${files.size} files`);
  assert.deepEqual(checkImports(files), []);
});

testWithPermissions("check_imports: every kind of forbidden import is reported", () => {
  const files = new Map([
    [
      "lib/hub/hub.ts",
      'import { Hono } from "hono";\nimport { RedisEngine } from "../engine/redis/redis_engine.ts";',
    ],
    ["lib/engine/redis/redis_engine.ts", "export class RedisEngine {}"],
    ["lib/client/client.ts", 'import { createHash } from "node:crypto";'],
    ["lib/shared/log.ts", 'import type { Hub } from "../hub/hub.ts";'],
    ["lib/protocol/frames.ts", 'import { x } from "jsr:@std/assert";'],
    ["lib/engine/memory/memory_engine.ts", 'import { createClient } from "redis";'],
    ["lib/transport/http_server.ts", "const l = Deno.listen({ port: 0 });"],
    ["lib/web/a.ts", 'import { b } from "./b.ts";'],
    ["lib/web/b.ts", 'import { a } from "./a.ts";'],
  ]);
  const problems = checkImports(files);
  const expect = [
    /lib\/hub\/hub\.ts imports "hono", which only lib\/server may use/,
    /lib\/hub\/hub\.ts imports lib\/engine\/redis\/redis_engine\.ts, which lib\/hub may not/,
    /lib\/client\/client\.ts imports "node:crypto", which only lib\/hub, lib\/transport, lib\/server/,
    /lib\/shared\/log\.ts imports lib\/hub\/hub\.ts, which lib\/shared may not/,
    /lib\/protocol\/frames\.ts imports jsr:@std\/assert: only npm: packages/,
    /lib\/engine\/memory\/memory_engine\.ts imports "redis", which only lib\/engine\/redis may use/,
    /lib\/transport\/http_server\.ts uses Deno\.\*/,
    /import cycle: lib\/web\/a\.ts → lib\/web\/b\.ts → lib\/web\/a\.ts/,
  ];
  for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `missing ${re}`);
  assert.equal(problems.length, expect.length, problems.join("\n"));
});

testWithPermissions(
  "check_imports: the composition root wires the routes in its route table; they never import it",
  () => {
    const files = new Map([
      ["lib/server/app.ts", 'import { handleWs } from "../../routes/ws.ts";'],
      ["lib/server/fanout.ts", 'import type { MemoryUsage } from "../../routes/metrics.ts";'],
      ["routes/ws.ts", 'import type { Fanout } from "../lib/server/fanout.ts";'],
    ]);
    const problems = checkImports(files);
    const expect = [
      /lib\/server\/fanout\.ts imports routes\/metrics\.ts, which lib\/server may not/,
      /routes\/ws\.ts imports lib\/server\/fanout\.ts, which routes may not/,
    ];
    for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `missing ${re}`);
    assert.equal(problems.length, expect.length, problems.join("\n"));
  },
);

testWithPermissions(
  "check_imports: comments and strings do not count; multi-line and type imports do",
  () => {
    const source = [
      '/** Uses `Deno.serve` in an example: import { x } from "hono"; */',
      'const note = "Deno.exit is not called here";',
      "import type {",
      "  A,",
      "  B,",
      '} from "../engine/engine.ts";',
      'export { c } from "./c.ts";',
    ].join("\n");
    assert.deepEqual(importsOf("lib/hub/x.ts", source).map((i) => i.target), [
      "lib/engine/engine.ts",
      "lib/hub/c.ts",
    ]);
    assert.deepEqual(checkImports(new Map([["lib/hub/x.ts", source]])), []);
  },
);

testWithPermissions(
  "check_imports: lib/backend imports nothing at all, and its .js files are read",
  async () => {
    const files = await projectFiles(new URL("../../", import.meta.url));
    assert.ok(files.has("lib/backend/fanout_api.js"), "the .js client is covered");
    const breaches = new Map([
      ["lib/backend/a.js", 'import { ROOM_PATTERN } from "../protocol/handshake.ts";'],
      ["lib/backend/b.js", 'import { z } from "npm:zod";\nimport "node:http";'],
      ["lib/backend/c.js", 'export { d } from "./d.js";'],
      ["lib/backend/d.js", 'const m = await import(url);\nconst fs = require("fs");'],
      ["lib/backend/e.js", "/** `import(x)` and require() in a comment */ export const e = 1;"],
    ]);
    const problems = checkImports(breaches);
    const expect = [
      /lib\/backend\/a\.js imports "\.\.\/protocol\/handshake\.ts", but lib\/backend .* may import nothing/,
      /lib\/backend\/b\.js imports "npm:zod", "node:http", but lib\/backend/,
      /lib\/backend\/c\.js imports "\.\/d\.js", but lib\/backend/,
      /lib\/backend\/d\.js imports a module at run time, but lib\/backend/,
    ];
    for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `missing ${re}`);
    assert.equal(problems.length, expect.length, problems.join("\n"));
  },
);
