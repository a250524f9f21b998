/**
 * The JSON-mode half of the bad-input matrix (`fanout.v1`): sizes at and over the limit, broken
 * and hostile JSON, wrong field types, binary frames, protocol violations the runtime drops,
 * fragmented or unmasked frames that are fine, and control characters in texts.
 *
 * @module
 */

import { AT_LIMIT, type FrameCase, MAX, msg, sized, text } from "./bad_input_case.ts";
import { Op } from "../helpers/raw_ws.ts";

/**
 * Every JSON-mode case, in the order the matrix runs them.
 *
 * @example
 * ```ts
 * for (const c of JSON_CASES) await run(c);
 * ```
 */
export const JSON_CASES: FrameCase[] = [
  {
    name: "frame exactly at the limit",
    frames: [text(msg(AT_LIMIT))],
    expect: { accepted: AT_LIMIT },
  },
  {
    name: "frame one byte over the limit",
    frames: [text(sized(MAX + 1))],
    expect: { error: "too_large" },
  },
  {
    name: "multi-byte text just over the limit",
    frames: [text(msg("é".repeat(MAX / 2)))],
    expect: { error: "too_large" },
  },
  {
    name: "frame far over the limit (5x)",
    frames: [text(sized(5 * MAX))],
    expect: { close: 1009 },
  },
  {
    name: "huge JSON (1 MB) in fragments",
    frames: Array.from({ length: 16 }, (_, i) => ({
      opcode: i === 0 ? Op.text : Op.cont,
      payload: (i === 0 ? '{"type":"message","text":"' : "") + "x".repeat(65536),
      fin: i === 15,
    })),
    expect: { close: 1009 },
  },
  {
    name: "deeply nested JSON",
    frames: [text("[".repeat(500) + "]".repeat(500))],
    expect: { error: "invalid_message" },
  },
  {
    name: "deep JSON as the text",
    frames: [text(`{"type":"message","text":${"[".repeat(400)}${"]".repeat(400)}}`)],
    expect: { error: "invalid_message" },
  },
  { name: "not JSON", frames: [text("hello there")], expect: { error: "invalid_json" } },
  { name: "truncated JSON", frames: [text('{"type":"mess')], expect: { error: "invalid_json" } },
  { name: "JSON null", frames: [text("null")], expect: { error: "invalid_message" } },
  { name: "JSON array", frames: [text("[1,2]")], expect: { error: "invalid_message" } },
  { name: "text is a number", frames: [text(msg(42))], expect: { error: "invalid_message" } },
  {
    name: "text is missing",
    frames: [text('{"type":"message"}')],
    expect: { error: "invalid_message" },
  },
  {
    name: "ref is a number",
    frames: [text(msg("x", { ref: 7 }))],
    expect: { error: "invalid_message" },
  },
  {
    name: "ref too long",
    frames: [text(msg("x", { ref: "r".repeat(129) }))],
    expect: { error: "invalid_message" },
  },
  {
    name: "ping with a string t",
    frames: [text('{"type":"ping","t":"now"}')],
    expect: { error: "invalid_message" },
  },
  {
    name: "unknown type",
    frames: [text('{"type":"shout","text":"x"}')],
    expect: { error: "unknown_type" },
  },
  { name: "type missing", frames: [text('{"text":"x"}')], expect: { error: "unknown_type" } },
  { name: "empty text", frames: [text(msg(""))], expect: { error: "empty_message" } },
  {
    name: "whitespace text",
    frames: [text(msg(" \n\t\u3000"))],
    expect: { error: "empty_message" },
  },
  { name: "empty frame", frames: [text("")], expect: { error: "invalid_json" } },
  {
    name: "binary frame",
    frames: [{ opcode: Op.binary, payload: new TextEncoder().encode(msg("x")) }],
    expect: { error: "unsupported_binary" },
  },
  {
    name: "invalid UTF-8 in a binary frame",
    frames: [{ opcode: Op.binary, payload: new Uint8Array([0xff, 0xfe, 0xc3, 0x28]) }],
    expect: { error: "unsupported_binary" },
  },
  {
    name: "binary frame far over the limit",
    frames: [{ opcode: Op.binary, payload: new Uint8Array(5 * MAX) }],
    expect: { close: 1009 },
  },
  {
    name: "invalid UTF-8 in a text frame",
    frames: [text(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))],
    expect: { close: 1007 },
  },
  { name: "reserved opcode 3", frames: [{ opcode: 3, payload: "x" }], expect: { close: 1002 } },
  {
    name: "continuation without a start",
    frames: [{ opcode: Op.cont, payload: "x" }],
    expect: { close: 1002 },
  },
  {
    name: "control frame over 125 bytes",
    frames: [{ opcode: Op.ping, payload: "x".repeat(200) }],
    expect: { close: 1002 },
  },
  {
    name: "reserved bits set (no extension agreed)",
    frames: [{ opcode: Op.text, rsv: 0x40, payload: msg("x") }],
    expect: { close: 1002 },
  },
  {
    name: "a message far over the limit in small fragments",
    frames: [
      text("[", false),
      ...Array.from(
        { length: 5 },
        () => ({ opcode: Op.cont, payload: "x".repeat(MAX), fin: false }),
      ),
    ],
    expect: { close: 1009 },
  },
  {
    name: "valid message split in fragments",
    frames: [text('{"type":"message","te', false), { opcode: Op.cont, payload: 'xt":"frag"}' }],
    expect: { accepted: "frag" },
  },
  {
    name: "WebSocket ping between fragments",
    frames: [
      text('{"type":"ping",', false),
      { opcode: Op.ping, payload: "hb" },
      { opcode: Op.cont, payload: '"t":7}' },
    ],
    expect: { pong: 7 },
  },
  {
    name: "unmasked client frame",
    frames: [{ opcode: Op.text, payload: '{"type":"ping","t":1}', mask: false }],
    expect: { close: 1002 },
  },
  {
    name: "bidi overrides in a text are relayed as data",
    frames: [text(msg("\u202Eevil\u2066x\u200F"))],
    expect: { accepted: "\u202Eevil\u2066x\u200F" },
  },
  {
    name: "tab and newline in a text are text",
    frames: [text(msg("col1\tcol2\nline 2"))],
    expect: { accepted: "col1\tcol2\nline 2" },
  },
  { name: "BEL in a text", frames: [text(msg("ding\u0007"))], expect: { error: "invalid_text" } },
  { name: "NUL in a text", frames: [text(msg("a\u0000b"))], expect: { error: "invalid_text" } },
  { name: "CRLF in a text", frames: [text(msg("a\r\nb"))], expect: { error: "invalid_text" } },
  {
    name: "ESC, DEL and C1 (U+009B) in a text",
    frames: [text(msg("\u001B[2J\u007F\u009B"))],
    expect: { error: "invalid_text" },
  },
];
