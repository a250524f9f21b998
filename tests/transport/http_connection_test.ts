/**
 * One HTTP/1.1 connection over a fake connection and manual timers: keep-alive and pipelining,
 * HTTP/1.0 and `Connection: close`, the request timeout (slow-loris) and the keep-alive timeout,
 * bodies (Content-Length, chunked with extensions and trailers, the size cap, 100-continue),
 * HEAD, the Host header, the handler throwing, response writing, and the WebSocket upgrade.
 */

import assert from "node:assert/strict";
import {
  type ConnectionInfo,
  type FetchHandler,
  type HttpLimits,
  refuseConnection,
  servedHere,
  serveHttpConnection,
  upgradeWebSocket,
  type WebSocketRoute,
} from "../../lib/transport/http_connection.ts";
import type { HandshakeRequest } from "../../lib/shared/handshake_request.ts";
import fc from "fast-check";
import type { ServerWebSocket } from "../../lib/transport/server_web_socket.ts";
import { FakeConn, tick, until } from "../helpers/fake_conn.ts";
import { ManualTimers } from "../helpers/manual_timers.ts";
import { closeBody, maskedFrame, serverFrames } from "../helpers/masked_frames.ts";
import { Opcode } from "../../lib/transport/ws_frames.ts";

const LIMITS: HttpLimits = {
  maxHeadBytes: 4096,
  maxBodyBytes: 1000,
  requestTimeoutMs: 5000,
  keepAliveTimeoutMs: 3000,
  maxWsMessageBytes: 1000,
  wsCloseTimeoutMs: 2000,
  inbound: { held: 0, max: 1 << 20 },
};
const INFO: ConnectionInfo = {
  remoteAddr: { transport: "tcp", hostname: "192.0.2.7", port: 51000 },
};
const ORIGIN = "http://127.0.0.1:8000";

interface Seen {
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
  info: ConnectionInfo;
}

/** A handler that records each request and answers `ok <path>`. */
function echo(seen: Seen[]): FetchHandler {
  return async (req, info) => {
    const body = req.body === null ? "" : await req.text();
    seen.push({ method: req.method, url: req.url, headers: [...req.headers], body, info });
    return new Response(`ok ${new URL(req.url).pathname}`);
  };
}

function start(
  handler: FetchHandler,
  limits: Partial<HttpLimits> = {},
  webSocketRoute?: WebSocketRoute,
) {
  const timers = new ManualTimers();
  const conn = new FakeConn();
  const sockets: ServerWebSocket[] = [];
  const errors: unknown[] = [];
  const state = { draining: false, done: false };
  // Done when the connection ended, or, once upgraded, when its socket is done.
  const ended = Promise.withResolvers<void>();
  const outcome = serveHttpConnection(conn, INFO, {
    handler,
    webSocketRoute,
    origin: ORIGIN,
    limits: { ...LIMITS, ...limits },
    draining: () => state.draining,
    onWebSocket: (on, socket) => {
      assert.equal(on, conn, "told which connection upgraded");
      sockets.push(socket);
    },
    onWebSocketEnd: (on, socket) => {
      assert.equal(on, conn, "told which connection is done");
      assert.equal(socket.readyState, 3, "the socket is closed when its connection is done");
      ended.resolve();
    },
    onError: (err) => errors.push(err),
    now: timers.now,
    timers: timers,
  });
  const done = outcome.then(async (result) => {
    if (result === "upgraded") await ended.promise;
    state.done = true;
  });
  return { timers, conn, sockets, errors, state, done };
}

interface ParsedResponse {
  status: number;
  headers: [string, string][];
  body: string;
  get(name: string): string | undefined;
}

/** Splits what the server wrote into responses; bodies by Content-Length (none for `bodiless`). */
function responses(text: string, bodiless: number[] = []): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) throw new Error(`incomplete response head: ${JSON.stringify(text.slice(at))}`);
    const lines = text.slice(at, end).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    assert.match(lines[0], /^HTTP\/1\.1 \d{3} \S/);
    const headers = lines.slice(1).map((l) => {
      const colon = l.indexOf(": ");
      return [l.slice(0, colon), l.slice(colon + 2)] as [string, string];
    });
    const get = (name: string) => headers.find(([n]) => n === name)?.[1];
    at = end + 4;
    let body = "";
    const length = get("content-length");
    if (length !== undefined && !bodiless.includes(out.length)) {
      body = text.slice(at, at + Number(length));
      at += Number(length);
    }
    out.push({ status, headers, body, get });
  }
  return out;
}

