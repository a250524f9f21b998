/**
 * Tests that need an external binary (Chromium, redis-server): outside CI they are skipped with
 * a loud message when it is missing; in CI (`CI=true`) they run and fail, so a missing install
 * step cannot hide.
 *
 * @module
 */

/** Path of the binary if it exists and is executable, else null. */
export function findBinary(candidates: string[]): string | null {
  for (const path of candidates) {
    try {
      const info = Deno.statSync(path);
      if (info.isFile && (info.mode ?? 0o111) & 0o111) return path;
    } catch {
      // not there
    }
  }
  return null;
}

/**
 * Decides whether tests needing `what` run: returns `{ path, ignore }` for `Deno.test`.
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
