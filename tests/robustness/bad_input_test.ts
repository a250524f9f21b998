/**
 * The bad-input matrix: each hostile input over a real TCP socket to a real server, with the exact
 * error code, close code or HTTP status it must get, whether the connection survives (it can still
 * send a message that others receive), and that the other clients of the room see nothing of it.
 */

import assert from "node:assert/strict";
import { type MaskedFrameSpec, Op } from "../helpers/masked_frames.ts";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { type Frame, TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

/** The message size limit of the matrix's server, in bytes. */
const MAX = 1024;
/** Environment of the matrix's server: the size limit and a rate limit that no case reaches. */
const LIMITS = {
  MAX_MESSAGE_BYTES: String(MAX),
  RATE_LIMIT: "5",
  RATE_BURST: "5",
  RATE_LIMIT_CLOSE_AFTER: "20",
};

/** What a case must produce. */
type Expect =
  | { error: string } // JSON error frame with this code; the connection survives
  | { plainError: RegExp } // plain-mode `error: ...` frame; the connection survives
  | { accepted: string } // acknowledged and broadcast with this text
  | { pong: number | null } // answered, not broadcast
  | { close: number } // closed by the server with this code
  | { dropped: true }; // the runtime drops the TCP connection (no close frame)

/**
 * One row of the matrix: the frames a raw client sends (in plain mode when `plain`) and what
 * they must produce.
 */
interface FrameCase {
  name: string;
  plain?: boolean;
  frames: MaskedFrameSpec[];
  expect: Expect;
}

/** A masked text frame (final unless `fin` is false). */
const text = (payload: string | Uint8Array, fin = true): MaskedFrameSpec => ({
  opcode: Op.text,
  payload,
  fin,
});
/** A JSON-mode message frame's text with `t` as its text (any JSON value) and `extra` fields. */
const msg = (t: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: "message", text: t, ...extra });
/** What a JSON-mode witness shows of a message: its text, else its data as compact JSON. */
const shown = (f: Frame): string => f.text ?? JSON.stringify(f.data);
/** A message frame of exactly `bytes` UTF-8 bytes. */
const sized = (bytes: number) => msg("a".repeat(bytes - msg("").length));
/** A text whose message frame is exactly {@linkcode MAX} bytes. */
const AT_LIMIT = "a".repeat(MAX - msg("").length);

/**
 * The matrix, in the order it runs: first JSON mode (`fanout.v1`): sizes at and over the limit,
 * broken and hostile JSON, wrong field types, binary frames, protocol violations the runtime
 * drops, fragmented or unmasked frames that are fine, control characters in texts; then plain mode
 * (no subprotocol: a frame is the message text): empty and whitespace text, control characters,
 * binary frames, sizes over the limit, and JSON that is just text.
 */