const GET = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: example.test\r\n${extra}\r\n`;

// --- requests and keep-alive ---------------------------------------------------------------------

Deno.test("serveHttpConnection: a request reaches the handler as a Request with the peer's info", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  t.conn.feed("GET /healthz?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nX-Thing: a\r\n\r\n");
  await until(() => t.conn.text().includes("ok /healthz"), "the response");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].method, "GET");
  assert.equal(seen[0].url, "http://example.test:8080/healthz?x=1");
  assert.deepEqual(seen[0].headers, [["host", "example.test:8080"], ["x-thing", "a"]]);
  assert.deepEqual(seen[0].info, INFO);
  const [res] = responses(t.conn.text());
  assert.equal(res.status, 200);
  assert.equal(res.body, "ok /healthz");
  assert.equal(res.get("content-length"), "11");
  assert.equal(res.get("content-type"), "text/plain;charset=UTF-8");
  assert.match(res.get("date")!, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
  assert.equal(res.get("connection"), undefined, "kept alive");
  assert.equal(t.conn.closed, false);
});

Deno.test("serveHttpConnection: keep-alive across several requests on one connection", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  for (const path of ["/a", "/b", "/c"]) {
    t.conn.feed(GET(path));
    await until(() => t.conn.text().includes(`ok ${path}`), path);
  }
  assert.deepEqual(responses(t.conn.text()).map((r) => [r.status, r.body]), [
    [200, "ok /a"],
    [200, "ok /b"],
    [200, "ok /c"],
  ]);
  assert.equal(t.conn.closed, false);
  t.conn.end();
  await t.done;
  assert.equal(t.conn.closed, true, "closed at the end of the stream");
  assert.equal(t.timers.pending, 0, "no timer left");
});

Deno.test("serveHttpConnection: pipelined requests in one read are answered in order", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  t.conn.feed(
    GET("/one") + "POST /two HTTP/1.1\r\nHost: example.test\r\nContent-Length: 3\r\n\r\nabc" +
      GET("/three"),
  );
  await until(() => seen.length === 3 && t.conn.text().includes("ok /three"), "three responses");
  assert.deepEqual(seen.map((s) => [s.method, s.body]), [["GET", ""], ["POST", "abc"], [
    "GET",
    "",
  ]]);
  assert.deepEqual(responses(t.conn.text()).map((r) => r.body), [
    "ok /one",
    "ok /two",
    "ok /three",
  ]);
});

Deno.test("serveHttpConnection: HTTP/1.0 closes after the response unless it asks for keep-alive", async () => {
  const t = start(echo([]));
  t.conn.feed("GET /old HTTP/1.0\r\n\r\n");
  await t.done;
  const [res] = responses(t.conn.text());
  assert.equal(res.get("connection"), "close");
  assert.equal(res.body, "ok /old");
  assert.equal(t.conn.closed, true);

  const k = start(echo([]));
  k.conn.feed("GET /old HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  await until(() => k.conn.text().includes("ok /old"), "the response");
  assert.equal(responses(k.conn.text())[0].get("connection"), undefined);
  assert.equal(k.conn.closed, false);
});

Deno.test("serveHttpConnection: Connection: close is honoured, also in a list", async () => {
  for (const value of ["close", "Close", "keep-alive, close", "close ,foo"]) {
    const seen: Seen[] = [];
    const t = start(echo(seen));
    t.conn.feed(GET("/x", `Connection: ${value}\r\n`) + GET("/never"));
    await t.done;
    const all = responses(t.conn.text());
    assert.equal(all.length, 1, value);
    assert.equal(all[0].get("connection"), "close", value);
    assert.equal(seen.length, 1, `${value}: the pipelined request after it is not served`);
    assert.equal(t.conn.closed, true);
  }
  // "closed" is not "close".
  const t = start(echo([]));
  t.conn.feed(GET("/x", "Connection: closed\r\n"));
  await until(() => t.conn.text().includes("ok /x"), "the response");
  assert.equal(t.conn.closed, false);
});

Deno.test("serveHttpConnection: the end of the stream between requests closes quietly", async () => {
  const t = start(echo([]));
  t.conn.end();
  await t.done;
  assert.equal(t.conn.writes.length, 0);
  assert.equal(t.conn.closed, true);
});

Deno.test("serveHttpConnection: the end of the stream inside a head is a 400", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  t.conn.feed("GET / HTTP/1.1\r\nHost: a");
  t.conn.end();
  await t.done;
  const [res] = responses(t.conn.text());
  assert.equal(res.status, 400);
  assert.equal(res.body, "connection closed in the middle of a request\n");
  assert.equal(seen.length, 0);
});

Deno.test("serveHttpConnection: a read error ends the connection without a response", async () => {
  const t = start(echo([]));
  t.conn.feed("GET / HT");
  await tick();
  t.conn.failRead();
  await t.done;
  assert.equal(t.conn.writes.length, 0);
  assert.equal(t.conn.closed, true);
});

// --- timeouts ------------------------------------------------------------------------------------

Deno.test("serveHttpConnection: slow-loris: a head dripping in is cut at the request timeout", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen), { requestTimeoutMs: 5000 });
  const drip = "GET / HTTP/1.1\r\nX-Slow: " + "a".repeat(100);
  let i = 0;
  t.conn.feed(drip[i++]);
  await tick();
  // A byte every 100 ms keeps coming, but the head must be complete 5000 ms after its first.
  for (; t.timers.time < 4900; i++) {
    t.timers.advance(100);
    t.conn.feed(drip[i]);
    await tick();
  }
  assert.equal(t.conn.closed, false, "4900 ms after the first byte");
  t.timers.advance(99);
  assert.equal(t.conn.closed, false);
  t.timers.advance(1);
  assert.equal(t.conn.closed, true, "cut at 5000 ms");
  await t.done;
  assert.equal(seen.length, 0);
  assert.equal(t.conn.writes.length, 0, "nothing is written to a timed-out connection");
});

Deno.test("serveHttpConnection: a connection that sends nothing is closed at the request timeout", async () => {
  const t = start(echo([]), { requestTimeoutMs: 5000, keepAliveTimeoutMs: 60_000 });
  t.timers.advance(4999);
  assert.equal(t.conn.closed, false);
  t.timers.advance(1);
  assert.equal(t.conn.closed, true);
  await t.done;
});

Deno.test("serveHttpConnection: a slow body is cut at the request timeout too", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen), { requestTimeoutMs: 5000 });
  t.conn.feed("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345");
  await tick();
  t.timers.advance(5000);
  await t.done;
  assert.equal(t.conn.closed, true);
  assert.equal(seen.length, 0);
});

Deno.test("serveHttpConnection: an idle keep-alive connection is closed at the keep-alive timeout", async () => {
  const t = start(echo([]), { requestTimeoutMs: 5000, keepAliveTimeoutMs: 3000 });
  t.conn.feed(GET("/a"));
  await until(() => t.conn.text().includes("ok /a"), "the response");
  assert.deepEqual(t.timers.delays(), [3000], "the keep-alive timer replaces the request timer");
  t.timers.advance(2999);
  assert.equal(t.conn.closed, false);
  t.timers.advance(1);
  assert.equal(t.conn.closed, true);
  await t.done;
});

Deno.test("serveHttpConnection: a request started while kept alive gets the request timeout", async () => {
  const t = start(echo([]), { requestTimeoutMs: 5000, keepAliveTimeoutMs: 3000 });
  t.conn.feed(GET("/a"));
  await until(() => t.conn.text().includes("ok /a"), "the response");
  t.timers.advance(2000);
  t.conn.feed("GET /b HTTP/1.1\r\n"); // the next request starts before the keep-alive timeout
  await tick();
  t.timers.advance(4999);
  assert.equal(t.conn.closed, false, "past the keep-alive timeout, within the request timeout");
  t.conn.feed("Host: example.test\r\n\r\n");
  await until(() => t.conn.text().includes("ok /b"), "the second response");
  t.timers.advance(2999);
  assert.equal(t.conn.closed, false);
  t.timers.advance(1);
  assert.equal(t.conn.closed, true);
});

Deno.test("serveHttpConnection: a pipelined request already buffered gets the request timeout", async () => {
  const gate = Promise.withResolvers<void>();
  let calls = 0;
  const t = start(async () => {
    if (calls++ === 1) await gate.promise;
    return new Response("x");
  }, { requestTimeoutMs: 5000, keepAliveTimeoutMs: 3000 });
  t.conn.feed(GET("/a") + "GET /b HTTP/1.1\r\n"); // the second head is incomplete
  await until(() => t.conn.text().includes("x"), "the first response");
  assert.deepEqual(t.timers.delays(), [5000]);
  gate.resolve();
});

// --- bodies --------------------------------------------------------------------------------------

Deno.test("serveHttpConnection: a body of exactly maxBodyBytes is read; one byte more is 413 unread", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen), { maxBodyBytes: 1000 });
  t.conn.feed(`POST /in HTTP/1.1\r\nContent-Length: 1000\r\n\r\n${"b".repeat(1000)}`);
  await until(() => seen.length === 1, "the request");
  assert.equal(seen[0].body.length, 1000);

  const over = start(echo(seen), { maxBodyBytes: 1000 });
  over.conn.feed("POST /in HTTP/1.1\r\nContent-Length: 1001\r\n\r\n");
  await over.done;
  const [res] = responses(over.conn.text());
  assert.equal(res.status, 413);
  assert.equal(res.body, "request body is larger than 1000 bytes\n");
  assert.equal(res.get("connection"), "close");
  assert.equal(over.conn.readCalls, 1, "the body is not waited for");
  assert.equal(seen.length, 1);
});

Deno.test("serveHttpConnection: a body arriving in pieces is assembled", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  t.conn.feed("PUT /p HTTP/1.1\r\nContent-Length: 11\r\n\r\nhel");
  await tick();
  t.conn.feed("lo ");
  await tick();
  t.conn.feed("world" + GET("/next"));
  await until(() => seen.length === 2, "both requests");
  assert.deepEqual(seen.map((s) => s.body), ["hello world", ""]);
});

Deno.test("serveHttpConnection: the end of the stream inside a body is a 400", async () => {
  const t = start(echo([]));
  t.conn.feed("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  t.conn.end();
  await t.done;
  assert.equal(responses(t.conn.text())[0].body, "connection closed in the middle of a body\n");
});

Deno.test("serveHttpConnection: a GET body is read (to find the next request) but not handed on", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  t.conn.feed("GET /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nGET " + GET("/b"));
  await until(() => seen.length === 2, "both requests");
  assert.deepEqual(seen.map((s) => [new URL(s.url).pathname, s.body]), [["/a", ""], ["/b", ""]]);
});

Deno.test("serveHttpConnection: Expect: 100-continue is answered before the body is sent", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  t.conn.feed("POST /up HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n");
  await until(() => t.conn.text() === "HTTP/1.1 100 Continue\r\n\r\n", "the 100");
  t.conn.feed("hello");
  await until(() => seen.length === 1, "the request");
  assert.equal(seen[0].body, "hello");
  assert.ok(t.conn.text().startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));

  // With the body already there, no 100.
  const sent = start(echo([]));
  sent.conn.feed("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
  await until(() => sent.conn.text().includes("ok /up"), "the response");
  assert.ok(sent.conn.text().startsWith("HTTP/1.1 200 OK"));

  // Too large: 413 instead of 100.
  const big = start(echo([]), { maxBodyBytes: 10 });
  big.conn.feed("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n");
  await big.done;
  assert.ok(big.conn.text().startsWith("HTTP/1.1 413 Content Too Large\r\n"));

  // Chunked: 100 first too.
  const chunked = start(echo(seen));
  chunked.conn.feed(
    "POST /c HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
  );
  await until(() => chunked.conn.text() === "HTTP/1.1 100 Continue\r\n\r\n", "the 100");
  chunked.conn.feed("2\r\nok\r\n0\r\n\r\n");
  await until(() => seen.length === 2, "the chunked request");
  assert.equal(seen[1].body, "ok");
});

Deno.test("serveHttpConnection: chunked bodies with extensions and trailers, fed byte by byte", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  const request = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "5\r\nhello\r\n6;name=value;x\r\n world\r\nA ; ext\r\n, chunked!\r\n0;last\r\n" +
    "Trailer-One: 1\r\nTrailer-Two: 2\r\n\r\n" + GET("/after");
  for (const c of request) {
    t.conn.feed(c);
    await tick();
  }
  await until(() => seen.length === 2, "both requests");
  assert.equal(seen[0].body, "hello world, chunked!");
  assert.equal(new URL(seen[1].url).pathname, "/after");
  assert.ok(!seen[0].headers.some(([n]) => n.startsWith("trailer-")), "trailers are dropped");
});

Deno.test("serveHttpConnection: chunked sizes in upper and lower case hex, leading zeros", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  const data = "z".repeat(0x1a);
  t.conn.feed(
    `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1A\r\n${data}\r\n001a\r\n${data}\r\n0\r\n\r\n`,
  );
  await until(() => seen.length === 1, "the request");
  assert.equal(seen[0].body.length, 2 * 0x1a);
});

Deno.test("serveHttpConnection: chunked bodies are capped: exactly the cap passes, one byte more is 413", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen), { maxBodyBytes: 10 });
  t.conn.feed(
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n4\r\n7890\r\n0\r\n\r\n",
  );
  await until(() => seen.length === 1, "the request");
  assert.equal(seen[0].body, "1234567890");

  const over = start(echo(seen), { maxBodyBytes: 10 });
  over.conn.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n5\r\n");
  await over.done;
  const [res] = responses(over.conn.text());
  assert.equal(res.status, 413, "refused on the size line, before the chunk's data");
  assert.equal(seen.length, 1);

  // A huge announced chunk is refused on its size alone.
  const huge = start(echo(seen), { maxBodyBytes: 10 });
  huge.conn.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n");
  await huge.done;
  assert.equal(responses(huge.conn.text())[0].status, 413);
});

Deno.test("serveHttpConnection: malformed chunked bodies are 400", async () => {
  const cases: [string, string][] = [
    ["g\r\n", "malformed chunk size"],
    ["\r\n", "malformed chunk size"],
    ["-1\r\n", "malformed chunk size"],
    ["0x5\r\n", "malformed chunk size"],
    ["+5\r\n", "malformed chunk size"],
    ["123456789\r\n", "malformed chunk size"],
    ["5\r\nhelloXX0\r\n\r\n", "malformed chunk"],
    ["5\r\nhello\n0\r\n\r\n", "malformed chunk"],
    ["1".repeat(1100), "malformed chunk size line"],
  ];
  for (const [body, reason] of cases) {
    const seen: Seen[] = [];
    const t = start(echo(seen));
    t.conn.feed(`POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    await t.done;
    const [res] = responses(t.conn.text());
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body, `${reason}\n`, JSON.stringify(body));
    assert.equal(res.get("connection"), "close");
    assert.equal(seen.length, 0);
  }
});

