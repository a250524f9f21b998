/**
 * Request heads and body framing: the request line and header grammar (tokens, folded lines,
 * bare CR or LF, control characters, the whitespace trimmed), the size and header-count caps at
 * their boundaries, the early refusal of bytes that cannot become a request (a TLS ClientHello),
 * and framing that could be read two ways (conflicting Content-Length, TE with CL, unknown codings).
 */

import assert from "node:assert/strict";
import {
  bodyFraming,
  headEnd,
  MAX_HEADER_COUNT,
  parseRequestHead,
} from "../../lib/transport/http_head.ts";

/** Latin-1 bytes of `text` (each character one byte, as on the wire). */
function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function parse(text: string, maxBytes = 16384) {
  const b = bytes(text);
  return parseRequestHead(b, b.length, maxBytes);
}

function head(text: string) {
  const result = parse(text);
  if (result === null || !result.ok) {
    assert.fail(`expected a head, got ${JSON.stringify(result)} for ${JSON.stringify(text)}`);
  }
  return result.head;
}

function refusal(text: string, maxBytes = 16384) {
  const result = parse(text, maxBytes);
  if (result === null || result.ok) {
    assert.fail(`expected a refusal, got ${JSON.stringify(result)} for ${JSON.stringify(text)}`);
  }
  return result.error;
}

// --- headEnd ----------------------------------------------------------------------------------

Deno.test("headEnd: the index past the first CRLF CRLF, within [from, end)", () => {
  const b = bytes("GET / HTTP/1.1\r\nA: b\r\n\r\nbody\r\n\r\n");
  assert.equal(headEnd(b, 0, b.length), 24);
  assert.equal(headEnd(b, 20, b.length), 24, "resumed 3 bytes before where a search ended (23)");
  assert.equal(headEnd(b, 21, b.length), 32, "from past the first one, the next one");
  assert.equal(headEnd(b, 0, 23), -1, "the end cuts the terminator");
  assert.equal(headEnd(b, 0, 24), 24, "the terminator's last byte is the last one searched");
  assert.equal(headEnd(b, -5, b.length), 24);
  assert.equal(headEnd(bytes("GET / HTTP/1.1\n\n"), 0, 16), -1, "bare LF LF is no head end");
  assert.equal(headEnd(bytes("\r\n\r"), 0, 3), -1);
});

// --- the request line ----------------------------------------------------------------------------

Deno.test("parseRequestHead: a simple request, names lower-cased, values trimmed", () => {
  const text = "GET /ws?room=a HTTP/1.1\r\nHost: example.test\r\nX-Thing: \t spaced out \t\r\n" +
    "Empty:\r\nValue-Colon: a:b:c\r\n\r\n";
  assert.deepEqual(head(text), {
    method: "GET",
    target: "/ws?room=a",
    version: "1.1",
    headers: [["host", "example.test"], ["x-thing", "spaced out"], ["empty", ""], [
      "value-colon",
      "a:b:c",
    ]],
    size: text.length,
  });
  assert.equal(head("POST /x HTTP/1.0\r\n\r\n").version, "1.0");
  assert.deepEqual(head("OPTIONS * HTTP/1.1\r\n\r\n").target, "*");
  assert.deepEqual(head("GET http://a.test/x?y HTTP/1.1\r\n\r\n").target, "http://a.test/x?y");
});

Deno.test("parseRequestHead: size is the head only; bytes after it are left alone", () => {
  const text = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET";
  const h = head(text);
  assert.equal(h.size, text.length - 6);
});

Deno.test("parseRequestHead: null while the head is incomplete, at every prefix", () => {
  const text = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  for (let n = 0; n < text.length; n++) {
    const b = bytes(text.slice(0, n));
    assert.equal(parseRequestHead(b, b.length, 16384), null, `prefix of ${n} bytes`);
  }
  assert.equal(head(text).size, text.length);
});

Deno.test("parseRequestHead: searchFrom resumes the search with the same result", () => {
  const text = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  const b = bytes(text);
  const early = bytes(text.slice(0, 20));
  assert.equal(parseRequestHead(early, early.length, 16384), null);
  assert.deepEqual(
    parseRequestHead(b, b.length, 16384, early.length - 3),
    parseRequestHead(b, b.length, 16384),
  );
});

