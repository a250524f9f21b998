import assert from "node:assert/strict";
import fc from "fast-check";
import {
  MAX_REF_LENGTH,
  messageText,
  parseClientFrame,
  parseJsonFrame,
  parsePlainFrame,
  plainMessageFrame,
} from "../../lib/protocol/frames.ts";
import { exceedsBytes, utf8Length } from "../../lib/shared/text_size.ts";

function errorCode(data: string): string | undefined {
  const r = parseClientFrame(data);
  return r.ok ? undefined : r.error.code;
}

Deno.test("parseClientFrame accepts messages and pings", () => {
  assert.deepEqual(parseClientFrame('{"type":"message","text":"hi","ref":"r1"}'), {
    ok: true,
    frame: { type: "message", text: "hi", ref: "r1" },
  });
  assert.deepEqual(parseClientFrame('{"type":"message","text":" x "}'), {
    ok: true,
    frame: { type: "message", text: " x " },
  });
  assert.deepEqual(parseClientFrame('{"type":"ping","t":12.5}'), {
    ok: true,
    frame: { type: "ping", t: 12.5 },
  });
  assert.deepEqual(parseClientFrame('{"type":"ping"}'), {
    ok: true,
    frame: { type: "ping", t: null },
  });
});

Deno.test("parseClientFrame gives a specific error for each kind of bad frame", () => {
  assert.equal(errorCode("{nope"), "invalid_json");
  assert.equal(errorCode(""), "invalid_json");
  assert.equal(errorCode("[1,2]"), "invalid_message");
  assert.equal(errorCode("null"), "invalid_message");
  assert.equal(errorCode('"text"'), "invalid_message");
  assert.equal(errorCode('{"type":"shout","text":"x"}'), "unknown_type");
  assert.equal(errorCode('{"text":"x"}'), "unknown_type");
  assert.equal(errorCode('{"type":"message","text":5}'), "invalid_message");
  assert.equal(errorCode('{"type":"message"}'), "invalid_message");
  assert.equal(errorCode('{"type":"message","text":"  \\n\\t "}'), "empty_message");
  assert.equal(errorCode('{"type":"message","text":"x","ref":7}'), "invalid_message");
  assert.equal(
    errorCode(`{"type":"message","text":"x","ref":"${"r".repeat(129)}"}`),
    "invalid_message",
  );
  assert.equal(errorCode('{"type":"ping","t":"soon"}'), "invalid_message");
});

Deno.test("parseClientFrame keeps the ref on errors so the client can match them", () => {
  const r = parseClientFrame('{"type":"message","text":"   ","ref":"abc"}');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.ref, "abc");
    assert.match(r.error.message, /empty/);
  }
});

Deno.test("parseClientFrame survives deeply nested JSON", () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assert.equal(errorCode(deep), "invalid_message");
});

Deno.test("parsePlainFrame takes the whole text and rejects blank text", () => {
  assert.deepEqual(parsePlainFrame('{"type":"x"}'), {
    ok: true,
    frame: { type: "message", text: '{"type":"x"}' },
  });
  const blank = parsePlainFrame(" \n ");
  assert.equal(blank.ok ? "" : blank.error.code, "empty_message");
});

Deno.test("exceedsBytes counts UTF-8 bytes at the boundary", () => {
  assert.equal(exceedsBytes("a".repeat(100), 100), false);
  assert.equal(exceedsBytes("a".repeat(101), 100), true);
  assert.equal(utf8Length("é"), 2);
  assert.equal(exceedsBytes("é".repeat(50), 100), false);
  assert.equal(exceedsBytes("é".repeat(50) + "a", 100), true);
  assert.equal(exceedsBytes("😀".repeat(25), 100), false);
  assert.equal(exceedsBytes("😀".repeat(26), 100), true);
});

Deno.test("parseClientFrame: data of every JSON type, with or without text", () => {
  for (const data of [{ a: 1 }, [1, "x"], "s", 3.5, true, null]) {
    const r = parseClientFrame(JSON.stringify({ type: "message", data, ref: "d" }));
    assert.deepEqual(r, { ok: true, frame: { type: "message", data, ref: "d" } });
  }
  assert.deepEqual(parseClientFrame('{"type":"message","text":"t","data":{"k":[1]}}'), {
    ok: true,
    frame: { type: "message", text: "t", data: { k: [1] } },
  });
});