Deno.test("serveHttpConnection: more than 100 trailer lines are 431", async () => {
  const trailers = (n: number) => Array.from({ length: n }, (_, i) => `T${i}: v\r\n`).join("");
  const seen: Seen[] = [];
  const ok = start(echo(seen));
  ok.conn.feed(`POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${trailers(101)}\r\n`);
  await until(() => seen.length === 1, "the request with 101 trailer lines");
  const over = start(echo(seen));
  over.conn.feed(`POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${trailers(102)}\r\n`);
  await over.done;
  assert.equal(responses(over.conn.text())[0].status, 431);
});

Deno.test("serveHttpConnection: ambiguous framing is refused with the head's status", async () => {
  const cases: [string, number, string][] = [
    [
      "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
      400,
      "both transfer-encoding and content-length",
    ],
    ["Content-Length: 5\r\nContent-Length: 6\r\n", 400, "conflicting content-length headers"],
    ["Transfer-Encoding: gzip\r\n", 501, "unsupported transfer-encoding gzip"],
    ["Content-Length: -1\r\n", 400, "malformed content-length"],
  ];
  for (const [headers, status, reason] of cases) {
    const seen: Seen[] = [];
    const t = start(echo(seen));
    t.conn.feed(`POST / HTTP/1.1\r\n${headers}\r\nhello`);
    await t.done;
    const [res] = responses(t.conn.text());
    assert.equal(res.status, status, reason);
    assert.equal(res.body, `${reason}\n`);
    assert.equal(res.get("connection"), "close");
    assert.equal(seen.length, 0);
  }
});

