/**
 * Line editing for the console client in raw terminal mode: turns keystrokes into a current
 * input line and completed lines, so that incoming messages can be printed above the prompt
 * and the typed text redrawn intact.
 *
 * @module
 */

/** What a keystroke chunk completed. */
export type LineEvent =
  | { kind: "line"; text: string }
  | { kind: "eof" }
  | { kind: "interrupt" };

/**
 * A minimal line editor: printable characters append, Backspace deletes, Ctrl+U clears,
 * Ctrl+W deletes a word, Enter completes the line, Ctrl+D on an empty line is end of input,
 * Ctrl+C interrupts. Escape sequences (arrows, function keys) are ignored.
 *
 * @example
 * ```ts
 * const editor = new LineEditor();
 * editor.feed("hi\x7fo"); // []
 * editor.text; // "ho"
 * editor.feed("\r"); // [{ kind: "line", text: "ho" }]
 * ```
 */
export class LineEditor {
  #chars: string[] = [];
  #escape: "" | "esc" | "csi" | "ss3" = "";
  #afterCR = false;

  /** The line being typed. */
  get text(): string {
    return this.#chars.join("");
  }

  /** Feeds decoded input; returns the lines (and eof/interrupt) it completed, in order. */
  feed(chunk: string): LineEvent[] {
    const out: LineEvent[] = [];
    for (const ch of chunk) {
      const afterCR = this.#afterCR;
      this.#afterCR = false;
      if (this.#skipEscape(ch)) continue;
      switch (ch) {
        case "\r":
          this.#afterCR = true;
          out.push({ kind: "line", text: this.#take() });
          break;
        case "\n":
          if (!afterCR) out.push({ kind: "line", text: this.#take() });
          break;
        case "\x7f":
        case "\b":
          this.#chars.pop();
          break;
        case "\x15": // Ctrl+U
          this.#chars = [];
          break;
        case "\x17": // Ctrl+W
          while (this.#chars.length && this.#chars.at(-1) === " ") this.#chars.pop();
          while (this.#chars.length && this.#chars.at(-1) !== " ") this.#chars.pop();
          break;
        case "\x04": // Ctrl+D
          if (this.#chars.length === 0) out.push({ kind: "eof" });
          break;
        case "\x03": // Ctrl+C
          out.push({ kind: "interrupt" });
          break;
        case "\x1b":
          this.#escape = "esc";
          break;
        case "\t":
          this.#chars.push(" ");
          break;
        default:
          if (ch >= " ") this.#chars.push(ch);
      }
    }
    return out;
  }

  #take(): string {
    const text = this.text;
    this.#chars = [];
    return text;
  }

  /** Consumes characters of an escape sequence; returns true when `ch` belonged to one. */
  #skipEscape(ch: string): boolean {
    switch (this.#escape) {
      case "":
        return false;
      case "esc":
        this.#escape = ch === "[" ? "csi" : ch === "O" ? "ss3" : "";
        return true;
      case "csi":
        if (ch >= "@" && ch <= "~") this.#escape = "";
        return true;
      case "ss3":
        this.#escape = "";
        return true;
    }
  }
}
