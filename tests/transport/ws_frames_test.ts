/**
 * WebSocket framing: the server's encodings, and the reader of client frames at every rule and
 * boundary (lengths, masking, opcodes, control frames, close codes, UTF-8 failing as soon as a
 * byte makes a text invalid, the message cap checked on the header alone, the fragment cap, the
 * shared inbound budget), plus a property: however the bytes are cut into chunks, the reader
 * hands on the same events.
 */

import { Close } from "../../lib/protocol/close_codes.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeCloseFrame,
  encodeFrame,
  encodeTextFrame,
  encodeTextFrames,
  encodeTextFramesAt,
  encodeTextPieces,
  FrameReader,
  type FrameReaderOptions,
  type InboundBudget,
  joinTextFrames,
  Opcode,
} from "../../lib/transport/ws_frames.ts";
import {
  closeBody,
  maskedFrame,
  type MaskedFrameSpec,
  serverFrames,
} from "../helpers/masked_frames.ts";

const enc = new TextEncoder();

type Event =
  | ["text", string]
  | ["binary", number[]]
  | ["ping", number[]]
  | ["pong"]
  | ["close", number | null, string]
  | ["fail", number, string];

function recorder(options: FrameReaderOptions) {
  const events: Event[] = [];
  const reader = new FrameReader(options, {
    text: (t) => events.push(["text", t]),
    binary: (p) => events.push(["binary", [...p]]),
    ping: (p) => events.push(["ping", [...p]]),
    pong: () => events.push(["pong"]),
    close: (code, reason) => events.push(["close", code, reason]),
    fail: (code, reason) => events.push(["fail", code, reason]),
  });
  return { reader, events };
}