// --- heads refused -------------------------------------------------------------------------------

Deno.test("serveHttpConnection: a bad head gets its status and reason, then the connection closes", async () => {
  const cases: [string | Uint8Array, number, string][] = [
    [new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00]), 400, "not an HTTP request"],
    ["GET / HTTP/2.0\r\n\r\n", 505, "unsupported protocol HTTP/2.0"],
    ["GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400, "folded header lines are not accepted"],
    [`GET / HTTP/1.1\r\nX: ${"a".repeat(5000)}`, 431, "request head is larger than 4096 bytes"],
    ["GET * HTTP/1.1\r\n\r\n", 400, "malformed request target"],
    ["TRACE / HTTP/1.1\r\n\r\n", 400, "malformed request:"],
  ];
  for (const [bytes, status, reason] of cases) {
    const seen: Seen[] = [];
    const t = start(echo(seen), { maxHeadBytes: 4096 });
    t.conn.feed(bytes);
    await t.done;
    const [res] = responses(t.conn.text());
    assert.equal(res.status, status, reason);
    assert.ok(res.body.startsWith(reason), `${res.body} starts with ${reason}`);
    assert.equal(res.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.get("connection"), "close");
    assert.equal(t.conn.closed, true);
    assert.equal(seen.length, 0);
  }
});

// --- responses -----------------------------------------------------------------------------------

Deno.test("serveHttpConnection: HEAD gets the head without a body", async () => {
  const seen: Seen[] = [];
  const t = start((req) => {
    seen.push({ method: req.method, url: req.url, headers: [], body: "", info: INFO });
    const headers: Record<string, string> = { "x-a": "1" };
    if (new URL(req.url).pathname === "/h") headers["content-length"] = "5";
    return new Response("hello", { headers });
  });
  t.conn.feed(
    "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n" + "HEAD /nolength HTTP/1.1\r\n\r\n" + GET("/g"),
  );
  await until(() => seen.length === 3 && t.conn.text().endsWith("hello"), "three responses");
  const all = responses(t.conn.text(), [0, 1]);
  assert.equal(all.length, 3, "no body after the HEAD responses");
  assert.equal(all[0].get("content-length"), "5");
  assert.equal(all[0].get("x-a"), "1");
  assert.equal(all[0].body, "");
  assert.equal(all[1].get("content-length"), undefined);
  assert.equal(all[2].body, "hello");
  assert.deepEqual(seen.map((s) => s.method), ["HEAD", "HEAD", "GET"]);
});

Deno.test("serveHttpConnection: 204 and 304 have neither body nor length", async () => {
  for (const status of [204, 304]) {
    const t = start(() => new Response(null, { status }));
    t.conn.feed(GET("/") + GET("/"));
    await until(() => responses(t.conn.text()).length === 2, "two responses");
    const [res] = responses(t.conn.text());
    assert.equal(res.status, status);
    assert.equal(res.get("content-length"), undefined);
  }
});

Deno.test("serveHttpConnection: the handler's framing headers are replaced; cookies kept apart; date kept", async () => {
  const t = start(() => {
    const headers = new Headers({
      "content-length": "999",
      "transfer-encoding": "chunked",
      connection: "keep-alive",
      date: "Mon, 01 Jan 2024 00:00:00 GMT",
      "x-custom": "yes",
    });
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2, c=3");
    return new Response("body", { status: 201, headers });
  });
  t.conn.feed(GET("/"));
  await until(() => t.conn.text().endsWith("body"), "the response");
  const [res] = responses(t.conn.text());
  assert.equal(res.status, 201);
  assert.ok(t.conn.text().startsWith("HTTP/1.1 201 Created\r\n"));
  assert.equal(res.get("content-length"), "4");
  assert.equal(res.get("transfer-encoding"), undefined);
  assert.equal(res.get("connection"), undefined);
  assert.equal(res.get("x-custom"), "yes");
  assert.deepEqual(res.headers.filter(([n]) => n === "date"), [[
    "date",
    "Mon, 01 Jan 2024 00:00:00 GMT",
  ]]);
  assert.deepEqual(res.headers.filter(([n]) => n === "set-cookie").map(([, v]) => v), [
    "a=1; Path=/",
    "b=2, c=3",
  ]);
});

Deno.test("serveHttpConnection: an unknown status gets a generic reason phrase", async () => {
  const t = start(() => new Response("x", { status: 418 }));
  t.conn.feed(GET("/"));
  await until(() => t.conn.text().endsWith("x"), "the response");
  assert.ok(t.conn.text().startsWith("HTTP/1.1 418 Status\r\n"));
});

Deno.test("serveHttpConnection: large responses through short writes arrive whole", async () => {
  const body = "0123456789".repeat(5000); // 50 kB: head and body written apart
  const t = start(() => new Response(body));
  t.conn.shortWrites(1000);
  t.conn.feed(GET("/big"));
  await until(() => t.conn.text().endsWith(body), "the whole body");
  const [res] = responses(t.conn.text());
  assert.equal(res.body, body);
  assert.ok(t.conn.writes.every((w) => w.length <= 1000));
});

Deno.test("serveHttpConnection: the handler throwing is a 500, reported, and the connection stays", async () => {
  let calls = 0;
  const t = start(() => {
    if (calls++ === 0) throw new Error("handler bug");
    return new Response("fine");
  });
  t.conn.feed(GET("/boom") + GET("/ok"));
  await until(() => t.conn.text().endsWith("fine"), "both responses");
  const all = responses(t.conn.text());
  assert.deepEqual(all.map((r) => [r.status, r.body]), [[500, "internal error\n"], [200, "fine"]]);
  assert.equal(t.errors.length, 1);
  assert.match(String(t.errors[0]), /handler bug/);
  assert.equal(t.conn.closed, false);

  // A rejected promise too.
  const r = start(() => Promise.reject(new Error("async bug")));
  r.conn.feed(GET("/"));
  await until(() => r.conn.text().includes("500"), "the 500");
  assert.equal(r.errors.length, 1);
});

