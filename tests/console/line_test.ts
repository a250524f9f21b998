import assert from "node:assert/strict";
import { InputQueue, pumpKeys, pumpLines } from "../../lib/console/input.ts";
import { LineEditor } from "../../lib/console/line.ts";
import { Screen } from "../../lib/console/screen.ts";
import { displayWidth } from "../../lib/console/width.ts";

async function* chunks(...parts: string[]): AsyncIterable<string> {
  for (const part of parts) yield part;
}

async function collect(queue: InputQueue) {
  const out = [];
  for await (const event of queue) out.push(event);
  return out;
}

Deno.test("editor: typing, backspace, Ctrl+U, Ctrl+W, Enter", () => {
  const editor = new LineEditor();
  assert.deepEqual(editor.feed("helx\x7flo"), []);
  assert.equal(editor.text, "hello");
  assert.deepEqual(editor.feed(" big world\x17"), []);
  assert.equal(editor.text, "hello big ");
  assert.deepEqual(editor.feed("\x15héllo 👋\r"), [{ kind: "line", text: "héllo 👋" }]);
  assert.equal(editor.text, "");
});

Deno.test("editor: pasted lines, CRLF once, arrows ignored, Ctrl+D and Ctrl+C", () => {
  const editor = new LineEditor();
  assert.deepEqual(editor.feed("a\r\nb\nc\x1b[A\x1b[1;5D\x1bOPd"), [
    { kind: "line", text: "a" },
    { kind: "line", text: "b" },
  ]);
  assert.equal(editor.text, "cd");
  assert.deepEqual(editor.feed("\x04"), [], "Ctrl+D with text does nothing");
  assert.deepEqual(editor.feed("\x15\x04"), [{ kind: "eof" }]);
  assert.deepEqual(editor.feed("\x03"), [{ kind: "interrupt" }]);
});

Deno.test("screen: a printed line clears the prompt and redraws the typed input", () => {
  const out: string[] = [];
  const screen = new Screen({ write: (s) => out.push(s), interactive: true });
  screen.setInput("hel");
  out.length = 0;
  screen.print("[10:00:00] Bob: hi");
  assert.deepEqual(out, ["\r\x1b[2K[10:00:00] Bob: hi\r\n> hel"]);
  screen.close();
  screen.print("late");
  assert.equal(out.at(-1), "\r\x1b[2K", "nothing after close but the cleared prompt");
});

Deno.test("screen: long input shows its tail on one row; piped output is plain lines", () => {
  const out: string[] = [];
  const screen = new Screen({ write: (s) => out.push(s), interactive: true, columns: () => 20 });
  screen.setInput("x".repeat(30) + "END");
  assert.equal(out.at(-1), "\r\x1b[2K> …" + "x".repeat(13) + "END");
  const plain: string[] = [];
  const piped = new Screen({ write: (s) => plain.push(s), interactive: false });
  piped.setInput("ignored");
  piped.print("line");
  piped.printError("oops");
  assert.deepEqual(plain, ["line\n", "oops\n"]);
});

Deno.test("input: piped chunks become lines (CRLF, split chunks, no final newline) then eof", async () => {
  const queue = new InputQueue();
  await pumpLines(chunks("one\r\ntw", "o\n\nthree"), queue);
  assert.deepEqual(await collect(queue), [
    { kind: "line", text: "one" },
    { kind: "line", text: "two" },
    { kind: "line", text: "" },
    { kind: "line", text: "three" },
    { kind: "eof" },
  ]);
});

Deno.test("input: keystrokes go through the editor and report the current input", async () => {
  const queue = new InputQueue();
  const shown: string[] = [];
  await pumpKeys(chunks("h", "i\r", "x"), queue, (text) => shown.push(text));
  assert.deepEqual(shown, ["h", "", "x"]);
  assert.deepEqual(await collect(queue), [{ kind: "line", text: "hi" }, { kind: "eof" }]);
});

Deno.test("screen: wide characters are measured in columns, so the prompt never wraps", () => {
  const out: string[] = [];
  const screen = new Screen({ write: (s) => out.push(s), interactive: true, columns: () => 40 });
  const typed = "漢字かなカナ한국어日本語中文字体文字列表示幅定テスト";
  assert.equal([...typed].length, 26);
  screen.setInput(typed);
  screen.print("[10:00:00] Bob: hi");
  const redrawn = out.at(-1)!.split("\r\n").at(-1)!;
  assert.ok(displayWidth(redrawn) < 40, `prompt is ${displayWidth(redrawn)} columns wide`);
  assert.ok(redrawn.startsWith("> …") && redrawn.endsWith("幅定テスト"), redrawn);
  assert.equal(displayWidth(redrawn), 39, "uses the row up to the free last column");
  screen.setInput("日本語\u0301 ok 👋");
  assert.equal(out.at(-1), "\r\x1b[2K> 日本語\u0301 ok 👋", "short input is shown whole");
});