function frames(...specs: MaskedFrameSpec[]): Uint8Array {
  const parts = specs.map(maskedFrame);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function failCode(events: Event[]): number | null {
  const fail = events.find((e) => e[0] === "fail");
  return fail ? (fail[1] as number) : null;
}

function filled(n: number, byte = 0x61): Uint8Array {
  return new Uint8Array(n).fill(byte);
}

// --- encoding -------------------------------------------------------------------------------

Deno.test("encodeFrame: the length form switches at 126 and 65536, payload intact", () => {
  for (
    const [len, head, marker] of [
      [0, 2, 0],
      [125, 2, 125],
      [126, 4, 126],
      [65535, 4, 126],
      [65536, 10, 127],
      [70000, 10, 127],
    ]
  ) {
    const payload = new Uint8Array(len).map((_, i) => i * 7);
    const out = encodeFrame(Opcode.binary, payload);
    assert.equal(out.length, head + len, `length ${len}`);
    assert.equal(out[0], 0x82, "FIN and the opcode");
    assert.equal(out[1], marker, `length marker for ${len}`);
    const [frame] = serverFrames(out);
    assert.equal(frame.payload.length, len);
    assert.deepEqual(frame.payload, payload);
  }
  // 64-bit form: the high word is zero for 65536, the low word holds the length.
  const out = encodeFrame(Opcode.binary, new Uint8Array(65536));
  assert.deepEqual([...out.subarray(2, 10)], [0, 0, 0, 0, 0, 1, 0, 0]);
});

Deno.test("encodeTextFrame: UTF-8 payload in one final text frame", () => {
  const out = encodeTextFrame("héllo");
  assert.deepEqual([...out.subarray(0, 2)], [0x81, 6]);
  assert.equal(serverFrames(out)[0].text, "héllo");
  assert.deepEqual([...encodeTextFrame("hi")], [0x81, 2, 104, 105]);
});

Deno.test("encodeTextFrames: the texts as text frames back to back, every header size", () => {
  const texts = ["hi", "héllo", "x".repeat(125), "y".repeat(126), "é".repeat(40_000), ""];
  const out = encodeTextFrames(texts);
  const frames = serverFrames(out);
  assert.deepEqual(frames.map((f) => f.text), texts);
  assert.ok(frames.every((f) => f.fin && f.opcode === Opcode.text));
  assert.equal(out.length, texts.reduce((n, t) => n + encodeTextFrame(t).length, 0));
  assert.deepEqual([...encodeTextFrames(["hi"])], [...encodeTextFrame("hi")]);
});

Deno.test("encodeTextFramesAt: every range of frames is a range of bytes, whatever the characters", () => {
  const texts = ["hi", "héllo", "x".repeat(125), "y".repeat(126), "é".repeat(40_000), "", "😀"];
  const { bytes, starts } = encodeTextFramesAt(texts);
  assert.deepEqual([...bytes], [...encodeTextFrames(texts)]);
  assert.equal(starts.length, texts.length + 1);
  assert.equal(starts[texts.length], bytes.length);
  for (let from = 0; from < texts.length; from++) {
    for (let to = from + 1; to <= texts.length; to++) {
      const cut = serverFrames(bytes.subarray(starts[from], starts[to])).map((f) => f.text);
      assert.deepEqual(cut, texts.slice(from, to), `frames ${from} to ${to}`);
    }
  }
});

Deno.test("joinTextFrames: strings as new frames, frames as they are, in order; a lone frame is itself", () => {
  const run = encodeTextFramesAt(["a", "bé", "c".repeat(300)]);
  const range = run.bytes.subarray(run.starts[1], run.starts[3]);
  const out = joinTextFrames(["own", range, "ü".repeat(70)]);
  assert.deepEqual(serverFrames(out).map((f) => f.text), [
    "own",
    "bé",
    "c".repeat(300),
    "ü".repeat(70),
  ]);
  assert.equal(joinTextFrames([range]), range);
  assert.deepEqual([...joinTextFrames(["x", "y"])], [...encodeTextFrames(["x", "y"])]);
});

Deno.test("encodeTextPieces: strings and UTF-8 bytes joined with newlines in one frame, every header size", () => {
  const enc = new TextEncoder();
  for (const size of [0, 50, 124, 125, 126, 65_534, 65_535, 65_536, 70_000]) {
    const shared = enc.encode("héllo\n" + "x".repeat(size));
    const pieces = [shared.subarray(0, 6), "ünï", shared.subarray(7), ""];
    const want = ["héllo", "ünï", "x".repeat(size), ""].join("\n");
    const out = encodeTextPieces(pieces);
    const [frame] = serverFrames(out);
    assert.equal(frame.text, want, `size ${size}`);
    assert.ok(frame.fin && frame.opcode === Opcode.text);
    assert.deepEqual(out, encodeTextFrame(want), `size ${size}: the same bytes as one string`);
  }
  assert.deepEqual(encodeTextPieces(["hi"]), encodeTextFrame("hi"));
});

Deno.test("encodeCloseFrame: the code big-endian, the reason cut to 123 bytes at a character", () => {
  const plain = serverFrames(encodeCloseFrame(1009, "message too big"))[0];
  assert.equal(plain.opcode, Opcode.close);
  assert.equal(plain.code, 1009);
  assert.equal(plain.text, "message too big");

  const ascii = serverFrames(encodeCloseFrame(4000, "x".repeat(200)))[0];
  assert.equal(ascii.payload.length, 125);
  assert.equal(ascii.text, "x".repeat(123));

  // "é" is 2 bytes: 123 bytes would split the 62nd one, so 61 are kept (122 bytes).
  const accents = encodeCloseFrame(1000, "é".repeat(70));
  const frame = serverFrames(accents)[0];
  assert.equal(frame.payload.length, 2 + 122);
  assert.equal(
    new TextDecoder("utf-8", { fatal: true }).decode(frame.payload.subarray(2)),
    "é".repeat(61),
  );

  // A 4-byte character straddling byte 123 is dropped whole.
  const emoji = serverFrames(encodeCloseFrame(1000, "ab" + "😀".repeat(40)))[0];
  assert.equal(emoji.payload.length, 2 + 2 + 4 * 30);
  assert.equal(emoji.text, "ab" + "😀".repeat(30));

  const empty = serverFrames(encodeCloseFrame(1000, ""))[0];
  assert.deepEqual([...empty.payload], [0x03, 0xe8]);
});

// --- reading: basics and lengths --------------------------------------------------------------

Deno.test("FrameReader: RFC 6455's masked 'Hello' sample", () => {
  const bytes = maskedFrame({ opcode: Opcode.text, payload: "Hello" });
  assert.deepEqual([...bytes], [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  reader.push(bytes);
  assert.deepEqual(events, [["text", "Hello"]]);
});

Deno.test("FrameReader: payload lengths 0, 125, 126, 65535, 65536 in their length forms", () => {
  for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const payload = new Uint8Array(len).map((_, i) => (i * 31 + 7) & 0xff);
    const bytes = maskedFrame({ opcode: Opcode.binary, payload, mask: [0xa1, 0x02, 0xff, 0x10] });
    const marker = bytes[1] & 0x7f;
    assert.equal(marker, len < 126 ? len : len < 65536 ? 126 : 127, `marker for ${len}`);
    const got: Uint8Array[] = [];
    const reader = new FrameReader({ maxMessageBytes: 1 << 20 }, {
      text: () => assert.fail("no text expected"),
      binary: (p) => got.push(p.slice()),
      ping: () => {},
      pong: () => {},
      close: () => {},
      fail: (code, reason) => assert.fail(`failed ${code} ${reason} at length ${len}`),
    });
    reader.push(bytes);
    assert.equal(got.length, 1, `one message of ${len} bytes`);
    assert.deepEqual(got[0], payload);
  }
});

Deno.test("FrameReader: non-minimal 16- and 64-bit length forms are read by their value", () => {
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  reader.push(maskedFrame({ opcode: Opcode.text, payload: "sixteen", lengthForm: 16 }));
  reader.push(maskedFrame({ opcode: Opcode.text, payload: "sixty-four", lengthForm: 64 }));
  assert.deepEqual(events, [["text", "sixteen"], ["text", "sixty-four"]]);
});

Deno.test("FrameReader: the high word of a 64-bit length counts", () => {
  // 2^32 + 5: were the high word ignored, this would read as 5 bytes and pass.
  const { reader, events } = recorder({ maxMessageBytes: 1 << 20 });
  reader.push(maskedFrame({ opcode: Opcode.binary, announce: 2 ** 32 + 5, lengthForm: 64 }));
  assert.equal(failCode(events), Close.tooBig);
  assert.equal(reader.held, 0);
});

Deno.test("FrameReader: 64-bit lengths beyond 2^53 and with the top bit set fail 1009 at once", () => {
  for (const announce of [2 ** 53, 2 ** 63, 2 ** 64 - 2 ** 11]) {
    const { reader, events } = recorder({ maxMessageBytes: 1 << 20 });
    reader.push(maskedFrame({ opcode: Opcode.binary, announce, lengthForm: 64 }));
    assert.equal(failCode(events), Close.tooBig, `announce ${announce}`);
    assert.equal(reader.held, 0);
  }
});

Deno.test("FrameReader: zero-length text, binary, ping and pong frames", () => {
  const { reader, events } = recorder({ maxMessageBytes: 10 });
  reader.push(frames(
    { opcode: Opcode.text },
    { opcode: Opcode.binary },
    { opcode: Opcode.ping },
    { opcode: Opcode.pong, payload: "ignored" },
  ));
  assert.deepEqual(events, [["text", ""], ["binary", []], ["ping", []], ["pong"]]);
});

Deno.test("FrameReader: the chunk may be reused by the caller after push (header and payload)", () => {
  const bytes = maskedFrame({ opcode: Opcode.text, payload: "reused buffer", lengthForm: 64 });
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  const scratch = new Uint8Array(bytes.length);
  for (const [from, to] of [[0, 5], [5, 16], [16, bytes.length]]) {
    scratch.set(bytes.subarray(from, to));
    reader.push(scratch.subarray(0, to - from));
    scratch.fill(0xee);
  }
  assert.deepEqual(events, [["text", "reused buffer"]]);
});

Deno.test("FrameReader: masking follows the payload position across chunk boundaries", () => {
  const text = "0123456789abcdefghij";
  const bytes = maskedFrame({ opcode: Opcode.text, payload: text, mask: [1, 2, 3, 4] });
  // Chunks end at payload offsets 1, 3, 6 and 11: every residue of the position modulo 4.
  const cuts = [0, 1, 6 + 1, 6 + 3, 6 + 6, 6 + 11, bytes.length];
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  for (let i = 1; i < cuts.length; i++) reader.push(bytes.subarray(cuts[i - 1], cuts[i]));
  assert.deepEqual(events, [["text", text]]);
});

// --- the message cap -----------------------------------------------------------------------------

Deno.test("FrameReader: a message exactly at the cap passes", () => {
  const { reader, events } = recorder({ maxMessageBytes: 1000 });
  reader.push(maskedFrame({ opcode: Opcode.binary, payload: filled(1000) }));
  assert.equal(events.length, 1);
  assert.equal(events[0][0], "binary");
  assert.equal((events[0][1] as number[]).length, 1000);
});

Deno.test("FrameReader: one byte over the cap fails 1009 on the header alone", () => {
  const { reader, events } = recorder({ maxMessageBytes: 1000 });
  const header = maskedFrame({ opcode: Opcode.binary, announce: 1001 });
  assert.equal(header.length, 2 + 2 + 4, "only the header is pushed");
  reader.push(header);
  assert.deepEqual(events, [["fail", Close.tooBig, "message over 1000 bytes"]]);
  assert.equal(reader.held, 0);
  // Nothing more is read.
  reader.push(maskedFrame({ opcode: Opcode.text, payload: "later" }));
  assert.equal(events.length, 1);
});

Deno.test("FrameReader: fragments are summed: exactly the cap passes, one byte over fails early", () => {
  const ok = recorder({ maxMessageBytes: 1000 });
  ok.reader.push(frames(
    { opcode: Opcode.text, payload: filled(400), fin: false },
    { opcode: Opcode.ping, payload: filled(100) }, // control frames do not count
    { opcode: Opcode.continuation, payload: filled(400), fin: false },
    { opcode: Opcode.continuation, payload: filled(200) },
  ));
  assert.deepEqual(ok.events.map((e) => e[0]), ["ping", "text"]);
  assert.equal((ok.events[1][1] as string).length, 1000);

  const over = recorder({ maxMessageBytes: 1000 });
  over.reader.push(frames(
    { opcode: Opcode.text, payload: filled(400), fin: false },
    { opcode: Opcode.continuation, payload: filled(400), fin: false },
  ));
  assert.equal(over.reader.held, 800);
  over.reader.push(maskedFrame({ opcode: Opcode.continuation, announce: 201 })); // header only
  assert.deepEqual(over.events, [["fail", Close.tooBig, "message over 1000 bytes"]]);
  assert.equal(over.reader.held, 0);
});

Deno.test("FrameReader: a new message starts its count from zero", () => {
  const { reader, events } = recorder({ maxMessageBytes: 10 });
  reader.push(frames(
    { opcode: Opcode.text, payload: "12345", fin: false },
    { opcode: Opcode.continuation, payload: "67890" },
    { opcode: Opcode.text, payload: "abcdefghij" },
  ));
  assert.deepEqual(events, [["text", "1234567890"], ["text", "abcdefghij"]]);
});

Deno.test("FrameReader: fragment count: exactly maxFragments passes, one more fails 1009", () => {
  const spec = (n: number) => {
    const specs: MaskedFrameSpec[] = [];
    for (let i = 0; i < n; i++) {
      specs.push({
        opcode: i === 0 ? Opcode.text : Opcode.continuation,
        payload: "x",
        fin: i === n - 1,
      });
    }
    return frames(...specs);
  };
  const ok = recorder({ maxMessageBytes: 1 << 20, maxFragments: 4 });
  ok.reader.push(spec(4));
  assert.deepEqual(ok.events, [["text", "xxxx"]]);

  const over = recorder({ maxMessageBytes: 1 << 20, maxFragments: 4 });
  over.reader.push(spec(5));
  assert.deepEqual(over.events, [["fail", Close.tooBig, "message in more than 4 fragments"]]);

  // The default is 1024, empty fragments included.
  const empties = (n: number) => {
    const specs: MaskedFrameSpec[] = [];
    for (let i = 0; i < n; i++) {
      specs.push({ opcode: i === 0 ? Opcode.binary : Opcode.continuation, fin: i === n - 1 });
    }
    return frames(...specs);
  };
  const atDefault = recorder({ maxMessageBytes: 10 });
  atDefault.reader.push(empties(1024));
  assert.deepEqual(atDefault.events, [["binary", []]]);
  const overDefault = recorder({ maxMessageBytes: 10 });
  overDefault.reader.push(empties(1025));
  assert.equal(failCode(overDefault.events), Close.tooBig);
});

// --- protocol rules --------------------------------------------------------------------------------

Deno.test("FrameReader: protocol violations fail 1002 and stop the reader", () => {
  const cases: [string, Uint8Array, string][] = [
    ["unmasked", maskedFrame({ opcode: Opcode.text, payload: "hi", mask: null }), "masked"],
    ["RSV1", maskedFrame({ opcode: Opcode.text, payload: "hi", rsv: 0x40 }), "reserved bits"],
    ["RSV2", maskedFrame({ opcode: Opcode.text, payload: "hi", rsv: 0x20 }), "reserved bits"],
    ["RSV3", maskedFrame({ opcode: Opcode.text, payload: "hi", rsv: 0x10 }), "reserved bits"],
    ["fragmented ping", maskedFrame({ opcode: Opcode.ping, fin: false }), "fragmented"],
    ["fragmented close", maskedFrame({ opcode: Opcode.close, fin: false }), "fragmented"],
    ["ping of 126 bytes", maskedFrame({ opcode: Opcode.ping, announce: 126 }), "125"],
    ["close of 126 bytes", maskedFrame({ opcode: Opcode.close, announce: 126 }), "125"],
    [
      "pong, 64-bit",
      maskedFrame({ opcode: Opcode.pong, announce: 2 ** 40, lengthForm: 64 }),
      "125",
    ],
    ["lone continuation", maskedFrame({ opcode: Opcode.continuation, payload: "x" }), "continue"],
    [
      "text inside a fragmented message",
      frames(
        { opcode: Opcode.text, payload: "a", fin: false },
        { opcode: Opcode.text, payload: "b" },
      ),
      "previous one",
    ],
    [
      "binary inside a fragmented text",
      frames(
        { opcode: Opcode.text, payload: "a", fin: false },
        { opcode: Opcode.binary, payload: "b" },
      ),
      "previous one",
    ],
  ];
  for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    cases.push([`opcode ${opcode}`, maskedFrame({ opcode }), `reserved opcode ${opcode}`]);
  }
  for (const [name, bytes, reason] of cases) {
    const { reader, events } = recorder({ maxMessageBytes: 1000 });
    reader.push(bytes);
    assert.equal(events.length, 1, `${name}: one event`);
    assert.equal(events[0][0], "fail", name);
    assert.equal(events[0][1], Close.protocolError, name);
    assert.match(events[0][2] as string, new RegExp(reason), name);
    assert.equal(reader.held, 0, name);
    reader.push(maskedFrame({ opcode: Opcode.text, payload: "after" }));
    assert.equal(events.length, 1, `${name}: nothing read after the failure`);
  }
});

Deno.test("FrameReader: an unmasked frame is refused at once, even with no mask bytes to come", () => {
  for (
    const [name, bytes] of [
      ["empty text", [0x81, 0x00]],
      ["1-byte binary", [0x82, 0x01, 0xff]],
      ["3-byte text", [0x81, 0x03, 0x61, 0x62, 0x63]],
      ["16-bit length, header only", [0x82, 0x7e, 0x01, 0x00]],
      ["empty ping", [0x89, 0x00]],
    ] as const
  ) {
    const { reader, events } = recorder({ maxMessageBytes: 1000 });
    reader.push(new Uint8Array(bytes));
    assert.deepEqual(
      events,
      [["fail", Close.protocolError, "client frames must be masked"]],
      name,
    );
  }
  // The same with the header pushed byte by byte.
  const { reader, events } = recorder({ maxMessageBytes: 1000 });
  reader.push(new Uint8Array([0x81]));
  assert.deepEqual(events, []);
  reader.push(new Uint8Array([0x00]));
  assert.deepEqual(events, [["fail", Close.protocolError, "client frames must be masked"]]);
});

Deno.test("FrameReader: control frames may come between fragments and up to 125 bytes", () => {
  const { reader, events } = recorder({ maxMessageBytes: 1000 });
  reader.push(frames(
    { opcode: Opcode.binary, payload: new Uint8Array([1, 2]), fin: false },
    { opcode: Opcode.ping, payload: filled(125, 7) },
    { opcode: Opcode.pong },
    { opcode: Opcode.continuation, payload: new Uint8Array([3]) },
  ));
  assert.deepEqual(events, [["ping", [...filled(125, 7)]], ["pong"], ["binary", [1, 2, 3]]]);
});

// --- UTF-8 ----------------------------------------------------------------------------------------

Deno.test("FrameReader: a character split across fragments is joined before decoding", () => {
  const euro = enc.encode("€"); // e2 82 ac
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  reader.push(frames(
    { opcode: Opcode.text, payload: new Uint8Array([0x41, euro[0]]), fin: false },
    { opcode: Opcode.continuation, payload: euro.subarray(1, 2), fin: false },
    { opcode: Opcode.continuation, payload: new Uint8Array([euro[2], 0x42]) },
  ));
  assert.deepEqual(events, [["text", "A€B"]]);
});

Deno.test("FrameReader: invalid UTF-8 fails 1007, also split across fragments", () => {
  const invalid: [string, MaskedFrameSpec[]][] = [
    ["lone 0xff", [{ opcode: Opcode.text, payload: new Uint8Array([0x61, 0xff]) }]],
    // The bad byte first, ASCII after it: the whole payload decides, not its last byte.
    ["0xff, then ASCII", [{ opcode: Opcode.text, payload: new Uint8Array([0xff, 0x61, 0x62]) }]],
    ["overlong NUL", [{ opcode: Opcode.text, payload: new Uint8Array([0xc0, 0x80]) }]],
    ["UTF-16 surrogate", [{ opcode: Opcode.text, payload: new Uint8Array([0xed, 0xa0, 0x80]) }]],
    ["past U+10FFFF", [{ opcode: Opcode.text, payload: new Uint8Array([0xf4, 0x90, 0x80, 0x80]) }]],
    ["cut at the end", [{ opcode: Opcode.text, payload: new Uint8Array([0x61, 0xe2, 0x82]) }]],
    [
      "lead byte, then ASCII in the next fragment",
      [
        { opcode: Opcode.text, payload: new Uint8Array([0x61, 0xe2]), fin: false },
        { opcode: Opcode.continuation, payload: new Uint8Array([0x41, 0x42]) },
      ],
    ],
    [
      "a character's bytes cut short across three fragments",
      [
        { opcode: Opcode.text, payload: new Uint8Array([0xf0]), fin: false },
        { opcode: Opcode.continuation, payload: new Uint8Array([0x9f]), fin: false },
        { opcode: Opcode.continuation, payload: new Uint8Array([0x98]) },
      ],
    ],
  ];
  for (const [name, specs] of invalid) {
    const budget: InboundBudget = { held: 0, max: 1000 };
    const { reader, events } = recorder({ maxMessageBytes: 100, inbound: budget });
    reader.push(frames(...specs));
    assert.deepEqual(
      events,
      [["fail", Close.invalidData, "text message is not valid UTF-8"]],
      name,
    );
    assert.equal(budget.held, 0, `${name}: budget released`);
  }
  // The same bytes in a binary message are fine.
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  reader.push(maskedFrame({ opcode: Opcode.binary, payload: new Uint8Array([0xff, 0xc0, 0x80]) }));
  assert.deepEqual(events, [["binary", [0xff, 0xc0, 0x80]]]);
});

Deno.test("FrameReader: invalid UTF-8 fails on the fragment that makes it so, before the message ends (Autobahn 6.4.1, 6.4.2)", () => {
  const budget: InboundBudget = { held: 0, max: 1000 };
  const { reader, events } = recorder({ maxMessageBytes: 100, inbound: budget });
  reader.push(maskedFrame({ opcode: Opcode.text, payload: "κόσμε", fin: false }));
  assert.deepEqual(events, [], "a valid first fragment waits for the rest");
  // U+110000 in UTF-8's pattern: 0xf4 0x90 is already impossible.
  reader.push(maskedFrame({
    opcode: Opcode.continuation,
    payload: new Uint8Array([0xf4, 0x90, 0x80, 0x80]),
    fin: false,
  }));
  assert.deepEqual(events, [["fail", Close.invalidData, "text message is not valid UTF-8"]]);
  assert.equal(budget.held, 0, "released at once");
  reader.push(maskedFrame({ opcode: Opcode.continuation, payload: "edited" }));
  assert.equal(events.length, 1, "nothing read after the failure");
});

Deno.test("FrameReader: invalid UTF-8 in one frame fails on the read that brings the bad byte (Autobahn 6.4.3, 6.4.4)", () => {
  const payload = new Uint8Array([
    ...enc.encode("κόσμε"),
    0xf4,
    0x90,
    0x80,
    0x80,
    ...enc.encode("edited"),
  ]);
  const frame = maskedFrame({ opcode: Opcode.text, payload });
  const bad = frame.length - payload.length + enc.encode("κόσμε").length + 1; // the 0x90
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  for (let i = 0; i < frame.length; i++) {
    reader.push(frame.subarray(i, i + 1));
    if (i < bad) assert.deepEqual(events, [], `nothing before byte ${i}`);
    else {
      assert.deepEqual(events, [["fail", Close.invalidData, "text message is not valid UTF-8"]]);
    }
  }
  // In three reads: the second one, which holds the bad byte, fails it.
  const three = recorder({ maxMessageBytes: 100 });
  three.reader.push(frame.subarray(0, bad - 1));
  assert.deepEqual(three.events, []);
  three.reader.push(frame.subarray(bad - 1, bad + 3));
  assert.equal(failCode(three.events), Close.invalidData);
});

Deno.test("FrameReader: a text message cut anywhere, in reads or fragments, decodes the same", () => {
  const text = "a€𝄞ß\u{10ffff}z";
  const bytes = enc.encode(text);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const frame = maskedFrame({ opcode: Opcode.text, payload: bytes });
    const head = frame.length - bytes.length;
    const reads = recorder({ maxMessageBytes: 100 });
    reads.reader.push(frame.subarray(0, head + cut));
    reads.reader.push(frame.subarray(head + cut));
    assert.deepEqual(reads.events, [["text", text]], `one frame cut at payload byte ${cut}`);
    const fragments = recorder({ maxMessageBytes: 100 });
    fragments.reader.push(frames(
      { opcode: Opcode.text, payload: bytes.subarray(0, cut), fin: false },
      { opcode: Opcode.continuation, payload: bytes.subarray(cut) },
    ));
    assert.deepEqual(fragments.events, [["text", text]], `two fragments cut at byte ${cut}`);
  }
  // The decoder is ready for the next message after one that came in pieces.
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  reader.push(frames(
    { opcode: Opcode.text, payload: new Uint8Array([0xe2, 0x82]), fin: false },
    { opcode: Opcode.continuation, payload: new Uint8Array([0xac]) },
    { opcode: Opcode.text, payload: new Uint8Array([0xe2]), fin: false },
    { opcode: Opcode.continuation, payload: new Uint8Array([0x82, 0xac]) },
  ));
  assert.deepEqual(events, [["text", "€"], ["text", "€"]]);
});