Deno.test("serveHttpConnection: while draining, responses close their connection", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  t.state.draining = true;
  t.conn.feed(GET("/a") + GET("/b"));
  await t.done;
  const all = responses(t.conn.text());
  assert.equal(all.length, 1);
  assert.equal(all[0].get("connection"), "close");
  assert.equal(t.conn.closed, true);
});

Deno.test("serveHttpConnection: a failing write ends the connection; the promise resolves", async () => {
  const t = start(echo([]));
  t.conn.failWrites();
  t.conn.feed(GET("/"));
  await t.done;
  assert.equal(t.conn.closed, true);
  assert.equal(t.timers.pending, 0);
});

// --- the Host header ---------------------------------------------------------------------------

Deno.test("serveHttpConnection: the Host header names the URL's host when it is well-formed", async () => {
  const good = [
    "example.test",
    "example.test:8080",
    "localhost",
    "10.0.0.1:81",
    "[::1]:8000",
    "a-b.c-d",
  ];
  for (const host of good) {
    const seen: Seen[] = [];
    const t = start(echo(seen));
    t.conn.feed(`GET /p?q=1 HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    await until(() => seen.length === 1, host);
    assert.equal(seen[0].url, `http://${host}/p?q=1`, host);
  }
});

Deno.test("serveHttpConnection: a missing or malformed Host header is replaced by the origin", async () => {
  const bad = [
    null,
    "",
    "bad host",
    "a/b",
    "a@b",
    "a..b",
    "a.",
    "[::1",
    "h:port",
    "h:123456",
    "x".repeat(64),
    `${"a.".repeat(150)}a`,
  ];
  for (const host of bad) {
    const seen: Seen[] = [];
    const t = start(echo(seen));
    t.conn.feed(`GET /p HTTP/1.1\r\n${host === null ? "" : `Host: ${host}\r\n`}\r\n`);
    await until(() => seen.length === 1, String(host));
    assert.equal(seen[0].url, `${ORIGIN}/p`, JSON.stringify(host));
  }
});

Deno.test("serveHttpConnection: an absolute-form target keeps its path on the Host header's host", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  t.conn.feed("GET http://elsewhere.test/abs?x=1 HTTP/1.1\r\nHost: example.test\r\n\r\n");
  await until(() => seen.length === 1, "the request");
  assert.equal(seen[0].url, "http://example.test/abs?x=1");
});

Deno.test("serveHttpConnection: a target starting with // or /\\ stays a path on the Host", async () => {
  for (const target of ["//evil.test/healthz", "/\\evil.test/healthz", "//evil.test"]) {
    const seen: Seen[] = [];
    const t = start(echo(seen));
    t.conn.feed(`GET ${target} HTTP/1.1\r\nHost: example.test\r\n\r\n`);
    await until(() => seen.length === 1, target);
    const url = new URL(seen[0].url);
    assert.equal(url.host, "example.test", target);
    assert.ok(url.pathname.startsWith("//evil.test"), `${target} -> ${url.pathname}`);
  }
});

// --- the WebSocket upgrade -------------------------------------------------------------------------

const UPGRADE = "GET /ws HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\n" +
  "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Sec-WebSocket-Version: 13\r\n\r\n";

function upgrading(protocol?: string, limits: Partial<HttpLimits> = {}) {
  const messages: string[] = [];
  const opened: string[] = [];
  const t = start((req) => {
    assert.equal(servedHere(req), true);
    const { socket, response } = upgradeWebSocket(req, protocol ? { protocol } : {});
    socket.onopen = () => opened.push("open");
    socket.onmessage = (e) => {
      messages.push(String(e.data));
      socket.send(`echo ${e.data}`);
    };
    return response;
  }, limits);
  return { ...t, messages, opened };
}

Deno.test("upgradeWebSocket: a correct 101 for RFC 6455's sample key, with the subprotocol", async () => {
  const t = upgrading("fanout.v1");
  t.conn.feed(UPGRADE);
  await until(() => t.sockets.length === 1 && t.conn.writes.length > 0, "the upgrade, its 101");
  const text = t.conn.text();
  assert.ok(text.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), text);
  const [res] = responses(text);
  assert.equal(res.get("upgrade"), "websocket");
  assert.equal(res.get("connection"), "Upgrade");
  assert.equal(res.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assert.equal(res.get("sec-websocket-protocol"), "fanout.v1");
  assert.equal(res.get("content-length"), undefined);
  assert.deepEqual(t.opened, ["open"]);
  assert.equal(t.sockets[0].readyState, 1);
  assert.equal(t.sockets[0].protocol, "fanout.v1");
});

Deno.test("upgradeWebSocket: no subprotocol header when none was agreed", async () => {
  const t = upgrading();
  t.conn.feed(UPGRADE);
  await until(() => t.sockets.length === 1 && t.conn.writes.length > 0, "the upgrade, its 101");
  assert.equal(responses(t.conn.text())[0].get("sec-websocket-protocol"), undefined);
});

