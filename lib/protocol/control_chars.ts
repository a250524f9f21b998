/**
 * The rule for control characters in message texts: tab and newline are text, every other C0
 * control, DEL and the C1 controls are refused (JSON members would get each as a six-byte
 * `\u00XX`, and terminals may act on them). Shared by the server's parsers and the client core.
 *
 * @module
 */

// U+0000-U+0008, U+000B-U+001F (CR included), U+007F-U+009F: matching them is the point.
// deno-lint-ignore no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

/**
 * Why `text` would be refused for a control character (naming the first one and its position,
 * counted in characters from 1), or null when it has none besides tab and newline.
 *
 * @example
 * ```ts
 * controlCharProblem("a\tb\nc"); // null
 * controlCharProblem("hello\u0007");
 * // "text must not contain control characters other than tab and newline; got U+0007 at character 6"
 * ```
 */
export function controlCharProblem(text: string): string | null {
  const found = FORBIDDEN.exec(text);
  if (found === null) return null;
  const code = found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
  const position = [...text.slice(0, found.index)].length + 1;
  return "text must not contain control characters other than tab and newline; " +
    `got U+${code} at character ${position}`;
}
