/**
 * The plain-mode half of the bad-input matrix (no subprotocol: a frame is the message text):
 * empty and whitespace text, control characters, binary frames, sizes over the limit, and JSON
 * that is just text.
 *
 * @module
 */

import { type FrameCase, MAX, text } from "./bad_input_case.ts";
import { Op } from "../helpers/raw_ws.ts";

/**
 * Every plain-mode case, in the order the matrix runs them.
 *
 * @example
 * ```ts
 * for (const c of PLAIN_CASES) await run(c);
 * ```
 */
export const PLAIN_CASES: FrameCase[] = [
  {
    name: "plain: empty text",
    plain: true,
    frames: [text("")],
    expect: { plainError: /^error: text is empty/ },
  },
  {
    name: "plain: whitespace text",
    plain: true,
    frames: [text("   \n")],
    expect: { plainError: /^error: text is empty/ },
  },
  {
    name: "plain: binary frame",
    plain: true,
    frames: [{ opcode: Op.binary, payload: new Uint8Array([1, 2, 3]) }],
    expect: { plainError: /^error: binary frames are not supported/ },
  },
  {
    name: "plain: one byte over the limit",
    plain: true,
    frames: [text("p".repeat(MAX + 1))],
    expect: { plainError: /^error: frame is larger than the limit of 1024 bytes/ },
  },
  {
    name: "plain: far over the limit",
    plain: true,
    frames: [text("p".repeat(5 * MAX))],
    expect: { close: 1009 },
  },
  {
    name: "plain: BEL and NUL in the text",
    plain: true,
    frames: [text("ding\u0007\u0000")],
    expect: {
      plainError:
        /^error: text must not contain control characters other than tab and newline; got U\+0007 at character 5$/,
    },
  },
  {
    name: "plain: a frame full of control bytes",
    plain: true,
    frames: [text("\u0001\u0002\u0003".repeat(300))],
    expect: {
      plainError: /^error: text must not contain control characters .* U\+0001 at character 1$/,
    },
  },
  {
    name: "plain: JSON-looking text is just text",
    plain: true,
    frames: [text('{"type":"ping","t":1}')],
    expect: { accepted: '{"type":"ping","t":1}' },
  },
];