Deno.test("parseRequestHead: the end argument bounds what is parsed", () => {
  const b = bytes("GET /a HTTP/1.1\r\n\r\n" + "\0".repeat(10));
  assert.equal(parseRequestHead(b, 10, 16384), null);
  const result = parseRequestHead(b, 19, 16384);
  assert.ok(result?.ok);
});

Deno.test("parseRequestHead: malformed request lines are refused 400", () => {
  const cases: [string, RegExp][] = [
    ["GET /\r\n\r\n", /request line/],
    ["GET\r\n\r\n", /request line/],
    ["\r\n\r\n", /request line/],
    [" GET / HTTP/1.1\r\n\r\n", /request line/],
    ["GET  / HTTP/1.1\r\n\r\n", /target/],
    ["GET /a b HTTP/1.1\r\n\r\n", /target/],
    ["GET / HTTP/1.1 \r\n\r\n", /target|request line/],
    ["G(T / HTTP/1.1\r\n\r\n", /method/],
    ["GÉT / HTTP/1.1\r\n\r\n", /not an HTTP request|method/],
    ["GET /\x01 HTTP/1.1\r\n\r\n", /target/],
    ["GET /\x7f HTTP/1.1\r\n\r\n", /target/],
    ["GET / http/1.1\r\n\r\n", /request line/],
    ["GET / FOO/1.1\r\n\r\n", /request line/],
    ["GET / HTTP/1.1\nHost: a\r\n\r\n", /target|request line/],
  ];
  for (const [text, reason] of cases) {
    const error = refusal(text);
    assert.equal(error.status, 400, JSON.stringify(text));
    assert.match(error.reason, reason, JSON.stringify(text));
  }
});

Deno.test("parseRequestHead: other HTTP versions are refused 505", () => {
  for (const version of ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/1", "HTTP/"]) {
    const error = refusal(`GET / ${version}\r\n\r\n`);
    assert.equal(error.status, 505, version);
    assert.equal(error.reason, `unsupported protocol ${version}`);
  }
  // The version shown in the reason is cut.
  assert.equal(refusal(`GET / HTTP/${"9".repeat(100)}\r\n\r\n`).reason.length, 21 + 16);
});

// --- header lines ----------------------------------------------------------------------------------

Deno.test("parseRequestHead: malformed header lines are refused 400", () => {
  const cases: [string, RegExp][] = [
    ["NoColon", /malformed header line/],
    [": value", /malformed header line/],
    ["Host : a", /malformed header name "Host "/],
    ["Ho(st: a", /malformed header name/],
    ["Hö: a", /malformed header name/],
    [" folded: a", /folded/],
    ["\tfolded: a", /folded/],
    ["X: a\x01b", /control character in header x/],
    ["X: a\0", /control character/],
    ["X: \x7f", /control character/],
    ["X: a\rb", /bare CR or LF/],
    ["X: a\nY: b", /bare CR or LF/],
    ["X: a\r", /bare CR or LF/],
  ];
  for (const [line, reason] of cases) {
    const text = `GET / HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`;
    const error = refusal(text);
    assert.equal(error.status, 400, JSON.stringify(line));
    assert.match(error.reason, reason, JSON.stringify(line));
  }
});

Deno.test("parseRequestHead: a continuation line after a header (obs-fold) is refused", () => {
  const error = refusal("GET / HTTP/1.1\r\nX-Long: part one\r\n  part two\r\n\r\n");
  assert.deepEqual(error, { status: 400, reason: "folded header lines are not accepted" });
});

Deno.test("parseRequestHead: every tchar is accepted in names; tabs and obs-text in values", () => {
  const name = "!#$%&'*+-.^_`|~09AZaz";
  const h = head(`GET / HTTP/1.1\r\n${name}: a\tb \xe9\xff\r\n\r\n`);
  assert.deepEqual(h.headers, [[name.toLowerCase(), "a\tb \xe9\xff"]]);
});