Deno.test("FrameReader: whole text messages in one read, around the shared scratch's 16 KiB, decode and fail alike", () => {
  const { reader, events } = recorder({ maxMessageBytes: 64 * 1024 });
  const sizes = [1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 3];
  // Several whole messages in one read: each text is its own string, not a view of the scratch.
  reader.push(
    frames(...sizes.map((n, i) => ({ opcode: Opcode.text, payload: filled(n, 0x61 + i) }))),
  );
  assert.deepEqual(
    events.map((e) => [e[0], (e[1] as string).length, (e[1] as string)[0]]),
    sizes.map((n, i) => ["text", n, String.fromCharCode(0x61 + i)]),
  );
  for (const n of [16 * 1024, 16 * 1024 + 1]) {
    const bad = filled(n);
    bad[n - 1] = 0xff;
    const one = recorder({ maxMessageBytes: 64 * 1024 });
    one.reader.push(maskedFrame({ opcode: Opcode.text, payload: bad }));
    assert.equal(failCode(one.events), Close.invalidData, `invalid UTF-8 in ${n} bytes`);
  }
});

Deno.test("FrameReader: a leading U+FEFF is part of the text, not a BOM to strip", () => {
  const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
  const text = new Uint8Array([...bom, ...enc.encode("hi")]);
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  reader.push(maskedFrame({ opcode: Opcode.text, payload: text })); // whole in one read
  reader.push(frames(
    { opcode: Opcode.text, payload: bom.subarray(0, 2), fin: false }, // in pieces
    { opcode: Opcode.continuation, payload: text.subarray(2) },
  ));
  reader.push(maskedFrame({ opcode: Opcode.close, payload: closeBody(1000, text) }));
  assert.deepEqual(events, [
    ["text", "\ufeffhi"],
    ["text", "\ufeffhi"],
    ["close", 1000, "\ufeffhi"],
  ]);
});

