/**
 * The real console client as a subprocess, started with exactly the command of the `client`
 * task in deno.json (see `console_child.ts`), its stdout collected line by line and its stderr
 * verbatim.
 *
 * @module
 */

import { clientTaskArgs, exitWithin, killChild, spawnConsole } from "./console_child.ts";

/**
 * A running console client. Input is piped, so the client runs in script mode.
 *
 * @example
 * ```ts
 * const proc = new ConsoleProcess(["--url", url, "--room", "dev"]);
 * await proc.waitFor(/^Connected to /);
 * await proc.write("hi\n");
 * await proc.endInput();
 * assert.equal(await proc.exit(), 0);
 * ```
 */
export class ConsoleProcess {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #reading: Promise<void>;
  #wake: (() => void) | null = null;

  constructor(args: string[], env: Record<string, string> = {}) {
    const command = [...clientTaskArgs(), ...args];
    this.child = spawnConsole(Deno.execPath(), command, { NO_COLOR: "1", ...env }, "piped");
    this.#stdin = this.child.stdin.getWriter();
    const out = this.#collect(this.child.stdout, (text) => {
      this.lines.push(...text.split("\n").filter((line) => line !== ""));
    });
    const err = this.#collect(this.child.stderr, (text) => this.stderr += text);
    this.#reading = Promise.all([out, err]).then(() => {});
  }

  async #collect(
    stream: ReadableStream<Uint8Array<ArrayBuffer>>,
    take: (text: string) => void,
  ): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const end = rest.lastIndexOf("\n");
      if (end >= 0) {
        take(rest.slice(0, end + 1));
        rest = rest.slice(end + 1);
      }
      this.#wake?.();
    }
    if (rest) take(rest);
    this.#wake?.();
  }

  /** Writes `text` to the client's stdin. */
  async write(text: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  /** Closes stdin (end of input). */
  async endInput(): Promise<void> {
    await this.#stdin.close();
  }

  /** Waits for an output line matching `re` (at or after line `from`); returns its index. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 8000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const index = this.lines.findIndex((line, i) => i >= from && re.test(line));
      if (index >= 0) return index;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no line matching ${re}; stdout: ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, Math.min(left, 200));
      });
      clearTimeout(timer);
    }
  }

  /** Waits for the exit (killing the process after `timeoutMs`) and all output. */
  async exit(timeoutMs = 15_000): Promise<number> {
    const code = await exitWithin(this.child, timeoutMs);
    await this.#stdin.close().catch(() => {});
    await this.#reading;
    return code;
  }

  /** Kills the client if it still runs, then waits for its exit (cleanup after a failure). */
  async stop(): Promise<void> {
    killChild(this.child);
    await this.exit();
  }
}

/**
 * Runs the client to completion with `input` on stdin.
 *
 * @example
 * ```ts
 * const { code, proc } = await runClient(["--room"]);
 * // code 2, proc.stderr "error: --room needs a value; see --help\n"
 * ```
 */
export async function runClient(
  args: string[],
  input = "",
  env: Record<string, string> = {},
): Promise<{ code: number; proc: ConsoleProcess }> {
  const proc = new ConsoleProcess(args, env);
  try {
    await proc.write(input);
    await proc.endInput();
  } catch {
    // The client may exit before reading its input (bad options): nothing to deliver then.
  }
  return { code: await proc.exit(), proc };
}
