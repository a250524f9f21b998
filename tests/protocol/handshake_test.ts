import assert from "node:assert/strict";
import fc from "fast-check";
import {
  originAllowed,
  type OriginPolicy,
  parseHandshake,
  rebindingProofHost,
} from "../../lib/protocol/handshake.ts";

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

Deno.test("parseHandshake reads a URL string's query as URLSearchParams does (with or without anything to decode)", () => {
  const piece = fc.constantFrom(
    ..."abc019-_.~é#'\"<>/\\=?%+&".split(""),
    "%20",
    "%41",
    "%zz",
    "%e9",
    "%C3%A9",
    "a",
    "1",
  );
  const name = fc.constantFrom(
    "room",
    "name",
    "client",
    "since",
    "epoch",
    "roo",
    "",
    "Room",
    "ro%6Fm",
    "na+me",
  );
  const field = fc.tuple(name, fc.boolean(), fc.array(piece, { maxLength: 12 }))
    .map(([n, eq, v]) => eq ? `${n}=${v.join("")}` : n);
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(field, { maxLength: 6 }), fc.constantFrom("&", "&&"), (fields, sep) => {
      const url = new URL(`http://h/ws?${fields.join(sep)}`);
      const fromString = parseHandshake(url.href);
      assert.deepEqual(fromString, parseHandshake(url), url.href);
      if (!fromString.ok) return;
      accepted++;
      // What the handshake read is what URLSearchParams reads (the name trimmed).
      const v = fromString.value;
      const q = url.searchParams;
      assert.equal(v.room, q.get("room") ?? "lobby", url.href);
      assert.equal(v.name, q.get("name")?.trim() ?? null, url.href);
      assert.equal(v.key, q.get("client"), url.href);
      assert.equal(v.resume?.epoch ?? null, q.get("epoch"), url.href);
    }),
    { numRuns: 3000, seed: 24 },
  );
  assert.ok(accepted > 500, `only ${accepted} queries were valid handshakes`);
  // A fragment is not part of the query.
  assert.deepEqual(parseHandshake("http://h/ws?room=a#room=b"), parse("room=a"));
  assert.deepEqual(parseHandshake("http://h/ws"), parse(""));
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

const NONE = { publicOrigins: [], allowedOrigins: [] };
const allowed = (origin: string | null, host: string | null, policy: OriginPolicy = NONE) =>
  originAllowed(origin, host, policy);

Deno.test("originAllowed without PUBLIC_URL nor ALLOWED_ORIGINS: http + Host, on localhost or an IP literal only", () => {
  assert.equal(allowed(null, "evil.test:8000"), true, "no Origin: not a browser, always allowed");
  assert.equal(allowed(null, null), true);
  assert.equal(allowed("http://localhost:8000", "localhost:8000"), true);
  assert.equal(allowed("http://localhost", "localhost"), true);
  assert.equal(allowed("http://app.localhost:8000", "app.localhost:8000"), true);
  assert.equal(allowed("http://127.0.0.1:8000", "127.0.0.1:8000"), true);
  assert.equal(allowed("http://10.0.0.5:8000", "10.0.0.5:8000"), true, "a LAN address");
  assert.equal(allowed("http://[::1]:8000", "[::1]:8000"), true);
  // DNS rebinding: the attacker's name resolves to this server, so Host and Origin agree.
  assert.equal(allowed("http://evil.test:8000", "evil.test:8000"), false);
  assert.equal(allowed("http://chat.example.com", "chat.example.com"), false, "needs PUBLIC_URL");
  assert.equal(allowed("http://localhost.evil.test", "localhost.evil.test"), false);
  assert.equal(allowed("http://127.0.0.1.nip.io", "127.0.0.1.nip.io"), false);
  assert.equal(allowed("https://127.0.0.1:8000", "127.0.0.1:8000"), false, "https to http");
  assert.equal(allowed("http://127.0.0.1:8001", "127.0.0.1:8000"), false, "another port");
  assert.equal(allowed("http://127.0.0.1", "127.0.0.1:8000"), false);
  assert.equal(allowed("http://localhost:8000", "127.0.0.1:8000"), false, "another host");
  assert.equal(allowed("http://127.0.0.1:8000", null), false, "no Host");
  assert.equal(allowed("null", "127.0.0.1:8000"), false);
  assert.equal(allowed("http://LOCALHOST:8000", "LOCALHOST:8000"), false, "not canonical");
  assert.equal(allowed("http://a@127.0.0.1", "a@127.0.0.1"), false, "user info");
});

Deno.test("originAllowed with PUBLIC_URL and ALLOWED_ORIGINS: exactly those origins, or any with *", () => {
  const pub = { publicOrigins: ["https://chat.example.com"], allowedOrigins: [] };
  assert.equal(allowed("https://chat.example.com", "10.0.0.5:8000", pub), true, "behind a proxy");
  assert.equal(allowed("http://chat.example.com", "chat.example.com", pub), false, "scheme");
  assert.equal(allowed("https://chat.example.com:8443", "x", pub), false, "port");
  assert.equal(allowed("https://evil.test", "evil.test", pub), false);
  assert.equal(allowed("http://127.0.0.1:8000", "127.0.0.1:8000", pub), false, "no fallback");
  assert.equal(allowed("null", "chat.example.com", pub), false);
  assert.equal(allowed(null, "chat.example.com", pub), true);

  const both = { publicOrigins: ["https://chat.example.com"], allowedOrigins: ["http://b.test"] };
  assert.equal(allowed("http://b.test", "chat.example.com", both), true);
  assert.equal(allowed("https://chat.example.com", "chat.example.com", both), true);
  assert.equal(allowed("http://c.test", "chat.example.com", both), false);

  const listed = { publicOrigins: [], allowedOrigins: ["http://b.test"] };
  assert.equal(allowed("http://b.test", "a.test", listed), true);
  assert.equal(allowed("http://a.test", "a.test", listed), false);
  const any = { publicOrigins: [], allowedOrigins: ["*"] };
  assert.equal(allowed("http://evil.test:8000", "evil.test:8000", any), true);
  assert.equal(allowed("null", "a.test", any), true);
});

Deno.test("rebindingProofHost: localhost names and IP literals, canonical, with or without a port", () => {
  for (
    const host of ["localhost", "localhost:1", "x.y.localhost", "0.0.0.0", "[::1]", "[fe80::1]:9"]
  ) {
    assert.equal(rebindingProofHost(host), true, host);
  }
  for (const host of ["evil.test", "localhost.", "1.2.3.4.evil", "::1", "[::1", "a/b", "", "a b"]) {
    assert.equal(rebindingProofHost(host), false, host);
  }
});
