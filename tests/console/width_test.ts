import assert from "node:assert/strict";
import { charWidth, displayWidth, fitTail } from "../../lib/console/width.ts";

Deno.test("width: wide, fullwidth and emoji are 2 columns; combining and zero-width 0", () => {
  assert.equal(displayWidth("abc"), 3);
  assert.equal(displayWidth("日本語"), 6, "CJK ideographs");
  assert.equal(displayWidth("한국어"), 6, "Hangul syllables");
  assert.equal(displayWidth("ｈｉ"), 4, "fullwidth Latin");
  assert.equal(displayWidth("カタカナ"), 8);
  assert.equal(displayWidth("👋🎉"), 4, "emoji");
  assert.equal(displayWidth("❤️"), 2, "text symbol with emoji presentation selector");
  assert.equal(displayWidth("e\u0301"), 1, "combining accent");
  assert.equal(displayWidth("a\u200bb\u200d"), 2, "zero-width space and joiner");
  assert.equal(displayWidth("\u1100\u1161\u11a8"), 2, "conjoining Hangul jamo");
  assert.equal(charWidth("…"), 1);
  assert.equal(charWidth("〿"), 1, "U+303F is narrow, right after a wide block");
});

Deno.test("width: fitTail keeps whole characters with their marks, within the columns", () => {
  assert.deepEqual(fitTail("日本語", 5), { text: "本語", width: 4 });
  assert.deepEqual(fitTail("日本語", 6), { text: "日本語", width: 6 });
  assert.deepEqual(fitTail("abe\u0301", 2), { text: "be\u0301", width: 2 });
  assert.deepEqual(fitTail("x👋", 2), { text: "👋", width: 2 });
  assert.deepEqual(fitTail("漢", 1), { text: "", width: 0 });
});