Deno.test("FrameReader: a handler's own error goes to the caller, not taken for invalid UTF-8", () => {
  for (const opcode of [Opcode.text, Opcode.binary]) {
    const fails: number[] = [];
    const reader = new FrameReader({ maxMessageBytes: 100 }, {
      text: () => {
        throw new Error("the text handler broke");
      },
      binary: () => {
        throw new Error("the binary handler broke");
      },
      ping: () => {},
      pong: () => {},
      close: () => {},
      fail: (code) => fails.push(code),
    });
    const kind = opcode === Opcode.text ? "text" : "binary";
    const message = frames(
      { opcode, payload: "a", fin: false },
      { opcode: Opcode.continuation, payload: "b" },
    );
    assert.throws(() => reader.push(message), new RegExp(`the ${kind} handler broke`));
    assert.deepEqual(fails, [], kind);
  }
});

// --- close frames -----------------------------------------------------------------------------------

Deno.test("FrameReader: valid close codes are handed on with the reason", () => {
  const valid = [
    1000,
    1001,
    1002,
    1003,
    1007,
    1008,
    1009,
    1010,
    1011,
    1012,
    1013,
    1014,
    3000,
    3999,
    4000,
    4999,
  ];
  for (const code of valid) {
    const { reader, events } = recorder({ maxMessageBytes: 100 });
    reader.push(maskedFrame({ opcode: Opcode.close, payload: closeBody(code, "bye é") }));
    assert.deepEqual(events, [["close", code, "bye é"]], `code ${code}`);
  }
});

