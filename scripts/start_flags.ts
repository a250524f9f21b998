/**
 * The permission and V8 flags of `deno task start`, read from `deno.json`, so that the tests,
 * the soak and the benchmarks run the server's subprocesses (`deno run main.ts`, `deno serve
 * serve.ts`) with exactly what users grant it and the heap it runs with, written down once.
 *
 * @module
 */

/**
 * The `--allow-*` and `--v8-flags=` flags of the `start` task in `root/deno.json`.
 *
 * @example
 * ```ts
 * const flags = startFlags(new URL("../", import.meta.url));
 * new Deno.Command(Deno.execPath(), { args: ["run", ...flags, "main.ts"] });
 * ```
 */
export function startFlags(root: URL): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root)));
  const start: unknown = config?.tasks?.start;
  if (typeof start !== "string") {
    throw new Error(`deno.json has no "start" task (got ${JSON.stringify(start)})`);
  }
  const words = start.split(/\s+/);
  const flags = words.filter((arg) => arg.startsWith("--allow-"));
  if (flags.length === 0) throw new Error(`the start task grants no permission: "${start}"`);
  return [...words.filter((arg) => arg.startsWith("--v8-flags=")), ...flags];
}