Deno.test("upgradeWebSocket: each 101 names its own subprotocol, or none, whatever the one before", async () => {
  for (const protocol of ["fanout.v1", "", "chat", "fanout.v1", ""]) {
    const t = upgrading(protocol || undefined);
    t.conn.feed(UPGRADE);
    await until(() => t.sockets.length === 1 && t.conn.writes.length > 0, "the upgrade, its 101");
    const text = t.conn.text();
    assert.ok(text.endsWith("\r\n\r\n"), JSON.stringify(text));
    const [res] = responses(text);
    assert.equal(res.status, 101);
    assert.equal(res.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert.equal(res.get("sec-websocket-protocol"), protocol || undefined, protocol);
    assert.deepEqual(res.headers.map(([n]) => n), [
      "upgrade",
      "connection",
      "sec-websocket-accept",
      ...(protocol ? ["sec-websocket-protocol"] : []),
    ]);
  }
});

Deno.test("upgradeWebSocket: bytes after the head in the same read reach the socket", async () => {
  const t = upgrading();
  const frame = maskedFrame({ opcode: 1, payload: "early bird" });
  const head = new TextEncoder().encode(UPGRADE);
  const both = new Uint8Array(head.length + frame.length);
  both.set(head);
  both.set(frame, head.length);
  t.conn.feed(both);
  await until(() => t.messages.length === 1, "the early message");
  assert.deepEqual(t.messages, ["early bird"]);
  await until(() => t.conn.text().includes("echo early bird"), "the echo");
  const bytes = t.conn.bytes();
  const headEnd = t.conn.text().indexOf("\r\n\r\n") + 4;
  assert.deepEqual(serverFrames(bytes.subarray(headEnd)).map((f) => f.text), ["echo early bird"]);
});

Deno.test("upgradeWebSocket: a frame cut after the head survives the next connection reading into the same buffer", async () => {
  // An upgraded connection's HTTP read buffer goes back to a pool for the next connection: the
  // socket must have copied the part of a frame that came with the head.
  const first = upgrading();
  const frame = maskedFrame({ opcode: 1, payload: "x".repeat(100) + " whole" });
  const head = new TextEncoder().encode(UPGRADE);
  const cut = 40;
  const both = new Uint8Array(head.length + cut);
  both.set(head);
  both.set(frame.subarray(0, cut), head.length);
  first.conn.feed(both);
  await until(() => first.sockets.length === 1, "the first upgrade");
  for (let i = 0; i < 3; i++) {
    // Others read their heads (and junk) into whatever buffer they get.
    const other = upgrading();
    other.conn.feed(UPGRADE + "\xff".repeat(300));
    await until(() => other.sockets.length === 1, "another upgrade");
    other.conn.end();
  }
  first.conn.feed(frame.subarray(cut));
  await until(() => first.messages.length === 1, "the whole message");
  assert.deepEqual(first.messages, ["x".repeat(100) + " whole"]);
});

Deno.test("upgradeWebSocket: frames read later reach the socket; the request timer is gone", async () => {
  const t = upgrading();
  t.conn.feed(UPGRADE);
  await until(() => t.sockets.length === 1 && t.conn.writes.length > 0, "the upgrade, its 101");
  assert.equal(t.timers.pending, 0, "no request or keep-alive timer on a WebSocket");
  t.timers.advance(60_000);
  assert.equal(t.conn.closed, false);
  t.conn.feed(maskedFrame({ opcode: 1, payload: "one" }));
  t.conn.feed(maskedFrame({ opcode: 1, payload: "two" }));
  await until(() => t.messages.length === 2, "two messages");
  // The peer closes: echoed, dropped, and the connection's promise resolves.
  t.conn.feed(maskedFrame({ opcode: 8, payload: closeBody(1000, "bye") }));
  await t.done;
  assert.equal(t.conn.closed, true);
  assert.equal(t.sockets[0].readyState, 3);
  const headEnd = t.conn.text().indexOf("\r\n\r\n") + 4;
  const frames = serverFrames(t.conn.bytes().subarray(headEnd));
  assert.deepEqual(frames.map((f) => f.opcode), [1, 1, 8]);
});

Deno.test("upgradeWebSocket: the end of the stream closes the socket 1006 and ends the connection", async () => {
  const t = upgrading();
  t.conn.feed(UPGRADE);
  await until(() => t.sockets.length === 1 && t.conn.writes.length > 0, "the upgrade, its 101");
  const closed = t.sockets[0].closed;
  t.conn.end();
  await t.done;
  assert.equal((await closed).code, 1006);
});

Deno.test("upgradeWebSocket: the socket's limits come from the connection's", async () => {
  const t = upgrading();
  t.conn.feed(UPGRADE);
  await until(() => t.sockets.length === 1 && t.conn.writes.length > 0, "the upgrade, its 101");
  t.conn.feed(maskedFrame({ opcode: 2, announce: LIMITS.maxWsMessageBytes + 1 }));
  await t.done;
  const headEnd = t.conn.text().indexOf("\r\n\r\n") + 4;
  const frames = serverFrames(t.conn.bytes().subarray(headEnd));
  assert.equal(frames.at(-1)!.code, 1009);
});

Deno.test("upgradeWebSocket: the fragment cap comes from maxWsFragments: exactly it passes, one more 1009", async () => {
  const t = upgrading(undefined, { maxWsFragments: 2 });
  t.conn.feed(UPGRADE);
  await until(() => t.sockets.length === 1 && t.conn.writes.length > 0, "the upgrade, its 101");
  t.conn.feed(maskedFrame({ opcode: 1, payload: "a", fin: false }));
  t.conn.feed(maskedFrame({ opcode: 0, payload: "b" }));
  await until(() => t.messages.length === 1, "the message in two fragments");
  assert.deepEqual(t.messages, ["ab"]);
  t.conn.feed(maskedFrame({ opcode: 1, payload: "a", fin: false }));
  t.conn.feed(maskedFrame({ opcode: 0, payload: "b", fin: false }));
  t.conn.feed(maskedFrame({ opcode: 0, payload: "c" }));
  await t.done;
  const headEnd = t.conn.text().indexOf("\r\n\r\n") + 4;
  const close = serverFrames(t.conn.bytes().subarray(headEnd)).at(-1)!;
  assert.equal(close.code, 1009);
  assert.equal(close.text, "message in more than 2 fragments");
});

Deno.test("upgradeWebSocket: an invalid handshake throws with the reason", async () => {
  const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const cases: [string, RegExp][] = [
    [
      `Upgrade: websocket\r\n${key}Sec-WebSocket-Version: 13\r\n`,
      /'connection' header must contain 'Upgrade'/,
    ],
    [
      `Connection: upgraded\r\nUpgrade: websocket\r\n${key}Sec-WebSocket-Version: 13\r\n`,
      /'connection'/,
    ],
    [
      `Connection: Upgrade\r\nUpgrade: h2c\r\n${key}Sec-WebSocket-Version: 13\r\n`,
      /'upgrade' header must be 'websocket'/,
    ],
    [
      "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
      /'sec-websocket-key' header must be set/,
    ],
    [
      "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n",
      /16 bytes/,
    ],
    [
      `Connection: Upgrade\r\nUpgrade: websocket\r\n${key}Sec-WebSocket-Version: 8\r\n`,
      /'sec-websocket-version' header must be '13'/,
    ],
    [`Connection: Upgrade\r\nUpgrade: websocket\r\n${key}`, /'sec-websocket-version'/],
  ];
  for (const [headers, reason] of cases) {
    const thrown: unknown[] = [];
    const t = start((req) => {
      try {
        upgradeWebSocket(req);
      } catch (err) {
        thrown.push(err);
        return new Response("bad handshake", { status: 400 });
      }
      return new Response("upgraded?!");
    });
    t.conn.feed(`GET /ws HTTP/1.1\r\nHost: a\r\n${headers}\r\n`);
    await until(
      () => t.conn.text().includes("bad handshake") || t.conn.text().includes("?!"),
      "the answer",
    );
    assert.equal(thrown.length, 1, String(reason));
    assert.ok(thrown[0] instanceof TypeError);
    assert.match((thrown[0] as Error).message, reason);
    assert.equal(responses(t.conn.text())[0].status, 400);
    assert.equal(t.sockets.length, 0);
  }
});

Deno.test("upgradeWebSocket: a request of another server is refused; servedHere tells them apart", () => {
  const req = new Request("http://a.test/ws", {
    headers: { connection: "Upgrade", upgrade: "websocket" },
  });
  assert.equal(servedHere(req), false);
  assert.throws(() => upgradeWebSocket(req), {
    name: "TypeError",
    message: "the request was not read by this server",
  });
});

// --- refuseConnection ------------------------------------------------------------------------------

Deno.test("refuseConnection: writes the status and reason with connection: close, then closes", async () => {
  const conn = new FakeConn();
  refuseConnection(conn, 503, "server is full; retry later");
  await until(() => conn.closed, "the close");
  const [res] = responses(conn.text());
  assert.equal(res.status, 503);
  assert.ok(conn.text().startsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  assert.equal(res.body, "server is full; retry later\n");
  assert.equal(res.get("connection"), "close");
  assert.equal(conn.readCalls, 0, "nothing is read");

  const failing = new FakeConn();
  failing.failWrites();
  refuseConnection(failing, 429, "too many");
  await until(() => failing.closed, "the close after a failed write");
});

// --- the request timeout and the handler's own time ---------------------------------------------

Deno.test("serveHttpConnection: the handler's own time does not count against the request timeout", async () => {
  const slow = Promise.withResolvers<Response>();
  const t = start(() => slow.promise, { requestTimeoutMs: 1000 });
  t.conn.feed(GET("/slow"));
  await until(() => t.timers.pending === 0, "the request timer is stopped while the handler runs");
  t.timers.advance(5000);
  assert.equal(t.conn.closed, false, "a handler slower than the request timeout is waited for");
  slow.resolve(new Response("late but answered"));
  await until(() => t.conn.text().includes("late but answered"), "the response");
});

Deno.test("serveHttpConnection: a response the peer does not read is cut at the request timeout", async () => {
  const t = start(() => new Response("x".repeat(50_000)), { requestTimeoutMs: 1000 });
  t.conn.holdWrites();
  t.conn.feed(GET("/big"));
  await until(() => t.conn.heldWrites > 0, "the response being written");
  assert.deepEqual(t.timers.delays(), [1000], "writing the response has its own deadline");
  t.timers.advance(1000);
  assert.equal(t.conn.closed, true);
  await t.done;
});

Deno.test("serveHttpConnection: onPhase tells when a connection waits for a request and when it is busy", async () => {
  const timers = new ManualTimers();
  const conn = new FakeConn();
  const idle: string[] = [];
  serveHttpConnection(conn, INFO, {
    handler: echo([]),
    origin: ORIGIN,
    limits: LIMITS,
    draining: () => false,
    onWebSocket: () => {},
    onPhase: (on, state) => {
      assert.equal(on, conn);
      idle.push(state);
    },
    now: timers.now,
    timers: timers,
  });
  conn.feed(GET("/a"));
  await until(() => conn.text().includes("ok /a"), "the first response");
  await until(() => idle.length === 3, "waiting again after the response");
  assert.deepEqual(idle, ["waiting", "busy", "waiting"]);
  conn.feed(GET("/b"));
  await until(() => conn.text().includes("ok /b"), "the second response");
  await until(() => idle.length === 5, "busy, then waiting again");
  assert.deepEqual(idle, ["waiting", "busy", "waiting", "busy", "waiting"]);
  conn.end();
});

// --- the WebSocket route: no Request, no handler ---------------------------------------------------

Deno.test("webSocketRoute: GET of its path reaches it with the head's URL and headers, and upgrades", async () => {
  const seen: HandshakeRequest[] = [];
  const handled: string[] = [];
  const t = start(echoTo(handled), {}, {
    path: "/ws",
    handle: (req, info) => {
      seen.push(req);
      assert.equal(info, INFO);
      assert.equal(req instanceof Request, false, "no Request built");
      assert.equal(servedHere(req), true);
      assert.deepEqual(Object.keys(req).sort(), ["headers", "method", "url"], "no server inside");
      return upgradeWebSocket(req, { protocol: "fanout.v1" }).response;
    },
  });
  t.conn.feed(UPGRADE.replace("GET /ws ", "GET /ws?room=a&x=%20 "));
  await until(() => t.sockets.length === 1 && t.conn.writes.length > 0, "the upgrade, its 101");
  assert.deepEqual(handled, []);
  assert.equal(seen[0].url, "http://example.test/ws?room=a&x=%20");
  assert.equal(seen[0].headers.get("Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==");
  assert.equal(seen[0].headers.get("connection"), "keep-alive, Upgrade");
  assert.equal(seen[0].headers.get("origin"), null);
  const [res] = responses(t.conn.text());
  assert.equal(res.status, 101);
  assert.equal(res.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assert.equal(res.get("sec-websocket-protocol"), "fanout.v1");
});

Deno.test("webSocketRoute: a query is handed on as sent, or as the URL parser writes it when it would change it", async () => {
  const urls: string[] = [];
  const route: WebSocketRoute = {
    path: "/ws",
    handle: (req) => (urls.push(req.url), new Response("route")),
  };
  const targets = [
    "/ws",
    "/ws?",
    "/ws?room=a&name=%41n+n&x=~!$()*,;:@/?[]^`{|}\\",
    "/ws?name=\"x\"&y='<z>'",
    "/ws?room=a#frag",
    "http://other.test/ws?room=b",
  ];
  for (const target of targets) {
    const t = start(echoTo([]), {}, route);
    t.conn.feed(GET(target, "connection: close\r\n"));
    await t.done;
  }
  // Each is the URL a parser gives (the host as the Host header names it: example.test).
  const parsed = targets.map((target) =>
    new URL(
      target.startsWith("http") ? new URL(target).pathname + new URL(target).search : target,
      "http://example.test",
    ).href
  );
  assert.deepEqual(urls, parsed);
  assert.equal(urls[3], "http://example.test/ws?name=%22x%22&y=%27%3Cz%3E%27");
});

Deno.test("webSocketRoute: other methods and paths go to the handler as Requests", async () => {
  const handled: string[] = [];
  const routed: string[] = [];
  const route: WebSocketRoute = {
    path: "/ws",
    handle: (req) => (routed.push(req.url), new Response("route")),
  };
  for (const head of ["HEAD /ws", "POST /ws", "GET /ws/", "GET /wsx", "GET /w", "GET /"]) {
    const t = start(echoTo(handled), {}, route);
    const body = head.startsWith("POST") ? "content-length: 0\r\n" : "";
    t.conn.feed(`${head} HTTP/1.1\r\nHost: example.test\r\n${body}connection: close\r\n\r\n`);
    await t.done;
  }
  assert.deepEqual(routed, []);
  assert.deepEqual(handled, ["HEAD /ws", "POST /ws", "GET /ws/", "GET /wsx", "GET /w", "GET /"]);
  const t = start(echoTo(handled), {}, route);
  t.conn.feed(GET("/ws?room=b", "connection: close\r\n"));
  await t.done;
  assert.deepEqual(routed, ["http://example.test/ws?room=b"]);
  assert.equal(responses(t.conn.text())[0].body, "route");
});

Deno.test("webSocketRoute: a route that throws is a 500, told to onError", async () => {
  const t = start(echoTo([]), {}, {
    path: "/ws",
    handle: () => {
      throw new Error("boom");
    },
  });
  t.conn.feed(GET("/ws", "connection: close\r\n"));
  await t.done;
  assert.equal(responses(t.conn.text())[0].status, 500);
  assert.match(String(t.errors[0]), /boom/);
});

Deno.test("webSocketRoute: its headers read as Headers.get reads them (any case, repeated fields joined)", async () => {
  const names = ["origin", "Origin", "sec-websocket-protocol", "X-Forwarded-For", "authorization"];
  const value = fc.stringMatching(/^[!-~]([ -~]{0,12}[!-~])?$/);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom(...names), value), { maxLength: 6 }),
      async (fields) => {
        let seen: HandshakeRequest | null = null;
        const t = start(echoTo([]), {}, {
          path: "/ws",
          handle: (req) => (seen = req, new Response("ok")),
        });
        const extra = fields.map(([n, v]) => `${n}: ${v}\r\n`).join("");
        t.conn.feed(GET("/ws", `${extra}connection: close\r\n`));
        await t.done;
        const want = new Headers(fields);
        for (const name of [...names, "x-missing", "HOST"]) {
          assert.equal(
            seen!.headers.get(name),
            want.get(name) ?? (name === "HOST" ? "example.test" : null),
            name,
          );
        }
      },
    ),
    { numRuns: 60 },
  );
});