Deno.test("parseRequestHead: only spaces and tabs are trimmed around a value", () => {
  // Vertical tab and form feed are control characters, wherever they are.
  for (const c of ["\x0b", "\x0c"]) {
    for (const value of [`5${c}`, `${c}5`]) {
      const error = refusal(`POST / HTTP/1.1\r\nContent-Length: ${value}\r\n\r\n`);
      assert.equal(error.status, 400, JSON.stringify(value));
      assert.match(error.reason, /control character in header content-length/);
    }
  }
  // A no-break space (0xA0, obs-text) is part of the value, not whitespace around it.
  const h = head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\xa0\r\nX: \xa0a\xa0\r\n\r\n");
  assert.deepEqual(h.headers, [["transfer-encoding", "chunked\xa0"], ["x", "\xa0a\xa0"]]);
  assert.equal(bodyFraming(h.headers).ok, false, "so it is not taken for chunked");
  for (const value of ["5\xa0", "\xa05", "5,\xa05"]) {
    assert.deepEqual(bodyFraming([["content-length", value]]).ok, false, JSON.stringify(value));
  }
});

// --- the caps -------------------------------------------------------------------------------------

Deno.test("parseRequestHead: a head of exactly maxBytes passes, one byte more is 431", () => {
  const base = "GET / HTTP/1.1\r\nX: \r\n\r\n";
  const exact = base.replace("X: ", "X: " + "a".repeat(1000 - base.length));
  assert.equal(exact.length, 1000);
  assert.equal(head(exact).size, 1000);
  const result = parse(exact, 1000);
  assert.ok(result?.ok, "exactly at the cap");
  const over = exact.replace("X: ", "X: a");
  assert.deepEqual(refusal(over, 1000), {
    status: 431,
    reason: "request head is larger than 1000 bytes",
  });
});

Deno.test("parseRequestHead: an incomplete head reaching maxBytes is 431 at once", () => {
  const start = "GET / HTTP/1.1\r\nX: ";
  const under = start + "a".repeat(999 - start.length);
  assert.equal(parse(under, 1000), null, "999 bytes, no end yet: wait");
  const at = start + "a".repeat(1000 - start.length);
  assert.equal(refusal(at, 1000).status, 431);
  // A head end past the cap does not count.
  const past = at + "\r\n\r\n";
  assert.equal(refusal(past, 1000).status, 431);
});

Deno.test("parseRequestHead: 100 header lines pass, 101 are 431", () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `H${i}: v\r\n`).join("");
  const ok = head(`GET / HTTP/1.1\r\n${lines(MAX_HEADER_COUNT)}\r\n`);
  assert.equal(ok.headers.length, 100);
  assert.deepEqual(refusal(`GET / HTTP/1.1\r\n${lines(MAX_HEADER_COUNT + 1)}\r\n`), {
    status: 431,
    reason: "more than 100 header lines",
  });
});

// --- early refusal --------------------------------------------------------------------------------

Deno.test("parseRequestHead: a TLS ClientHello is refused 400 from its first bytes", () => {
  // The start of a TLS 1.2 ClientHello record: handshake (0x16), version 3.1, length, type 1.
  const hello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
  for (const n of [1, 5, hello.length]) {
    const result = parseRequestHead(hello, n, 16384);
    assert.deepEqual(result, { ok: false, error: { status: 400, reason: "not an HTTP request" } });
  }
});

Deno.test("parseRequestHead: other bytes that cannot start a method are refused early", () => {
  for (const junk of ["\0\0\0", "\x80abc", "GE\x7fT", '{"json":1}', "G\tET / HTTP/1.1"]) {
    assert.deepEqual(parse(junk), {
      ok: false,
      error: { status: 400, reason: "not an HTTP request" },
    }, JSON.stringify(junk));
  }
  // A plausible start waits for more.
  for (const start of ["G", "GET", "GET ", "GET /\x01", "PROPFIND", "M-SEARCH * HTTP/1.1\r\n"]) {
    assert.equal(parse(start), null, JSON.stringify(start));
  }
});

// --- body framing -----------------------------------------------------------------------------------

