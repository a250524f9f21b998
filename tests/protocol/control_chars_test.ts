import assert from "node:assert/strict";
import { controlCharProblem } from "../../lib/protocol/control_chars.ts";

const codePoint = (c: number) => String.fromCodePoint(c);

Deno.test("controlCharProblem: tab and newline pass; every other C0, DEL and C1 is refused", () => {
  assert.equal(controlCharProblem("a\tb\nc é 😀 \u202E \u00A0"), null);
  const refused = [];
  for (let c = 0; c <= 0xa0; c++) {
    if (controlCharProblem(`x${codePoint(c)}`) !== null) refused.push(c);
  }
  const expected = [];
  for (let c = 0; c <= 0x9f; c++) {
    if (c !== 0x09 && c !== 0x0a && (c < 0x20 || c >= 0x7f)) expected.push(c);
  }
  assert.deepEqual(refused, expected);
  assert.equal(refused.includes(0x0d), true, "CR is refused: line breaks are \\n");
});

Deno.test("controlCharProblem names the first offending code point and its character position", () => {
  assert.equal(
    controlCharProblem("hello\u0007 and \u0000"),
    "text must not contain control characters other than tab and newline; got U+0007 at character 6",
  );
  assert.match(controlCharProblem("😀😀\u009B")!, /got U\+009B at character 3$/, "in code points");
  assert.match(controlCharProblem("\u0000")!, /got U\+0000 at character 1$/);
});