/** A handler that records `METHOD path` and answers 200. */
function echoTo(handled: string[]): FetchHandler {
  return (req) => {
    handled.push(`${req.method} ${new URL(req.url).pathname}`);
    return new Response("handler");
  };
}

Deno.test("upgradeWebSocket: a handler that answers with another response than the upgrade's: its socket is closed, never opened", async () => {
  const closes: number[] = [];
  const opened: string[] = [];
  const t = start((req) => {
    const { socket } = upgradeWebSocket(req);
    socket.onopen = () => opened.push("open");
    socket.onclose = (e) => closes.push(e.code);
    return new Response(null, { status: 200 }); // e.g. a router's answer to a HEAD
  });
  t.conn.feed(UPGRADE);
  await until(() => closes.length === 1, "the close of the socket never opened");
  assert.deepEqual(closes, [1006]);
  assert.deepEqual(opened, []);
  assert.equal(t.sockets.length, 0, "no socket went to the server");
  await t.done;
});

Deno.test("serveHttpConnection: Connection fields on several lines all count (Upgrade, then close)", async () => {
  const seen: Seen[] = [];
  const t = start(echo(seen));
  t.conn.feed(GET("/a", "Connection: Upgrade\r\nConnection: close\r\n"));
  await t.done;
  assert.equal(seen.length, 1);
  assert.equal(responses(t.conn.text())[0].get("connection"), "close");
});

