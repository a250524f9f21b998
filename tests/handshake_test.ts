import assert from "node:assert/strict";
import { originAllowed, parseHandshake } from "../lib/handshake.ts";

const parse = (query: string) => parseHandshake(new URL(`ws://h/ws?${query}`));
const reason = (query: string) => {
  const r = parse(query);
  return r.ok ? null : r.reason;
};

Deno.test("parseHandshake defaults to the lobby and no resume", () => {
  assert.deepEqual(parse(""), {
    ok: true,
    value: { room: "lobby", name: null, key: null, resume: null },
  });
});

Deno.test("parseHandshake reads every parameter", () => {
  assert.deepEqual(parse("room=dev-1&name=%20Ann%20&client=abcdefgh&since=12&epoch=e1"), {
    ok: true,
    value: { room: "dev-1", name: "Ann", key: "abcdefgh", resume: { since: 12, epoch: "e1" } },
  });
});

Deno.test("parseHandshake checks room names at the boundary", () => {
  assert.equal(reason(`room=${"a".repeat(64)}`), null);
  assert.match(reason(`room=${"a".repeat(65)}`)!, /room must be 1-64/);
  assert.match(reason("room=")!, /room/);
  assert.match(reason("room=Upper")!, /got "Upper"/);
  assert.match(reason("room=a%20b")!, /room/);
});

Deno.test("parseHandshake checks names: length after trimming, no control or bidi characters", () => {
  assert.equal(reason(`name=${"n".repeat(32)}`), null);
  assert.equal(
    reason(`name=${encodeURIComponent("😀".repeat(32))}`),
    null,
    "32 characters, not 32 UTF-16 units",
  );
  assert.match(reason(`name=${"n".repeat(33)}`)!, /1-32 characters after trimming, got 33/);
  assert.match(reason("name=%20%20")!, /got 0/);
  assert.match(reason("name=a%07b")!, /control or bidi/);
  assert.match(reason("name=a%E2%80%AEb")!, /control or bidi/);
  assert.match(reason("name=a%E2%81%A6b")!, /control or bidi/);
});

Deno.test("parseHandshake checks client ids and resume parameters", () => {
  assert.equal(reason("client=abcdefgh"), null);
  assert.match(reason("client=abcdefg")!, /client must be 8-64/);
  assert.match(reason(`client=${"x".repeat(65)}`)!, /client/);
  assert.match(reason("since=3")!, /together/);
  assert.match(reason("epoch=e")!, /together/);
  assert.match(reason("since=-1&epoch=e")!, /since must be a non-negative integer/);
  assert.match(reason("since=1.5&epoch=e")!, /since/);
  assert.match(reason("since=1&epoch=a%20b")!, /epoch/);
  assert.equal(reason("since=0&epoch=e"), null);
});

Deno.test("originAllowed: no Origin, same origin, allowlist, wildcard", () => {
  assert.equal(originAllowed(null, "a.test", []), true);
  assert.equal(originAllowed("http://a.test", "a.test", []), true);
  assert.equal(originAllowed("http://a.test:81", "a.test", []), false);
  assert.equal(originAllowed("http://evil.test", "a.test", []), false);
  assert.equal(originAllowed("http://b.test", "a.test", ["http://b.test"]), true);
  assert.equal(originAllowed("http://a.test", "a.test", ["http://b.test"]), false);
  assert.equal(originAllowed("http://any.test", "a.test", ["*"]), true);
  assert.equal(originAllowed("null", "a.test", []), false);
});
