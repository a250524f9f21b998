/**
 * What the console-client test helpers share: the command of the `client` task in deno.json (so
 * tests see what `deno task client` users see), spawning it from the repository root in UTC, and
 * waiting for or forcing its exit.
 *
 * @module
 */

const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * Arguments of `deno` in the `client` task, e.g. `["run", "--allow-net", ..., "client.ts"]`.
 *
 * @example
 * ```ts
 * new Deno.Command(Deno.execPath(), { args: [...clientTaskArgs(), "--room", "dev"] });
 * ```
 */
export function clientTaskArgs(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  const [program, ...args] = String(config.tasks.client).trim().split(/\s+/);
  if (program !== "deno") throw new Error(`the client task does not start with deno: ${program}`);
  return args;
}

/**
 * Spawns `program` with `args` in the repository root, `TZ=UTC` plus `env`, stdin and stdout
 * piped.
 *
 * @example
 * ```ts
 * const args = [...clientTaskArgs(), "--room", "dev"];
 * const child = spawnConsole(Deno.execPath(), args, { NO_COLOR: "1" }, "piped");
 * ```
 */
export function spawnConsole(
  program: string,
  args: string[],
  env: Record<string, string>,
  stderr: "piped" | "null",
): Deno.ChildProcess {
  return new Deno.Command(program, {
    args,
    cwd: ROOT,
    env: { TZ: "UTC", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr,
  }).spawn();
}

/**
 * Waits for `child` to exit, killing it with SIGKILL after `timeoutMs`; returns the exit code.
 *
 * @example
 * ```ts
 * assert.equal(await exitWithin(child, 10_000), 0);
 * ```
 */
export async function exitWithin(child: Deno.ChildProcess, timeoutMs: number): Promise<number> {
  const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const status = await child.status;
  clearTimeout(killer);
  return status.code;
}

/**
 * Kills `child` with SIGKILL unless it has already exited (cleanup after a failure).
 *
 * @example
 * ```ts
 * killChild(child);
 * await child.status;
 * ```
 */
export function killChild(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
}
