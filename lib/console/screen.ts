/**
 * Terminal output of the console client that never garbles the line being typed: on an
 * interactive terminal every printed line first clears the prompt row, then the prompt and the
 * current input are drawn again below it.
 *
 * @module
 */

import { displayWidth, fitTail } from "./width.ts";

/** Options of {@linkcode Screen}. */
export interface ScreenOptions {
  /** Writes raw text to the terminal (stdout). */
  write: (text: string) => void;
  /** Writes raw text to stderr (default: `write`). */
  writeError?: (text: string) => void;
  /** True when the user types in a raw-mode terminal: draw a prompt and redraw it. */
  interactive: boolean;
  prompt?: string;
  /** Terminal width in columns (default 80). */
  columns?: () => number;
}

const CLEAR_LINE = "\r\x1b[2K";

/**
 * Prints complete lines above the prompt.
 *
 * @example
 * ```ts
 * const screen = new Screen({ write: (s) => out.push(s), interactive: true });
 * screen.setInput("hel");
 * screen.print("[10:00:00] Bob: hi"); // clears "> hel", prints the line, redraws "> hel"
 * ```
 */
export class Screen {
  #write: (text: string) => void;
  #writeError: (text: string) => void;
  #interactive: boolean;
  #prompt: string;
  #columns: () => number;
  #input = "";
  #closed = false;

  constructor(options: ScreenOptions) {
    this.#write = options.write;
    this.#writeError = options.writeError ?? options.write;
    this.#interactive = options.interactive;
    this.#prompt = options.prompt ?? "> ";
    this.#columns = options.columns ?? (() => 80);
  }

  /** Prints one line (without its newline). */
  print(line: string): void {
    if (this.#closed) return;
    if (!this.#interactive) return this.#write(`${line}\n`);
    this.#write(`${CLEAR_LINE}${line}\r\n${this.#promptLine()}`);
  }

  /** Prints one line to stderr, keeping the prompt intact. */
  printError(line: string): void {
    if (this.#closed || !this.#interactive) return this.#writeError(`${line}\n`);
    this.#write(CLEAR_LINE);
    this.#writeError(`${line}\r\n`);
    this.#write(this.#promptLine());
  }

  /** Shows `text` as the current input (after a keystroke). */
  setInput(text: string): void {
    this.#input = text;
    if (this.#interactive && !this.#closed) this.#write(CLEAR_LINE + this.#promptLine());
  }

  /** Removes the prompt for good (before exiting). */
  close(): void {
    if (this.#interactive && !this.#closed) this.#write(CLEAR_LINE);
    this.#closed = true;
  }

  /**
   * The prompt and the tail of the input that fits on one row, measured in terminal columns
   * (wide characters count 2), leaving the last column free so the row never wraps: a wrapped
   * prompt would leave stale rows behind that `CLEAR_LINE` does not reach.
   */
  #promptLine(): string {
    const room = Math.max(2, this.#columns() - displayWidth(this.#prompt) - 1);
    if (displayWidth(this.#input) <= room) return this.#prompt + this.#input;
    return this.#prompt + "…" + fitTail(this.#input, room - 1).text;
  }
}