Deno.test("FrameReader: invalid close codes fail 1002", () => {
  const invalid = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
  for (const code of invalid) {
    const { reader, events } = recorder({ maxMessageBytes: 100 });
    reader.push(maskedFrame({ opcode: Opcode.close, payload: closeBody(code) }));
    assert.deepEqual(events, [["fail", Close.protocolError, `invalid close code ${code}`]]);
  }
});

Deno.test("FrameReader: empty close, 1-byte close, invalid UTF-8 reason, 123-byte reason", () => {
  const empty = recorder({ maxMessageBytes: 100 });
  empty.reader.push(maskedFrame({ opcode: Opcode.close }));
  assert.deepEqual(empty.events, [["close", null, ""]]);

  const one = recorder({ maxMessageBytes: 100 });
  one.reader.push(maskedFrame({ opcode: Opcode.close, payload: new Uint8Array([3]) }));
  assert.equal(failCode(one.events), Close.protocolError);

  const badReason = recorder({ maxMessageBytes: 100 });
  badReason.reader.push(
    maskedFrame({ opcode: Opcode.close, payload: closeBody(1000, new Uint8Array([0xff])) }),
  );
  assert.deepEqual(badReason.events, [[
    "fail",
    Close.invalidData,
    "close reason is not valid UTF-8",
  ]]);

  const longest = recorder({ maxMessageBytes: 100 });
  longest.reader.push(
    maskedFrame({ opcode: Opcode.close, payload: closeBody(1000, "r".repeat(123)) }),
  );
  assert.deepEqual(longest.events, [["close", 1000, "r".repeat(123)]]);
});