const CASES: FrameCase[] = [
  // JSON mode
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
    name: "data nested deeper than MAX_DATA_DEPTH",
    frames: [text(`{"type":"message","data":${"[".repeat(33)}${"]".repeat(33)}}`)],
    expect: { error: "too_deep" },
  },
  {
    name: "data at MAX_DATA_DEPTH",
    frames: [text(`{"type":"message","data":${"[".repeat(32)}${"]".repeat(32)}}`)],
    expect: { accepted: "[".repeat(32) + "]".repeat(32) },
  },
  {
    name: "neither text nor data",
    frames: [text('{"type":"message","ref":"n1"}')],
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
    frames: [{ opcode: Op.text, payload: '{"type":"ping","t":1}', mask: null }],
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
  // plain mode
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

/** Reads until a non-presence frame (JSON), a plain text, a close or the end of the stream. */
async function answer(ws: RawWs, plain: boolean): Promise<Frame> {
  while (true) {
    const m = await ws.read(5000);
    if (m.kind !== "text") return m;
    if (plain) return m;
    for (const line of m.text.split("\n")) {
      const f = JSON.parse(line);
      if (f.type !== "presence") return f;
    }
  }
}

async function joinRaw(srv: TestServer, plain: boolean): Promise<RawWs> {
  const hs = await RawWs.connect(srv.server.port, "/ws?room=matrix", {
    protocols: plain ? [] : ["fanout.v1"],
  });
  assert.equal(hs.status, 101);
  if (!plain) await hs.ws!.until((f) => f.type === "welcome");
  return hs.ws!;
}

async function connections(srv: TestServer): Promise<number> {
  return (await (await fetch(srv.httpUrl("/api/stats"))).json()).connections;
}

async function waitForConnections(srv: TestServer, n: number): Promise<void> {
  for (let i = 0; i < 100 && (await connections(srv)) !== n; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await connections(srv), n, "connections went back to the witnesses only");
}

testWithPermissions(
  "bad input: every hostile frame gets its exact answer; others see nothing",
  async () => {
    const srv = await startTestServer(LIMITS);
    const witness = await TestClient.join(srv.wsUrl({ room: "matrix" }));
    const plainWitness = await TestClient.connect(srv.wsUrl({ room: "matrix" }), { json: false });
    const allowed = new Set<string>();
    try {
      for (const c of CASES) {
        const ws = await joinRaw(srv, c.plain ?? false);
        try {
          for (const f of c.frames) await ws.sendFrame(f);
          const silent = c.plain && "accepted" in c.expect; // plain senders get no ack
          const got: Frame = silent ? {} : await answer(ws, c.plain ?? false);
          const e = c.expect;
          const where = `case "${c.name}": got ${JSON.stringify(got).slice(0, 200)}`;
          if ("close" in e) {
            assert.deepEqual([got.kind, got.code], ["close", e.close], where);
            continue;
          }
          if ("dropped" in e) {
            assert.equal(got.kind, "eof", where);
            continue;
          }
          if ("error" in e) {
            assert.deepEqual([got.type, got.code], ["error", e.error], where);
            assert.doesNotMatch(
              got.message,
              /undefined/,
              `${where}: the sentence should say what was wrong`,
            );
          }
          if ("plainError" in e) {
            assert.equal(got.kind, "text", where);
            assert.match(got.text, e.plainError, where);
          }
          if ("pong" in e) assert.deepEqual(got, { type: "pong", t: e.pong }, where);
          if ("accepted" in e) {
            allowed.add(e.accepted);
            if (!c.plain) assert.equal(got.type, "ack", where);
            await witness.client.next((f) => f.type === "message" && shown(f) === e.accepted);
            await plainWitness.next((f) => f === e.accepted);
          }
          // The connection survives: a valid message still goes through to the others.
          const after = `after ${c.name}`;
          allowed.add(after);
          await ws.sendText(c.plain ? after : msg(after, { ref: "after" }));
          if (!c.plain) {
            const ack = await ws.until((f) => f.type !== "presence");
            assert.equal(ack.type, "ack", `case "${c.name}": no ack after the bad frame`);
          }
          await witness.client.next((f) => f.type === "message" && f.text === after);
          await plainWitness.next((f) => f === after);
        } finally {
          ws.abort();
        }
      }
      await waitForConnections(srv, 2);
      const seen = witness.client.frames.filter((f) =>
        f.type !== "presence" && f.type !== "welcome"
      );
      for (const f of seen) {
        assert.equal(f.type, "message", `the witness got ${JSON.stringify(f).slice(0, 100)}`);
        assert.ok(allowed.has(shown(f)), `the witness saw bad input: ${shown(f).slice(0, 80)}`);
      }
      for (const f of plainWitness.frames) assert.ok(allowed.has(f), `plain witness saw ${f}`);
      console.log(`bad-input matrix: ${CASES.length} frame cases`);
    } finally {
      await witness.client.close();
      await plainWitness.close();
      await srv.stop();
    }
  },
);