Deno.test("upgradeWebSocket: the 101 and a frame sent when the socket opens leave in one write", async () => {
  const t = start((req) => {
    const { socket, response } = upgradeWebSocket(req, { protocol: "fanout.v1" });
    // As the hub does: the welcome is sent once the turn's callbacks are done.
    socket.onopen = () => setImmediate(() => socket.send("welcome"));
    return response;
  });
  t.conn.feed(UPGRADE);
  await until(() => t.conn.writes.length === 1, "the first write");
  await tick();
  assert.equal(t.conn.writes.length, 1, "one write");
  const text = t.conn.text();
  const end = text.indexOf("\r\n\r\n") + 4;
  assert.equal(responses(text.slice(0, end))[0].status, 101);
  const bytes = t.conn.bytes();
  assert.deepEqual(serverFrames(bytes.subarray(end)).map((f) => f.text), ["welcome"]);
  t.sockets[0].send("next");
  await tick();
  assert.equal(t.conn.writes.length, 2);
  assert.deepEqual(serverFrames(t.conn.writes[1]).map((f) => f.text), ["next"], "no 101 again");
});

Deno.test("upgradeWebSocket: with nothing sent in its turn, the 101 is written alone", async () => {
  const t = upgrading();
  t.conn.feed(UPGRADE);
  await until(() => t.conn.writes.length === 1, "the 101");
  await tick();
  assert.equal(t.conn.writes.length, 1);
  const [res] = responses(t.conn.text());
  assert.equal(res.status, 101);
  assert.equal(res.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  t.conn.feed(maskedFrame({ opcode: Opcode.text, payload: "hi" }));
  await until(() => t.conn.writes.length === 2, "the echo");
  assert.deepEqual(serverFrames(t.conn.writes[1]).map((f) => f.text), ["echo hi"]);
});

Deno.test("upgradeWebSocket: a peer gone before its 101: the socket opens, its write fails, it closes 1006", async () => {
  const closes: number[] = [];
  const t = start((req) => {
    const { socket, response } = upgradeWebSocket(req);
    socket.onclose = (e) => closes.push(e.code);
    return response;
  });
  t.conn.failWrites(new Error("connection reset"));
  t.conn.feed(UPGRADE);
  await until(() => closes.length === 1, "the close");
  assert.deepEqual(closes, [1006]);
  assert.equal(t.conn.writes.length, 0);
  await t.done;
});

Deno.test("upgradeWebSocket: a request upgrades once; a second upgrade of it throws", async () => {
  const errors: string[] = [];
  const t = start((req) => {
    const { response } = upgradeWebSocket(req);
    try {
      upgradeWebSocket(req);
    } catch (err) {
      errors.push((err as Error).message);
    }
    return response;
  });
  t.conn.feed(UPGRADE);
  await until(() => t.sockets.length === 1 && t.conn.writes.length > 0, "the upgrade, its 101");
  assert.deepEqual(errors, ["the request was upgraded already"]);
  assert.equal(responses(t.conn.text())[0].status, 101);
});
