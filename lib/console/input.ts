/**
 * Input plumbing of the console client: a queue of line events fed by stdin (piped lines or
 * raw keystrokes) and by signals, read by the session as an async iterable.
 *
 * @module
 */

import { LineEditor, type LineEvent } from "./line.ts";

/**
 * An unbounded async queue of {@linkcode LineEvent}s; iteration ends after {@linkcode end}.
 *
 * @example
 * ```ts
 * const queue = new InputQueue();
 * queue.push({ kind: "line", text: "hi" });
 * queue.end();
 * for await (const event of queue) console.log(event); // { kind: "line", text: "hi" }
 * ```
 */
export class InputQueue implements AsyncIterable<LineEvent> {
  #items: LineEvent[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  push(event: LineEvent): void {
    if (this.#ended) return;
    this.#items.push(event);
    this.#wake?.();
  }

  /** No more events after the queued ones. */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LineEvent> {
    while (true) {
      const next = this.#items.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = null;
    }
  }
}

/**
 * Reads text chunks (piped stdin or a cooked terminal), pushes each line (without `\r\n`) and,
 * at the end, any unterminated last line and `eof`.
 *
 * @example
 * ```ts
 * await pumpLines(chunksOf("a\r\nb"), queue); // pushes line "a", line "b", eof
 * ```
 */
export async function pumpLines(chunks: AsyncIterable<string>, queue: InputQueue): Promise<void> {
  let rest = "";
  for await (const chunk of chunks) {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      queue.push({ kind: "line", text: rest.slice(0, nl).replace(/\r$/, "") });
      rest = rest.slice(nl + 1);
    }
  }
  if (rest !== "") queue.push({ kind: "line", text: rest.replace(/\r$/, "") });
  queue.push({ kind: "eof" });
  queue.end();
}

/**
 * Reads raw-mode keystrokes through a {@linkcode LineEditor}; `onInput` gets the current input
 * after every chunk (to redraw the prompt).
 *
 * @example
 * ```ts
 * await pumpKeys(chunksOf("hi\r"), queue, (text) => screen.setInput(text));
 * ```
 */
export async function pumpKeys(
  chunks: AsyncIterable<string>,
  queue: InputQueue,
  onInput: (text: string) => void,
): Promise<void> {
  const editor = new LineEditor();
  for await (const chunk of chunks) {
    for (const event of editor.feed(chunk)) queue.push(event);
    onInput(editor.text);
  }
  queue.push({ kind: "eof" });
  queue.end();
}
