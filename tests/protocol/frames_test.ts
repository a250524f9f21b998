import assert from "node:assert/strict";
import { messageText, parseClientFrame, parsePlainFrame } from "../../lib/protocol/frames.ts";
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
