/**
 * Terminal display width of text, so that the console client can fit the prompt on one row:
 * East Asian wide and fullwidth characters and emoji take 2 columns, combining marks and
 * zero-width characters none, everything else 1. Widths are counted per code point, as most
 * terminals do, so an emoji sequence joined with U+200D may be counted wider than a terminal
 * that draws it as one glyph shows it: the prompt then leaves a few columns free, but never
 * wraps.
 *
 * @module
 */

// East Asian Width W and F ranges (Unicode 15.1) that are not emoji; emoji come from the
// Emoji_Presentation property below.
const WIDE: readonly [number, number][] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2e80, 0x303e], // CJK radicals, Kangxi, ideographic description, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, Kanbun, CJK compat
  [0x3400, 0x4dbf], // CJK unified ideographs extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x16fe4], // ideographic symbols
  [0x17000, 0x18cff], // Tangut, Khitan
  [0x1aff0, 0x1b2ff], // Kana supplement and extensions, Nushu
  [0x1f200, 0x1f2ff], // enclosed ideographic supplement
  [0x20000, 0x2fffd], // CJK extensions B-F, compatibility supplement
  [0x30000, 0x3fffd], // CJK extensions G-H
];

const EMOJI = /\p{Emoji_Presentation}|\p{Regional_Indicator}/u;
// Combining marks, format characters (ZWJ, ZWSP, bidi marks, variation selectors are Mn),
// Hangul medial vowels and final consonants, and C0/C1 controls (they print nothing by
// themselves; the console replaces them before printing anyway).
const ZERO = /[\p{Mn}\p{Me}\p{Cf}\p{Cc}\u1160-\u11ff\ud7b0-\ud7ff]/u;
const VS16 = 0xfe0f;

function isWide(cp: number): boolean {
  let lo = 0;
  let hi = WIDE.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end] = WIDE[mid];
    if (cp < start) hi = mid - 1;
    else if (cp > end) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Columns one code point takes: 0, 1 or 2.
 *
 * @example
 * ```ts
 * charWidth("漢"); // 2
 * charWidth("\u0301"); // 0 (combining acute accent)
 * charWidth("a"); // 1
 * ```
 */
export function charWidth(ch: string): 0 | 1 | 2 {
  const cp = ch.codePointAt(0) ?? 0;
  if (ZERO.test(ch)) return 0;
  if (isWide(cp) || EMOJI.test(ch)) return 2;
  return 1;
}

/**
 * Columns `text` takes on a terminal. A character followed by U+FE0F (emoji presentation, as in
 * "❤️") counts 2.
 *
 * @example
 * ```ts
 * displayWidth("日本語 ok"); // 9
 * displayWidth("e\u0301"); // 1
 * displayWidth("👋"); // 2
 * ```
 */
export function displayWidth(text: string): number {
  let width = 0;
  let last: number = 0;
  for (const ch of text) {
    if (ch.codePointAt(0) === VS16 && last === 1) width += 1;
    last = charWidth(ch);
    width += last;
  }
  return width;
}

/**
 * The longest tail of `text` that fits in `columns` (whole characters with their combining
 * marks), and its width.
 *
 * @example
 * ```ts
 * fitTail("日本語", 5); // { text: "本語", width: 4 }
 * ```
 */
export function fitTail(text: string, columns: number): { text: string; width: number } {
  const chars = [...text];
  let width = 0;
  let start = chars.length;
  while (start > 0) {
    // Take the previous character together with any zero-width ones after it.
    let from = start - 1;
    while (from > 0 && charWidth(chars[from]) === 0) from--;
    const add = displayWidth(chars.slice(from, start).join(""));
    if (width + add > columns) break;
    width += add;
    start = from;
  }
  return { text: chars.slice(start).join(""), width };
}
