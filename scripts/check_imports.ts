/**
 * The dependency rule of the code base, checked: which folder may import which, where `npm:`
 * packages, `node:` modules and `Deno.*` may be used, and no import cycle. `deno task check`
 * runs it; `checkImports` is pure so that a test can show it failing on a forbidden import.
 *
 * ```sh
 * deno run -R scripts/check_imports.ts   # prints the violations, exits 1 if there are any
 * ```
 *
 * @module
 */

/** One import of a file: its specifier and the file or package it names. */
export interface Import {
  /** As written, e.g. `../shared/log.ts` or `hono`. */
  spec: string;
  /** The project path it resolves to (`lib/shared/log.ts`), or the package (`hono`, `node:crypto`). */
  target: string;
}

/**
 * Who may import whom, by folder or file (the longest matching prefix applies). `*` allows
 * everything: the entry points wire the rest together. The composition root (`lib/server`) is
 * above the routes: it may use all of `lib/`, and its route table (`app.ts`) the routes; no
 * route imports it, and no other part of it imports a route.
 */
export const MAY_IMPORT: Record<string, string[]> = {
  "lib/protocol": ["lib/protocol"],
  "lib/shared": ["lib/shared"],
  "lib/engine": [
    "lib/engine/engine.ts",
    "lib/engine/dedup_cache.ts",
    "lib/engine/local_members.ts",
    "lib/protocol",
    "lib/shared",
  ],
  "lib/engine/memory": [
    "lib/engine/memory",
    "lib/engine/local_members.ts",
    "lib/engine/engine.ts",
    "lib/engine/dedup_cache.ts",
    "lib/protocol",
    "lib/shared",
  ],
  "lib/engine/kv": [
    "lib/engine/kv",
    "lib/engine/local_members.ts",
    "lib/engine/room_feed.ts",
    "lib/engine/engine.ts",
    "lib/engine/dedup_cache.ts",
    "lib/protocol",
    "lib/shared",
  ],
  "lib/engine/redis": [
    "lib/engine/redis",
    "lib/engine/room_feed.ts",
    "lib/engine/engine.ts",
    "lib/engine/dedup_cache.ts",
    "lib/protocol",
    "lib/shared",
  ],
  "lib/auth": ["lib/auth", "lib/protocol", "lib/shared"],
  "lib/api": ["lib/api", "lib/engine/engine.ts", "lib/protocol", "lib/shared"],
  "lib/hub": [
    "lib/hub",
    "lib/engine/engine.ts",
    "lib/auth/identity.ts",
    "lib/protocol",
    "lib/shared",
  ],
  "lib/transport": ["lib/transport", "lib/protocol", "lib/shared"],
  "lib/client": ["lib/client", "lib/protocol", "lib/shared"],
  "lib/console": ["lib/console", "lib/client", "lib/protocol", "lib/shared"],
  "lib/web": ["lib/web", "lib/client", "lib/protocol", "lib/shared"],
  "lib/backend": [],
  "lib/server": ["lib"],
  "lib/server/app.ts": ["lib", "routes"],
  "routes": [
    "routes",
    "lib/hub",
    "lib/engine/engine.ts",
    "lib/auth",
    "lib/api",
    "lib/transport",
    "lib/web",
    "lib/protocol",
    "lib/shared",
    "components",
    "islands",
  ],
  "islands": ["islands", "lib/web", "lib/client", "lib/protocol", "lib/shared", "components"],
  "components": ["components", "lib/web", "lib/client", "lib/protocol", "lib/shared"],
  "main.ts": ["*"],
  "client.ts": ["*"],
  "browser.ts": ["*"],
  "serve.ts": ["*"],
};

/** Where each package and runtime may be used (a folder prefix, as in {@linkcode MAY_IMPORT}). */
export const PACKAGES: Record<string, string[]> = {
  "hono": ["lib/server"],
  "redis": ["lib/engine/redis"],
  "jose": ["lib/auth"],
  "preact": ["lib/web", "islands", "components", "routes"],
  "preact-render-to-string": ["lib/web"],
  "@preact/signals": ["lib/web", "islands", "components"],
  // Server-side only: never in what the browser bundle or the client core is made of.
  "node:crypto": ["lib/hub", "lib/transport", "lib/server"],
  /** `Deno.*`: the adapters and the entry points. */
  "Deno": ["lib/server", "main.ts", "serve.ts", "client.ts"],
};

/**
 * Folders whose files import nothing at all, not even a package or each other: `lib/backend` is
 * copied into other backends as one file (`fanout_api.js`, with its `.d.ts`).
 */
export const SELF_CONTAINED: string[] = ["lib/backend"];

function owner(path: string, table: Record<string, unknown>): string | null {
  let best: string | null = null;
  for (const key of Object.keys(table)) {
    if ((path === key || path.startsWith(key + "/")) && (!best || key.length > best.length)) {
      best = key;
    }
  }
  return best;
}

function allowed(target: string, prefixes: string[]): boolean {
  return prefixes.some((p) => p === "*" || target === p || target.startsWith(p + "/"));
}

