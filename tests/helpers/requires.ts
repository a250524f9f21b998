/**
 * What a test needs from its run: permissions and external binaries.
 *
 * `deno task test` grants every permission. A bare `deno test` grants none: the tests that need
 * one are then ignored (not failed) and `tests/helpers/requires_test.ts` prints one loud line that
 * says to run `deno task test`. Tests that need an external binary (Chromium, redis-server) are
 * skipped with a loud message outside CI when it is missing; in CI (`CI=true`) they run and fail,
 * so a missing install step cannot hide.
 *
 * @module
 */

/** The permissions `deno task test` grants (`-A`); the tests that touch the system need them. */
const PERMISSIONS = ["net", "read", "write", "env", "run", "sys", "ffi"] as const;

/**
 * True when the run has every permission (`deno task test`), false under a bare `deno test`.
 *
 * @example
 * ```ts
 * if (!allPermitted) console.warn("run `deno task test`");
 * ```
 */
export const allPermitted: boolean = PERMISSIONS.every((name) =>
  Deno.permissions.querySync({ name }).state === "granted"
);

/**
 * An environment variable when the run may read it, else `fallback` (a bare `deno test` may not).
 *
 * @example
 * ```ts
 * const runs = Number(envOr("FUZZ_RUNS", "4000"));
 * ```
 */
export function envOr(name: string, fallback: string): string {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    return fallback;
  }
  return Deno.env.get(name) ?? fallback;
}

type TestFn = (t: Deno.TestContext) => void | Promise<void>;

/**
 * `Deno.test` for a test that needs permissions (network, files, subprocesses, the environment):
 * the same three call shapes, ignored when the run lacks any of them.
 *
 * @example
 * ```ts
 * testWithPermissions("http: /healthz answers", async () => {});
 * ```
 */
export function testWithPermissions(definition: Deno.TestDefinition): void;
export function testWithPermissions(name: string, fn: TestFn): void;
export function testWithPermissions(
  name: string,
  options: Omit<Deno.TestDefinition, "name" | "fn">,
  fn: TestFn,
): void;
export function testWithPermissions(
  first: string | Deno.TestDefinition,
  second?: TestFn | Omit<Deno.TestDefinition, "name" | "fn">,
  third?: TestFn,
): void {
  const definition: Deno.TestDefinition = typeof first !== "string"
    ? first
    : typeof second === "function"
    ? { name: first, fn: second }
    : { ...second, name: first, fn: third! };
  Deno.test({ ...definition, ignore: (definition.ignore ?? false) || !allPermitted });
}

/** Path of the binary if it exists and is executable, else null (also without read permission). */
export function findBinary(candidates: string[]): string | null {
  for (const path of candidates) {
    try {
      const info = Deno.statSync(path);
      if (info.isFile && (info.mode ?? 0o111) & 0o111) return path;
    } catch {
      // not there, or the run may not look
    }
  }
  return null;
}

/**
 * Decides whether tests needing `what` run: returns `{ path, ignore }` for `Deno.test`. Under a
 * bare `deno test` they are ignored without a message of their own (requires_test.ts prints one).
 *
 * @example
 * ```ts
 * const chromium = requireBinary("Chromium", ["/usr/bin/chromium"]);
 * Deno.test({ name: "page loads", ignore: chromium.ignore, fn: async () => {} });
 * ```
 */
export function requireBinary(
  what: string,
  candidates: string[],
): { path: string; ignore: boolean } {
  if (!allPermitted) return { path: candidates[0], ignore: true };
  const path = findBinary(candidates);
  if (path) return { path, ignore: false };
  const inCi = Deno.env.get("CI") === "true";
  if (!inCi) {
    console.warn(
      `\n!!! SKIPPING tests that need ${what}: none of ${candidates.join(", ")} exists. ` +
        `Install it (see README) to run them. In CI they fail instead.\n`,
    );
    return { path: candidates[0], ignore: true };
  }
  // In CI: run the tests anyway so they fail loudly on the missing binary.
  return { path: candidates[0], ignore: false };
}