Deno.test("bodyFraming: no body, a length, or chunked", () => {
  assert.deepEqual(bodyFraming([]), { ok: true, framing: { kind: "none" } });
  assert.deepEqual(bodyFraming([["host", "a"]]), { ok: true, framing: { kind: "none" } });
  assert.deepEqual(bodyFraming([["content-length", "0"]]), { ok: true, framing: { kind: "none" } });
  assert.deepEqual(bodyFraming([["content-length", "5"]]), {
    ok: true,
    framing: { kind: "length", length: 5 },
  });
  assert.deepEqual(bodyFraming([["content-length", "007"]]), {
    ok: true,
    framing: { kind: "length", length: 7 },
  });
  assert.deepEqual(bodyFraming([["content-length", "999999999999999"]]), {
    ok: true,
    framing: { kind: "length", length: 999999999999999 },
  });
  for (const te of ["chunked", "Chunked", "CHUNKED"]) {
    assert.deepEqual(bodyFraming([["transfer-encoding", te]]), {
      ok: true,
      framing: { kind: "chunked" },
    });
  }
});

Deno.test("bodyFraming: repeated equal lengths are one length", () => {
  const five = { ok: true, framing: { kind: "length", length: 5 } };
  assert.deepEqual(bodyFraming([["content-length", "5, 5"]]), five);
  assert.deepEqual(bodyFraming([["content-length", "5"], ["content-length", "5"]]), five);
  assert.deepEqual(bodyFraming([["content-length", "5,5"], ["content-length", " 5"]]), five);
});

Deno.test("bodyFraming: conflicting lengths are 400", () => {
  for (
    const headers of [
      [["content-length", "5"], ["content-length", "6"]],
      [["content-length", "5, 6"]],
      [["content-length", "5,"]],
      [["content-length", "5,,5"]],
      [["content-length", "0"], ["content-length", "00"]],
    ] as [string, string][][]
  ) {
    assert.deepEqual(bodyFraming(headers), {
      ok: false,
      error: { status: 400, reason: "conflicting content-length headers" },
    }, JSON.stringify(headers));
  }
});

Deno.test("bodyFraming: malformed lengths are 400", () => {
  for (
    const value of ["", "abc", "-1", "+5", "0x10", "1e3", "5.0", " ", "1 2", "1234567890123456"]
  ) {
    assert.deepEqual(bodyFraming([["content-length", value]]), {
      ok: false,
      error: { status: 400, reason: "malformed content-length" },
    }, JSON.stringify(value));
  }
});

Deno.test("bodyFraming: Transfer-Encoding with Content-Length is 400, whatever the order", () => {
  for (
    const headers of [
      [["transfer-encoding", "chunked"], ["content-length", "5"]],
      [["content-length", "5"], ["transfer-encoding", "chunked"]],
      [["content-length", "0"], ["transfer-encoding", "chunked"]],
      [["content-length", "5"], ["transfer-encoding", "gzip"]],
    ] as [string, string][][]
  ) {
    assert.deepEqual(bodyFraming(headers), {
      ok: false,
      error: { status: 400, reason: "both transfer-encoding and content-length" },
    }, JSON.stringify(headers));
  }
});

Deno.test("bodyFraming: several Transfer-Encoding headers are 400", () => {
  assert.deepEqual(
    bodyFraming([["transfer-encoding", "chunked"], ["transfer-encoding", "chunked"]]),
    { ok: false, error: { status: 400, reason: "several transfer-encoding headers" } },
  );
});

Deno.test("bodyFraming: a coding other than exactly chunked is 501", () => {
  for (const te of ["gzip", "identity", "gzip, chunked", "chunked, chunked", "chunked;q=1", ""]) {
    assert.deepEqual(bodyFraming([["transfer-encoding", te]]), {
      ok: false,
      error: { status: 501, reason: `unsupported transfer-encoding ${te}` },
    }, JSON.stringify(te));
  }
  const long = "x".repeat(100);
  const result = bodyFraming([["transfer-encoding", long]]);
  assert.ok(!result.ok);
  assert.equal(result.error.reason, `unsupported transfer-encoding ${"x".repeat(40)}`);
});