Deno.test("FrameReader: nothing after a close frame is read", () => {
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  reader.push(frames(
    { opcode: Opcode.text, payload: "before" },
    { opcode: Opcode.close, payload: closeBody(1000) },
    { opcode: Opcode.text, payload: "after" },
  ));
  reader.push(maskedFrame({ opcode: Opcode.text, payload: "later" }));
  assert.deepEqual(events, [["text", "before"], ["close", 1000, ""]]);
});

// --- the shared inbound budget ---------------------------------------------------------------------

Deno.test("FrameReader: the budget counts bytes as they arrive and falls when the message completes", () => {
  const budget: InboundBudget = { held: 0, max: 1000 };
  const { reader, events } = recorder({ maxMessageBytes: 1000, inbound: budget });
  const bytes = maskedFrame({ opcode: Opcode.binary, payload: filled(600) });
  reader.push(bytes.subarray(0, 8)); // the header alone announces 600 bytes
  assert.equal(budget.held, 0, "an announced size reserves nothing");
  reader.push(bytes.subarray(8, 8 + 100));
  assert.equal(budget.held, 100);
  assert.equal(reader.held, 100);
  reader.push(bytes.subarray(8 + 100));
  assert.equal(events.length, 1);
  assert.equal(budget.held, 0);
  assert.equal(reader.held, 0);
});

Deno.test("FrameReader: the budget holds a fragmented message until its last fragment", () => {
  const budget: InboundBudget = { held: 0, max: 1000 };
  const { reader, events } = recorder({ maxMessageBytes: 1000, inbound: budget });
  reader.push(maskedFrame({ opcode: Opcode.text, payload: filled(300), fin: false }));
  assert.equal(budget.held, 300);
  reader.push(maskedFrame({ opcode: Opcode.ping, payload: filled(50) }));
  assert.equal(budget.held, 300, "control frames are not counted");
  reader.push(maskedFrame({ opcode: Opcode.continuation, payload: filled(200), fin: false }));
  assert.equal(budget.held, 500);
  reader.push(maskedFrame({ opcode: Opcode.continuation, payload: filled(10) }));
  assert.equal(budget.held, 0);
  assert.equal(events.at(-1)![0], "text");
});

Deno.test("FrameReader: readers share the budget: exactly full passes; past it the largest holder is closed 1013", () => {
  const budget: InboundBudget = { held: 0, max: 1000 };
  const a = recorder({ maxMessageBytes: 1000, inbound: budget });
  const b = recorder({ maxMessageBytes: 1000, inbound: budget });
  const c = recorder({ maxMessageBytes: 1000, inbound: budget });
  const part = (n: number) =>
    maskedFrame({ opcode: Opcode.binary, payload: filled(n), fin: false });
  a.reader.push(part(600));
  b.reader.push(part(400)); // 1000: exactly full
  assert.equal(budget.held, 1000);
  assert.deepEqual([a.events, b.events], [[], []]);
  c.reader.push(part(10)); // one more byte than the budget: the largest holder goes, not c
  assert.deepEqual(a.events, [[
    "fail",
    Close.busy,
    "server busy: too much incoming data; retry later",
  ]]);
  assert.deepEqual([b.events, c.events], [[], []], "the smaller holders and the newcomer stay");
  assert.equal(budget.held, 410);
  assert.equal(a.reader.held, 0);
  // Empty frames need nothing from the budget.
  const d = recorder({ maxMessageBytes: 1000, inbound: budget });
  d.reader.push(maskedFrame({ opcode: Opcode.text }));
  assert.deepEqual(d.events, [["text", ""]]);
  // A newcomer that is itself the largest holder is the one closed.
  const e = recorder({ maxMessageBytes: 1000, inbound: budget });
  e.reader.push(part(700));
  assert.equal(failCode(e.events), Close.busy);
  assert.deepEqual([b.events, c.events], [[], []]);
  assert.equal(budget.held, 410);
});