function normalize(parts: string[]): string {
  const out: string[] = [];
  for (const part of parts) {
    if (part === "..") out.pop();
    else if (part !== "." && part !== "") out.push(part);
  }
  return out.join("/");
}

/** The package a bare specifier names: `hono/deno` → `hono`, `preact/hooks` → `preact`. */
function packageOf(spec: string): string {
  if (spec.startsWith("node:")) return spec;
  const parts = spec.replace(/^npm:/, "").split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Source without comments and string contents, so that `Deno.` in a doc comment does not count. */
function codeOnly(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:\\])\/\/.*$/gm, "$1")
    .replace(/`(?:\\[\s\S]|[^`\\])*`|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, '""');
}

/**
 * The imports of one file (`import`/`export ... from`, side-effect imports, dynamic `import()`
 * with a literal), resolved against `path`.
 *
 * @example
 * ```ts
 * importsOf("lib/hub/hub.ts", 'import { x } from "../shared/log.ts";');
 * // [{ spec: "../shared/log.ts", target: "lib/shared/log.ts" }]
 * ```
 */
export function importsOf(path: string, source: string): Import[] {
  const out: Import[] = [];
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const re =
    /(?:^|\n)\s*(?:import|export)\b[^"';]*?from\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const target = spec.startsWith(".")
      ? normalize([...path.split("/").slice(0, -1), ...spec.split("/")])
      : packageOf(spec);
    out.push({ spec, target });
  }
  return out;
}

/**
 * Every breach of the rule in `files` (project path → source): a forbidden import, a package or
 * `Deno.*` used outside its folders, and each import cycle. Empty when the code follows the rule.
 *
 * @example
 * ```ts
 * checkImports(new Map([["lib/hub/x.ts", 'import { Hono } from "hono";']]));
 * // ['lib/hub/x.ts imports "hono", which only lib/server may use']
 * ```
 */
export function checkImports(files: Map<string, string>): string[] {
  const problems: string[] = [];
  const graph = new Map<string, string[]>();
  for (const [path, source] of files) {
    const mine = owner(path, MAY_IMPORT);
    const edges: string[] = [];
    const selfContained = SELF_CONTAINED.find((p) => allowed(path, [p]));
    if (selfContained) {
      const found = importsOf(path, source).map((i) => `"${i.spec}"`);
      if (found.length === 0 && /\b(?:import|require)\s*\(/.test(codeOnly(source))) {
        found.push("a module at run time");
      }
      if (found.length > 0) {
        problems.push(
          `${path} imports ${found.join(", ")}, but ${selfContained} is copied into other ` +
            "backends as it is and may import nothing",
        );
      }
    }
    for (const { spec, target } of selfContained ? [] : importsOf(path, source)) {
      if (spec.startsWith(".")) {
        edges.push(target);
        if (mine && !allowed(target, MAY_IMPORT[mine])) {
          problems.push(
            `${path} imports ${target}, which ${mine} may not (it may: ${
              MAY_IMPORT[mine].join(", ")
            })`,
          );
        }
        continue;
      }
      if (/^(jsr:|https?:)/.test(spec)) {
        problems.push(
          `${path} imports ${spec}: only npm: packages and node: modules are reachable`,
        );
        continue;
      }
      const where = PACKAGES[target];
      if (where && !allowed(path, where)) {
        problems.push(`${path} imports "${target}", which only ${where.join(", ")} may use`);
      } else if (!where && target.startsWith("node:") && !path.startsWith("scripts/")) {
        problems.push(`${path} imports "${target}", which no part of lib/ may use`);
      }
    }
    if (/\bDeno\.[A-Za-z]/.test(codeOnly(source)) && !allowed(path, PACKAGES.Deno)) {
      problems.push(`${path} uses Deno.*, which only ${PACKAGES.Deno.join(", ")} may`);
    }
    graph.set(path, edges);
  }
  problems.push(...cycles(graph));
  return problems;
}

/** Each import cycle of the graph once, as `a → b → a`. */
function cycles(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const seen = new Set<string>();
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === "open") {
        const loop = stack.slice(stack.indexOf(next));
        const key = [...loop].sort().join(" ");
        if (!seen.has(key)) {
          seen.add(key);
          out.push(`import cycle: ${[...loop, next].join(" → ")}`);
        }
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return out;
}

/** The project's source files the rule covers (`.ts`, `.tsx`, `.js`), read from `root`. */
export async function projectFiles(root: URL): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) await walk(`${path}/`);
      else if (/\.(?:tsx?|js)$/.test(entry.name)) {
        files.set(path, await Deno.readTextFile(new URL(path, root)));
      }
    }
  };
  for (const dir of ["lib/", "routes/", "islands/", "components/"]) await walk(dir);
  for (const entry of ["main.ts", "serve.ts", "client.ts", "browser.ts"]) {
    files.set(entry, await Deno.readTextFile(new URL(entry, root)));
  }
  return files;
}

if (import.meta.main) {
  const problems = checkImports(await projectFiles(new URL("../", import.meta.url)));
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(
      `${problems.length} import rule violation(s); see DEVELOPERS.md, "The dependency rule"`,
    );
    Deno.exit(1);
  }
  console.log("imports follow the dependency rule");
}