Deno.test("parseClientFrame: neither text nor data, or data too deep, are refused", () => {
  const none = parseClientFrame('{"type":"message","ref":"n"}');
  assert.deepEqual(none, {
    ok: false,
    error: { code: "invalid_message", message: 'a message needs "text" or "data"', ref: "n" },
  });
  const deep = `{"type":"message","data":${"[".repeat(5)}${"]".repeat(5)}}`;
  assert.equal(parseClientFrame(deep, 5).ok, true);
  const over = parseClientFrame(deep, 4);
  assert.equal(!over.ok && over.error.code, "too_deep");
  assert.match(!over.ok ? over.error.message : "", /deeper than 4 levels/);
});

Deno.test("messageText: the text, else the compact JSON of data", () => {
  assert.equal(messageText({ text: "hi", data: 1 }), "hi");
  assert.equal(messageText({ data: { a: [1, 2] } }), '{"a":[1,2]}');
  assert.equal(messageText({ data: null }), "null");
});

Deno.test("plainMessageFrame reads FanoutClient's message frame as JSON.parse would, and nothing else", () => {
  // Strings of printable ASCII (the fast path's), with now and then what it must leave to the
  // general parser: quote, backslash, controls, DEL, C1, non-ASCII, surrogates.
  const char = fc.oneof(
    { weight: 30, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(0x22, 0x5c, 0x00, 0x09, 0x0a, 0x1f, 0x7f, 0x85, 0xe9, 0xd83d),
    },
  ).map((c) => String.fromCharCode(c));
  const str = (max: number) => fc.array(char, { maxLength: max }).map((cs) => cs.join(""));
  // The frame as the client writes it, or bent: spaces, another order, another member, an end.
  const frame = fc.tuple(
    str(80),
    str(MAX_REF_LENGTH + 4),
    fc.constantFrom("exact", "spaced", "reordered", "room", "trailing", "raw"),
  ).map(([text, ref, shape]) => {
    const t = JSON.stringify(text), r = JSON.stringify(ref);
    switch (shape) {
      case "exact":
        return `{"type":"message","text":${t},"ref":${r}}`;
      case "spaced":
        return `{"type": "message","text":${t},"ref":${r}}`;
      case "reordered":
        return `{"type":"message","ref":${r},"text":${t}}`;
      case "room":
        return `{"type":"message","text":${t},"ref":${r},"room":"a"}`;
      case "trailing":
        return `{"type":"message","text":${t},"ref":${r}}\n`;
      default: // the strings unescaped: JSON only when they need no escape
        return `{"type":"message","text":"${text}","ref":"${ref}"}`;
    }
  });
  let taken = 0;
  fc.assert(
    fc.property(frame, (data) => {
      const fast = plainMessageFrame(data);
      if (fast === null) return;
      taken++;
      assert.deepEqual(fast, parseJsonFrame(data));
      assert.deepEqual(parseClientFrame(data), fast);
    }),
    { numRuns: 3000 },
  );
  assert.ok(taken > 300, `the fast path read ${taken} of 3000 frames`);
  // Taken exactly where it should be: a plain text and ref, in the client's own shape.
  const ok = plainMessageFrame(`{"type":"message","text":"hi there","ref":"${"r".repeat(128)}"}`);
  assert.deepEqual(ok, {
    ok: true,
    frame: { type: "message", text: "hi there", ref: "r".repeat(128) },
  });
  for (
    const data of [
      '{"type":"message","text":"   ","ref":"r1"}', // blank: the general parser's error
      '{"type":"message","text":"","ref":"r1"}',
      '{"type":"message","text":"hi","ref":""}',
      `{"type":"message","text":"hi","ref":"${"r".repeat(129)}"}`,
      '{"type":"message","text":"h\\u00e9","ref":"r1"}',
      '{"type":"message","text":"hi"}', // no ref
      '{"type":"message","text":"hi","ref":"r1"} ',
    ]
  ) assert.equal(plainMessageFrame(data), null, data);
});