Deno.test("FrameReader: a whole text message is counted against the budget: exactly full passes, one byte over reclaims", () => {
  const budget: InboundBudget = { held: 0, max: 1000 };
  const a = recorder({ maxMessageBytes: 1000, inbound: budget });
  a.reader.push(maskedFrame({ opcode: Opcode.binary, payload: filled(600), fin: false }));
  const b = recorder({ maxMessageBytes: 1000, inbound: budget });
  b.reader.push(maskedFrame({ opcode: Opcode.text, payload: "x".repeat(400) }));
  assert.deepEqual(b.events, [["text", "x".repeat(400)]], "600 + 400 fits exactly");
  assert.deepEqual(a.events, [], "the holder stays");
  assert.equal(budget.held, 600, "the whole message is counted out at once");
  assert.equal(b.reader.held, 0);
  const c = recorder({ maxMessageBytes: 1000, inbound: budget });
  c.reader.push(maskedFrame({ opcode: Opcode.text, payload: "y".repeat(401) }));
  assert.equal(failCode(a.events), Close.busy, "one byte over: the largest holder is closed");
  assert.deepEqual(c.events, [["text", "y".repeat(401)]], "and the message is read");
  assert.equal(budget.held, 0);
  assert.equal(budget.holders?.size ?? 0, 0, "nobody is left holding");
});

Deno.test("FrameReader: headers announcing large frames cannot silence other senders", () => {
  const budget: InboundBudget = { held: 0, max: 1000 };
  const attackers = Array.from(
    { length: 20 },
    () => recorder({ maxMessageBytes: 1000, inbound: budget }),
  );
  for (const a of attackers) a.reader.push(maskedFrame({ opcode: Opcode.binary, announce: 900 }));
  assert.equal(budget.held, 0);
  const honest = recorder({ maxMessageBytes: 1000, inbound: budget });
  honest.reader.push(maskedFrame({ opcode: Opcode.text, payload: "x".repeat(800) }));
  assert.deepEqual(honest.events, [["text", "x".repeat(800)]]);
});

Deno.test("FrameReader: the budget falls back to 0 when a message fails or the reader stops", () => {
  const budget: InboundBudget = { held: 0, max: 10_000 };
  // Failure mid-message (a new text frame inside a fragmented one).
  const failed = recorder({ maxMessageBytes: 5000, inbound: budget });
  failed.reader.push(maskedFrame({ opcode: Opcode.text, payload: filled(700), fin: false }));
  assert.equal(budget.held, 700);
  failed.reader.push(maskedFrame({ opcode: Opcode.text, payload: "x" }));
  assert.equal(failCode(failed.events), Close.protocolError);
  assert.equal(budget.held, 0);

  // The cap hit on a later fragment's header.
  const big = recorder({ maxMessageBytes: 1000, inbound: budget });
  big.reader.push(maskedFrame({ opcode: Opcode.binary, payload: filled(900), fin: false }));
  big.reader.push(maskedFrame({ opcode: Opcode.continuation, announce: 101 }));
  assert.equal(failCode(big.events), Close.tooBig);
  assert.equal(budget.held, 0);

  // stop() in the middle of a frame's payload.
  const stopped = recorder({ maxMessageBytes: 5000, inbound: budget });
  stopped.reader.push(maskedFrame({ opcode: Opcode.binary, payload: filled(300), fin: false }));
  stopped.reader.push(
    maskedFrame({ opcode: Opcode.continuation, payload: filled(400) }).subarray(0, 20),
  );
  assert.equal(budget.held, 300 + 12, "the first fragment and the 12 bytes of the second");
  stopped.reader.stop();
  assert.equal(budget.held, 0);
  assert.equal(stopped.reader.held, 0);
  stopped.reader.stop(); // twice is harmless
  assert.equal(budget.held, 0);
  stopped.reader.push(filled(400));
  assert.deepEqual(stopped.events, []);
});

Deno.test("FrameReader: a close frame in the middle of a fragmented message releases the budget", () => {
  const budget: InboundBudget = { held: 0, max: 10_000 };
  const { reader, events } = recorder({ maxMessageBytes: 5000, inbound: budget });
  reader.push(maskedFrame({ opcode: Opcode.text, payload: filled(800), fin: false }));
  assert.equal(budget.held, 800);
  reader.push(maskedFrame({ opcode: Opcode.close, payload: closeBody(1000) }));
  assert.deepEqual(events, [["close", 1000, ""]]);
  assert.equal(budget.held, 0, "nothing after a close frame is read: what is held is freed");
  assert.equal(reader.held, 0);
});

// --- property: chunking does not matter ------------------------------------------------------------

/** One message of the generated stream: its kind, its bytes cut into fragments, and pings. */
type GenMessage = {
  binary: boolean;
  payload: Uint8Array;
  cuts: number[];
  pingAfterFirst: Uint8Array | null;
  mask: number[];
};

const maskArb = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
const messageArb: fc.Arbitrary<GenMessage> = fc.oneof(
  fc.record({
    binary: fc.constant(false),
    payload: fc.string({ unit: "binary", maxLength: 40 }).map((s) => enc.encode(s)),
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    pingAfterFirst: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }),
    mask: maskArb,
  }),
  fc.record({
    binary: fc.constant(true),
    payload: fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ minLength: 126, maxLength: 400 }),
    ),
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    pingAfterFirst: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }),
    mask: maskArb,
  }),
);

function encodeMessages(messages: GenMessage[]): { bytes: Uint8Array; expected: Event[] } {
  const specs: MaskedFrameSpec[] = [];
  const expected: Event[] = [];
  for (const m of messages) {
    const points = [...new Set(m.cuts.map((c) => c % (m.payload.length + 1)))].sort((a, b) =>
      a - b
    );
    const bounds = [0, ...points.filter((p) => p > 0 && p < m.payload.length), m.payload.length];
    for (let i = 1; i < bounds.length; i++) {
      specs.push({
        opcode: i === 1 ? (m.binary ? Opcode.binary : Opcode.text) : Opcode.continuation,
        payload: m.payload.subarray(bounds[i - 1], bounds[i]),
        fin: i === bounds.length - 1,
        mask: m.mask,
      });
      // The ping comes between the first two fragments, or after a message in one frame.
      if (m.pingAfterFirst !== null && i === 1 && bounds.length > 2) {
        specs.push({ opcode: Opcode.ping, payload: m.pingAfterFirst, mask: m.mask.toReversed() });
        expected.push(["ping", [...m.pingAfterFirst]]);
      }
    }
    expected.push(
      m.binary ? ["binary", [...m.payload]] : ["text", new TextDecoder().decode(m.payload)],
    );
    if (m.pingAfterFirst !== null && bounds.length === 2) {
      specs.push({ opcode: Opcode.ping, payload: m.pingAfterFirst, mask: m.mask.toReversed() });
      expected.push(["ping", [...m.pingAfterFirst]]);
    }
  }
  return { bytes: frames(...specs), expected };
}

