/**
 * The console client on a real pseudo-terminal (util-linux `script`), started with the command
 * of the `client` task: tests type keys and read everything the client draws, escapes included.
 *
 * @module
 */

import { clientTaskArgs, exitWithin, killChild, spawnConsole } from "./console_child.ts";

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * A console client running in a pty of `columns` columns.
 *
 * @example
 * ```ts
 * const pty = new ConsolePty(scriptPath, ["--url", url], { NO_COLOR: "" });
 * await pty.waitFor(/Connected to/);
 * await pty.type("hi\r");
 * assert.equal(await pty.exit(), 0);
 * ```
 */
export class ConsolePty {
  readonly child: Deno.ChildProcess;
  /** Everything the client wrote to the terminal. */
  output = "";
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #reading: Promise<void>;

  constructor(script: string, args: string[], env: Record<string, string>, columns = 80) {
    const client = [Deno.execPath(), ...clientTaskArgs(), ...args].map(quote).join(" ");
    const shell = ["-qfec", `stty cols ${columns} rows 24 && exec ${client}`, "/dev/null"];
    this.child = spawnConsole(script, shell, { TERM: "xterm", ...env }, "null");
    this.#stdin = this.child.stdin.getWriter();
    const stdout = this.child.stdout;
    this.#reading = (async () => {
      for await (const chunk of stdout.pipeThrough(new TextDecoderStream())) this.output += chunk;
    })();
  }

  /** Waits until the output (from `from` on) matches `re`; returns the index of the match. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 8000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const index = this.output.slice(from).search(re);
      if (index >= 0) return from + index;
      if (Date.now() > deadline) {
        throw new Error(`no ${re} in ${JSON.stringify(this.output.slice(from))}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Types `keys` (raw bytes: "\r" is Enter). */
  async type(keys: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(keys));
  }

  /** Waits for the exit (killing it after `timeoutMs`); returns the exit code. */
  exit(timeoutMs = 10_000): Promise<number> {
    return exitWithin(this.child, timeoutMs);
  }

  /** Kills the client if it still runs and waits for everything to end. */
  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    killChild(this.child);
    await this.child.status;
    await this.#reading;
  }
}