Deno.test("FrameReader property: a whole text frame of any bytes is its strict UTF-8 decoding, or fails 1007", () => {
  // Mostly ASCII (decoded without the strict check) with high bytes anywhere: the reader must
  // tell the two apart over the whole payload.
  const byte = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 0x7f }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  );
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 300 }), (values) => {
      const payload = new Uint8Array(values);
      let want: unknown[];
      try {
        want = [["text", strict.decode(payload)]];
      } catch {
        want = [["fail", Close.invalidData, "text message is not valid UTF-8"]];
      }
      const { reader, events } = recorder({ maxMessageBytes: 1000 });
      reader.push(maskedFrame({ opcode: Opcode.text, payload }));
      assert.deepEqual(events, want);
    }),
    { numRuns: 2000 },
  );
  // A BOM is not ASCII: kept as the message's first character (U+FEFF), as the strict decoder does.
  const { reader, events } = recorder({ maxMessageBytes: 100 });
  reader.push(
    maskedFrame({ opcode: Opcode.text, payload: new Uint8Array([0xef, 0xbb, 0xbf, 0x61]) }),
  );
  assert.deepEqual(events, [["text", "\ufeffa"]]);
});

Deno.test("FrameReader property: a frame split at every byte position parses the same", () => {
  fc.assert(
    fc.property(messageArb, (message) => {
      const { bytes, expected } = encodeMessages([message]);
      for (let k = 0; k <= bytes.length; k++) {
        const { reader, events } = recorder({ maxMessageBytes: 1000 });
        reader.push(bytes.subarray(0, k));
        reader.push(bytes.subarray(k));
        assert.deepEqual(events, expected, `split at byte ${k} of ${bytes.length}`);
        assert.equal(reader.held, 0);
      }
    }),
    { numRuns: 150 },
  );
});

Deno.test("FrameReader property: any chunking of a stream of messages gives the same events", () => {
  fc.assert(
    fc.property(
      fc.array(messageArb, { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (messages, rawCuts) => {
        const { bytes, expected } = encodeMessages(messages);
        const budget: InboundBudget = { held: 0, max: 1 << 20 };
        const { reader, events } = recorder({ maxMessageBytes: 1000, inbound: budget });
        const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const cut of [...cuts, bytes.length]) {
          reader.push(bytes.subarray(from, cut));
          from = cut;
        }
        assert.deepEqual(events, expected);
        assert.equal(budget.held, 0, "everything complete: nothing held");
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("FrameReader: readers interleaved mid-frame keep their own mask, header and control payload", () => {
  // Idle readers hold no buffer: whole headers are read in place, the mask key is a number, and a
  // control payload that arrives whole is unmasked into scratch shared by every reader. Cutting
  // one reader's frames anywhere while another reads whole frames in between must not mix them.
  const ping = Array.from({ length: 125 }, (_, i) => (i * 7) & 0xff);
  const a = frames(
    { opcode: Opcode.ping, payload: new Uint8Array(ping), mask: [1, 2, 3, 4] },
    { opcode: Opcode.text, payload: "x".repeat(300), mask: [5, 6, 7, 8] },
    { opcode: Opcode.close, payload: closeBody(1000, "bye"), mask: [9, 10, 11, 12] },
  );
  const b = frames(
    { opcode: Opcode.ping, payload: new Uint8Array([9, 9, 9]), mask: [200, 201, 202, 203] },
    { opcode: Opcode.text, payload: "other", mask: [13, 14, 15, 16] },
  );
  const expectedA: Event[] = [["ping", ping], ["text", "x".repeat(300)], ["close", 1000, "bye"]];
  const expectedB: Event[] = [["ping", [9, 9, 9]], ["text", "other"]];
  for (let cut = 1; cut < a.length; cut++) {
    const ra = recorder({ maxMessageBytes: 1024 });
    const rb = recorder({ maxMessageBytes: 1024 });
    ra.reader.push(a.subarray(0, cut));
    rb.reader.push(b);
    ra.reader.push(a.subarray(cut));
    assert.deepEqual(ra.events, expectedA, `a cut at ${cut}`);
    assert.deepEqual(rb.events, expectedB, `b between the halves of a cut at ${cut}`);
  }
});

Deno.test("text frames written in place (ASCII) or encoded (other text) are the same bytes as encode-then-frame", () => {
  const reference = (text: string) => encodeFrame(Opcode.text, new TextEncoder().encode(text));
  const concat = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) (out.set(p, at), at += p.length);
    return out;
  };
  // ASCII mostly, sometimes a character past it (accents, emoji, a lone surrogate), at any place,
  // in texts shorter and longer than the loop's 256 characters, up to a 16-bit length.
  const text = fc.oneof(
    fc.string({ unit: "binary-ascii", maxLength: 300 }),
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.tuple(
      fc.string({ unit: "binary-ascii", maxLength: 600 }),
      fc.constantFrom("é", "😀", "\ud800", "\u0080"),
    )
      .map(([a, b]) => a + b),
    fc.nat(70_000).map((n) => "x".repeat(n)),
  );
  fc.assert(
    fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), (texts) => {
      for (const t of texts) assert.deepEqual(encodeTextFrame(t), reference(t));
      const frames = texts.map(reference);
      assert.deepEqual(encodeTextFramesAt(texts).bytes, concat(frames));
      assert.deepEqual(encodeTextFrames(texts), concat(frames));
      const joined = new TextEncoder().encode(texts.join("\n"));
      assert.deepEqual(encodeTextPieces(texts), encodeFrame(Opcode.text, joined));
      assert.deepEqual(joinTextFrames([...texts, frames[0]]), concat([...frames, frames[0]]));
    }),
    { numRuns: 150 },
  );
});
