/**
 * The backend client of the server API (`lib/backend/fanout_api.js`) against an injected fake
 * `fetch`: the request of every method (method, path, query, headers, body) and its parsed result,
 * every error shape, the timeout, input refused before any request, and the key never in an error.
 */

import assert from "node:assert/strict";
import {
  FanoutApi,
  FanoutApiError,
  type FetchInit,
  type FetchLike,
} from "../../lib/backend/fanout_api.js";
import { ROOM_PATTERN } from "../../lib/protocol/handshake.ts";

const BASE = "http://fanout.test:8000";
const KEY = "sk_live_Zq8s3cr3tK3y";

interface Call {
  url: string;
  init: FetchInit;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** A client whose fetch records each call and answers with `answer`. */
function fake(
  answer: (call: Call) => Response | Promise<Response>,
  options: { url?: string | URL; timeoutMs?: number } = {},
): { api: FanoutApi; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = (url, init) => {
    const call = { url, init };
    calls.push(call);
    return Promise.resolve(answer(call));
  };
  return { api: new FanoutApi({ url: BASE, key: KEY, fetch, ...options }), calls };
}

const JSON_HEADERS = {
  authorization: `Bearer ${KEY}`,
  accept: "application/json",
  "content-type": "application/json",
};
const GET_HEADERS = { authorization: `Bearer ${KEY}`, accept: "application/json" };

/** The rejection of `promise`, which must be a FanoutApiError. */
async function failure(promise: Promise<unknown>): Promise<FanoutApiError> {
  const error = await promise.then(
    () => assert.fail("expected a FanoutApiError"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof FanoutApiError, `not a FanoutApiError: ${error}`);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "FanoutApiError");
  assertNoKey(error);
  return error;
}

function assertNoKey(error: unknown): void {
  const e = error as Error;
  for (const text of [e.message, e.stack ?? "", String(e), JSON.stringify(e)]) {
    assert.equal(text.includes(KEY), false, `the key leaked into ${JSON.stringify(text)}`);
  }
}

const stored = { room: "lobby", epoch: "k3v9x0qa1b", offset: 42, id: "k3v9x0qa1b-42", ts: 17 };

Deno.test("publish: POST /api/rooms/{room}/messages with the key and the JSON body", async () => {
  const { api, calls } = fake(() => json(201, stored));
  const body = { text: "hi", data: { n: 1 }, ref: "r-1", name: "billing", info: { team: "ops" } };
  assert.deepEqual(await api.publish("lobby", body), stored);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, `${BASE}/api/rooms/lobby/messages`);
  assert.equal(calls[0].init.method, "POST");
  assert.deepEqual(calls[0].init.headers, JSON_HEADERS);
  assert.deepEqual(JSON.parse(calls[0].init.body!), body);
  assert.ok(calls[0].init.signal instanceof AbortSignal);
});

Deno.test("publish: data alone, null included, is sent as given", async () => {
  const { api, calls } = fake(() => json(201, stored));
  await api.publish("a_b-9", { data: null });
  await api.publish("a_b-9", { data: [1, "two", false] });
  assert.equal(calls[0].url, `${BASE}/api/rooms/a_b-9/messages`);
  assert.equal(calls[0].init.body, '{"data":null}');
  assert.equal(calls[1].init.body, '{"data":[1,"two",false]}');
});

Deno.test("publish: a ref accepted before answers 200 with the first result and duplicate", async () => {
  const { api } = fake(() => json(200, { ...stored, duplicate: true }));
  const result = await api.publish("lobby", { text: "hi", ref: "r-1" });
  assert.deepEqual(result, { ...stored, duplicate: true });
  assert.equal(result.duplicate, true);
});

Deno.test("broadcast: POST /api/broadcast with the rooms in the body; per-room results", async () => {
  const results = [
    { room: "a", status: 201, epoch: "e", offset: 3, id: "e-3", ts: 5 },
    { room: "b", status: 200, epoch: "f", offset: 1, id: "f-1", ts: 4, duplicate: true },
    { room: "c", status: 503, error: { code: "unavailable", message: "the engine is down" } },
    { room: "d", status: 409, error: { code: "ref_conflict", message: "ref r-2 was used" } },
  ];
  const { api, calls } = fake(() => json(200, { results }));
  const answer = await api.broadcast(["a", "b", "c", "d"], { text: "deploy", ref: "r-2" });
  assert.deepEqual(answer, { results });
  assert.equal(calls[0].url, `${BASE}/api/broadcast`);
  assert.equal(calls[0].init.method, "POST");
  assert.deepEqual(calls[0].init.headers, JSON_HEADERS);
  assert.deepEqual(JSON.parse(calls[0].init.body!), {
    text: "deploy",
    ref: "r-2",
    rooms: ["a", "b", "c", "d"],
  });
  const failed = answer.results.filter((r) => r.error !== undefined).map((r) => r.error?.code);
  assert.deepEqual(failed, ["unavailable", "ref_conflict"]);
});

Deno.test("broadcast: the rooms argument wins over a rooms field smuggled into the body", async () => {
  const { api, calls } = fake(() => json(200, { results: [] }));
  const body = { text: "x", rooms: ["evil"] } as unknown as { text: string };
  await api.broadcast(["a"], body);
  assert.deepEqual(JSON.parse(calls[0].init.body!).rooms, ["a"]);
});

Deno.test("history: GET with since, epoch and limit in the query; no body", async () => {
  const messages = [
    {
      type: "message",
      room: "lobby",
      offset: 41,
      id: "e-41",
      from: "c4kq1x0-7",
      client: "Q_J6T4c4zlZTxCZ-",
      name: "Ann",
      text: "hello",
      ts: 1,
    },
    {
      type: "message",
      room: "lobby",
      offset: 42,
      id: "e-42",
      from: "api",
      client: null,
      name: null,
      data: { n: 1 },
      ts: 2,
      user: "u_1",
      info: { team: "ops" },
    },
  ];
  const answer = { room: "lobby", epoch: "e", offset: 42, recovered: true, messages };
  const { api, calls } = fake(() => json(200, answer));
  const result = await api.history("lobby", { since: 40, epoch: "e", limit: 100 });
  assert.deepEqual(result, answer);
  assert.equal(result.messages[1].data !== undefined, true);
  assert.equal(calls[0].url, `${BASE}/api/rooms/lobby/history?since=40&epoch=e&limit=100`);
  assert.equal(calls[0].init.method, "GET");
  assert.deepEqual(calls[0].init.headers, GET_HEADERS);
  assert.equal(calls[0].init.body, undefined);

  await api.history("lobby");
  await api.history("lobby", { since: 0 });
  assert.equal(calls[1].url, `${BASE}/api/rooms/lobby/history`);
  assert.equal(calls[2].url, `${BASE}/api/rooms/lobby/history?since=0`);
});

Deno.test("presence: GET /api/rooms/{room}/presence with limit; members parsed", async () => {
  const answer = {
    room: "lobby",
    online: 3,
    members: [
      { id: "c1-1", name: "Ann", client: "Q_J6T4c4zlZTxCZ-" },
      { id: "c1-2", user: "u_2", name: null, info: { avatar: "a.png" }, client: null },
    ],
  };
  const { api, calls } = fake(() => json(200, answer));
  assert.deepEqual(await api.presence("lobby", { limit: 2 }), answer);
  assert.equal(calls[0].url, `${BASE}/api/rooms/lobby/presence?limit=2`);
  assert.equal(calls[0].init.method, "GET");
  assert.deepEqual(calls[0].init.headers, GET_HEADERS);
  await api.presence("lobby");
  assert.equal(calls[1].url, `${BASE}/api/rooms/lobby/presence`);
});

Deno.test("rooms: GET /api/rooms pages with limit and after until next is null", async () => {
  const all = ["a", "b", "c", "d", "e"];
  const { api, calls } = fake(({ url }) => {
    const q = new URL(url).searchParams;
    const limit = Number(q.get("limit"));
    const start = q.has("after") ? all.indexOf(q.get("after")!) + 1 : 0;
    const page = all.slice(start, start + limit);
    const last = start + limit >= all.length;
    return json(200, {
      rooms: page.map((room, i) => ({ room, online: i, offset: 10 + i, epoch: "e" })),
      next: last ? null : page.at(-1),
    });
  });
  const seen: string[] = [];
  let after: string | undefined;
  do {
    const page = await api.rooms(after === undefined ? { limit: 2 } : { limit: 2, after });
    seen.push(...page.rooms.map((r) => r.room));
    after = page.next ?? undefined;
  } while (after !== undefined);
  assert.deepEqual(seen, all);
  assert.deepEqual(calls.map((c) => c.url), [
    `${BASE}/api/rooms?limit=2`,
    `${BASE}/api/rooms?limit=2&after=b`,
    `${BASE}/api/rooms?limit=2&after=d`,
  ]);
  assert.ok(calls.every((c) => c.init.method === "GET"));
  await api.rooms();
  assert.equal(calls.at(-1)!.url, `${BASE}/api/rooms`);
});

Deno.test("rooms: after is an opaque cursor, percent-encoded in the query", async () => {
  const { api, calls } = fake(() => json(200, { rooms: [], next: null }));
  await api.rooms({ after: "x y&z=1/é" });
  assert.equal(calls[0].url, `${BASE}/api/rooms?after=x%20y%26z%3D1%2F%C3%A9`);
  assert.equal(new URL(calls[0].url).searchParams.get("after"), "x y&z=1/é");
});

Deno.test("disconnect: POST /api/disconnect with the selector; closed parsed", async () => {
  const { api, calls } = fake(() => json(200, { closed: 2 }));
  const selector = { user: "u_42", reconnect: false, reason: "account closed" };
  assert.deepEqual(await api.disconnect(selector), { closed: 2 });
  assert.equal(calls[0].url, `${BASE}/api/disconnect`);
  assert.equal(calls[0].init.method, "POST");
  assert.deepEqual(calls[0].init.headers, JSON_HEADERS);
  assert.deepEqual(JSON.parse(calls[0].init.body!), selector);
  await api.disconnect({ client: "Q_J6T4c4zlZTxCZ-" });
  await api.disconnect({ connection: "c1-2" });
  assert.deepEqual(calls.slice(1).map((c) => JSON.parse(c.init.body!)), [
    { client: "Q_J6T4c4zlZTxCZ-" },
    { connection: "c1-2" },
  ]);
});

Deno.test("url: a path prefix is kept, trailing slashes dropped", async () => {
  for (const url of ["http://h:1/fanout", "http://h:1/fanout/", "http://h:1/fanout//"]) {
    const { api, calls } = fake(() => json(200, { closed: 0 }), { url });
    await api.disconnect({ connection: "c1-1" });
    assert.equal(calls[0].url, "http://h:1/fanout/api/disconnect", url);
  }
  const { api, calls } = fake(() => json(200, { closed: 0 }), { url: new URL("https://h/") });
  await api.disconnect({ connection: "c1-1" });
  assert.equal(calls[0].url, "https://h/api/disconnect");
});

Deno.test("room names: refused before any request, naming the bad value", async () => {
  const { api, calls } = fake(() => json(201, stored));
  const bad = ["", "Lobby", "a b", "../admin", "a/b", "x".repeat(65), "é", "a%2Fb"];
  for (const room of bad) {
    for (
      const call of [
        () => api.publish(room, { text: "x" }),
        () => api.history(room),
        () => api.presence(room),
      ]
    ) {
      const e = await failure(call());
      assert.equal(e.code, "invalid_room");
      assert.equal(e.status, 0);
      assert.ok(e.message.includes(JSON.stringify(room).slice(0, 20)), e.message);
      assert.match(e.message, /1-64 characters of a-z, 0-9, _ and -/);
    }
  }
  const e = await failure(api.broadcast(["ok", "Not Ok"], { text: "x" }));
  assert.equal(e.code, "invalid_room");
  assert.match(e.message, /rooms\[1\] must be .*"Not Ok"/);
  const notString = await failure(api.publish(7 as unknown as string, { text: "x" }));
  assert.match(notString.message, /got 7$/);
  assert.equal((await failure(api.history("x".repeat(80)))).message.includes("…"), true);
  assert.equal(calls.length, 0);
  await api.publish("x".repeat(64), { text: "x" });
  assert.equal(calls.length, 1, "64 characters is the longest name");
});

Deno.test("room names: the client's rule is the server's (lib/protocol's ROOM_PATTERN)", async () => {
  // fanout_api.js may import nothing, so it carries its own copy of the rule: keep them equal.
  const { api } = fake(() => json(201, stored));
  const names = ["a", "lobby", "team-42", "a_b", "-", "_", "0", "x".repeat(64), "x".repeat(65)];
  names.push("", "A", "a b", "a.b", "a/b", "é", "a\n", " a", "ａ", "a\u0000");
  for (const room of names) {
    const accepted = await api.publish(room, { text: "x" }).then(() => true, () => false);
    assert.equal(accepted, ROOM_PATTERN.test(room), JSON.stringify(room));
  }
});

Deno.test("bodies and queries: refused before any request with the client's own check", async () => {
  const { api, calls } = fake(() => json(200, {}));
  const cases: [() => Promise<unknown>, string, RegExp][] = [
    [
      () => api.publish("a", {} as never),
      "invalid_body",
      /publish body needs text or data \(data may be null\), got \{\}/,
    ],
    [
      () => api.publish("a", { data: undefined, ref: "r" }),
      "invalid_body",
      /needs text or data \(data may be null\)/,
    ],
    [() => api.publish("a", null as never), "invalid_body", /must be an object, got null/],
    [() => api.publish("a", "hi" as never), "invalid_body", /must be an object, got "hi"/],
    [() => api.broadcast("a" as never, { text: "x" }), "invalid_body", /rooms must be an array/],
    [() => api.broadcast(["a"], [] as never), "invalid_body", /broadcast body must be an object/],
    [
      () => api.disconnect({} as never),
      "invalid_body",
      /exactly one of user, client or connection, got none/,
    ],
    [
      () => api.disconnect({ user: "u", connection: "c" } as never),
      "invalid_body",
      /exactly one .*got user, connection/,
    ],
    [() => api.disconnect(undefined as never), "invalid_body", /selector must be an object/],
    [
      () => api.history("a", { since: -1 }),
      "invalid_query",
      /since must be an integer of at least 0, got -1/,
    ],
    [() => api.history("a", { since: 1.5 }), "invalid_query", /since must be .*got 1\.5/],
    [() => api.history("a", { since: "4" as never }), "invalid_query", /since must be .*got "4"/],
    [
      () => api.history("a", { epoch: "" }),
      "invalid_query",
      /epoch must be a non-empty string, got ""/,
    ],
    [
      () => api.history("a", { limit: 0 }),
      "invalid_query",
      /limit must be an integer of at least 1, got 0/,
    ],
    [() => api.presence("a", { limit: NaN }), "invalid_query", /limit must be .*got null/],
    [() => api.rooms({ limit: -5 }), "invalid_query", /limit must be .*got -5/],
    [() => api.history("a", null as never), "invalid_query", /query must be an object, got null/],
    [
      () => api.rooms({ after: 3 as never }),
      "invalid_query",
      /after must be a non-empty string, got 3/,
    ],
  ];
  for (const [call, code, message] of cases) {
    const e = await failure(call());
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, 0);
    assert.match(e.message, message);
  }
  assert.equal(calls.length, 0);
});

Deno.test("errors: every spec'd error answer becomes a FanoutApiError with its status and code", async () => {
  const table: [number, string][] = [
    [404, "api_disabled"],
    [401, "unauthorized"],
    [400, "invalid_body"],
    [400, "invalid_room"],
    [400, "too_deep"],
    [400, "invalid_query"],
    [413, "too_large"],
    [409, "ref_conflict"],
    [429, "rate_limited"],
    [503, "unavailable"],
    [404, "not_found"],
  ];
  for (const [status, code] of table) {
    const message = `the server says ${code}`;
    const { api } = fake(() => json(status, { error: { code, message } }));
    for (
      const call of [
        () => api.publish("a", { text: "x" }),
        () => api.broadcast(["a"], { text: "x" }),
        () => api.history("a"),
        () => api.presence("a"),
        () => api.rooms(),
        () => api.disconnect({ user: "u" }),
      ]
    ) {
      const e = await failure(call());
      assert.equal(e.status, status);
      assert.equal(e.code, code);
      assert.equal(e.message, message);
      assert.equal(e.retryAfterSeconds, undefined);
      assert.equal("retryAfterSeconds" in e, false);
    }
  }
});

Deno.test("errors: Retry-After gives retryAfterSeconds, in seconds or as an HTTP date", async () => {
  const error = { error: { code: "rate_limited", message: "slow down" } };
  const seconds = fake(() => json(429, error, { "retry-after": "7" }));
  const e = await failure(seconds.api.publish("a", { text: "x" }));
  assert.equal(e.status, 429);
  assert.equal(e.code, "rate_limited");
  assert.equal(e.retryAfterSeconds, 7);

  const date = new Date(Date.now() + 30_000).toUTCString();
  const dated = fake(() =>
    json(503, { error: { code: "unavailable", message: "x" } }, { "retry-after": date })
  );
  const d = await failure(dated.api.history("a"));
  assert.ok(d.retryAfterSeconds! >= 28 && d.retryAfterSeconds! <= 31, `${d.retryAfterSeconds}`);

  const past = fake(() => json(429, error, { "retry-after": new Date(0).toUTCString() }));
  assert.equal((await failure(past.api.rooms())).retryAfterSeconds, 0);
  const junk = fake(() => json(429, error, { "retry-after": "soon" }));
  assert.equal((await failure(junk.api.rooms())).retryAfterSeconds, undefined);
});

Deno.test("errors: a body that is not Fanout's error JSON gives http_<status>", async () => {
  const cases: [Response, number, RegExp][] = [
    [
      new Response("<html>Bad Gateway</html>", {
        status: 502,
        headers: { "content-type": "text/html" },
      }),
      502,
      /POST \/api\/rooms\/a\/messages answered 502 without Fanout's error JSON \(content-type text\/html\)/,
    ],
    [new Response("", { status: 500 }), 500, /answered 500 without/],
    [json(400, { error: "invalid_body" }), 400, /answered 400 without/],
    [json(422, { error: { code: "x" } }), 422, /answered 422 without/],
    [json(404, { error: { code: 404, message: "x" } }), 404, /answered 404 without/],
    [json(400, [1, 2]), 400, /answered 400 without/],
    [new Response(null, { status: 302, headers: { location: "/login" } }), 302, /answered 302/],
  ];
  for (const [response, status, message] of cases) {
    const { api } = fake(() => response);
    const e = await failure(api.publish("a", { text: "x" }));
    assert.equal(e.status, status);
    assert.equal(e.code, `http_${status}`);
    assert.match(e.message, message);
  }
  const limited = fake(() =>
    new Response("busy", { status: 429, headers: { "retry-after": "2" } })
  );
  const e = await failure(limited.api.rooms());
  assert.equal(e.code, "http_429");
  assert.equal(e.retryAfterSeconds, 2);
});

Deno.test("errors: a 2xx whose body is not a JSON object is invalid_response", async () => {
  for (const body of ["", "ok", "[]", "null", "42"]) {
    const { api } = fake(() => new Response(body, { status: 200 }));
    const e = await failure(api.rooms());
    assert.equal(e.code, "invalid_response");
    assert.equal(e.status, 200);
    assert.match(e.message, /GET \/api\/rooms answered 200 with a body that is not a JSON object/);
  }
});

Deno.test("errors: a failed fetch is a network error with status 0, its reason and cause", async () => {
  const cause = new Error("connect ECONNREFUSED 127.0.0.1:8000");
  const failing = new TypeError("fetch failed", { cause });
  const api = new FanoutApi({ url: BASE, key: KEY, fetch: () => Promise.reject(failing) });
  const e = await failure(api.presence("lobby"));
  assert.equal(e.code, "network");
  assert.equal(e.status, 0);
  assert.equal(
    e.message,
    `GET /api/rooms/lobby/presence to ${BASE} failed: fetch failed: connect ECONNREFUSED 127.0.0.1:8000`,
  );
  assert.equal(e.cause, failing);

  const thrower = new FanoutApi({
    url: BASE,
    key: KEY,
    fetch: () => {
      throw "not even an Error";
    },
  });
  assert.match((await failure(thrower.rooms())).message, /failed: not even an Error$/);
});

Deno.test("errors: a body that breaks off while read is a network error", async () => {
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"rooms":'));
      controller.error(new Error("connection reset"));
    },
  });
  const { api } = fake(() => new Response(body, { status: 200 }));
  const e = await failure(api.rooms());
  assert.equal(e.code, "network");
  assert.equal(e.status, 0);
  assert.match(e.message, /GET \/api\/rooms to .* failed reading its 200 answer: connection reset/);
});

Deno.test("timeout: a fetch that honours its signal is aborted; the error is timeout", async () => {
  let signal: AbortSignal | null = null;
  const api = new FanoutApi({
    url: BASE,
    key: KEY,
    timeoutMs: 20,
    fetch: (_url, init) =>
      new Promise((_resolve, reject) => {
        signal = init.signal;
        init.signal.addEventListener("abort", () =>
          reject(new DOMException("aborted", "AbortError")));
      }),
  });
  const e = await failure(api.publish("a", { text: "x" }));
  assert.equal(e.code, "timeout");
  assert.equal(e.status, 0);
  assert.equal(e.message, "POST /api/rooms/a/messages took longer than 20 ms");
  assert.equal(signal!.aborted, true);
});

Deno.test("timeout: holds against a fetch that ignores the signal and a body that never ends", async () => {
  const hung = new FanoutApi({
    url: BASE,
    key: KEY,
    timeoutMs: 20,
    fetch: () => new Promise(() => {}),
  });
  assert.equal((await failure(hung.rooms())).code, "timeout");

  // Headers in time, then a body that never ends (a real fetch's abort also stops the body).
  const { api } = fake(() => new Response(new ReadableStream(), { status: 200 }), {
    timeoutMs: 20,
  });
  const e = await failure(api.history("a"));
  assert.equal(e.code, "timeout");
  assert.equal(e.message, "GET /api/rooms/a/history took longer than 20 ms");
});

Deno.test("timeout: a call that finishes in time leaves no timer behind", async () => {
  // Deno's sanitizers fail this test if the 60-second timer outlives the call.
  const { api } = fake(() => json(200, { closed: 1 }), { timeoutMs: 60_000 });
  assert.deepEqual(await api.disconnect({ user: "u" }), { closed: 1 });
  await failure(
    fake(() => json(401, { error: { code: "unauthorized", message: "no" } })).api.rooms(),
  );
});

Deno.test("the key: never in an error, even when the server, a proxy or fetch echoes it", async () => {
  const echo = `Bearer ${KEY} is not a valid key`;
  const server = fake(() => json(401, { error: { code: "unauthorized", message: echo } }));
  const e = await failure(server.api.rooms());
  assert.equal(e.message, "Bearer [api key] is not a valid key");

  const proxy = fake(() =>
    new Response("x", { status: 502, headers: { "content-type": `text/plain; k=${KEY}` } })
  );
  assert.match((await failure(proxy.api.rooms())).message, /k=\[api key\]/);

  const leaky = new FanoutApi({
    url: BASE,
    key: KEY,
    fetch: (_url, init) =>
      Promise.reject(new TypeError(`bad header ${init.headers.authorization}`)),
  });
  assert.match((await failure(leaky.rooms())).message, /bad header Bearer \[api key\]$/);

  for (const key of [`${KEY} `, `${KEY}\n`, `${KEY}é`]) {
    assert.throws(() => new FanoutApi({ url: BASE, key }), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assertNoKey(error);
      assert.match(error.message, /key must be .*got a string of \d+ characters/);
      return true;
    });
  }
});

Deno.test("the key: cut out as a token, so a short key does not cut words out of a message", async () => {
  const cases: [string, string, string][] = [
    ["k", "Bearer k is blocked for unknown keys", "Bearer [api key] is blocked for unknown keys"],
    [
      "port",
      "k=port;port:port bad port ports",
      "k=[api key];[api key]:[api key] bad [api key] ports",
    ],
    ["a.b+c$", "key a.b+c$ or aXb+c$", "key [api key] or aXb+c$"],
  ];
  for (const [key, said, shown] of cases) {
    const fetch: FetchLike = () =>
      Promise.resolve(json(401, { error: { code: "unauthorized", message: said } }));
    const e = await failure(new FanoutApi({ url: BASE, key, fetch }).rooms());
    assert.equal(e.message, shown, key);
  }
});

Deno.test("constructor: bad options throw a TypeError naming the option", () => {
  const fetch: FetchLike = () => Promise.resolve(json(200, {}));
  const cases: [unknown, RegExp][] = [
    [undefined, /options must be an object, got undefined/],
    [
      { url: "localhost:8000", key: KEY },
      /url must be an absolute http:\/\/ or https:\/\/ URL, got "localhost:8000"/,
    ],
    [{ url: "nope", key: KEY }, /url must be an absolute .*got "nope"/],
    [{ url: "ws://h/ws", key: KEY }, /url must be an absolute .*got "ws:\/\/h\/ws"/],
    [
      { url: "http://h/?x=1", key: KEY },
      /url must have no query or fragment, got "http:\/\/h\/\?x=1"/,
    ],
    [{ url: "http://h/#x", key: KEY }, /no query or fragment/],
    [{ url: BASE, key: "" }, /key must be a non-empty string .*got a string of 0 characters/],
    [{ url: BASE, key: 42 }, /key must be .*got number/],
    [{ url: BASE, key: KEY, fetch: "fetch" }, /fetch must be a function, got string/],
    [{ url: BASE, key: KEY, fetch, timeoutMs: 0 }, /timeoutMs must be a number above 0 .*got 0/],
    [{ url: BASE, key: KEY, fetch, timeoutMs: NaN }, /timeoutMs must be .*got null/],
    [{ url: BASE, key: KEY, fetch, timeoutMs: 2 ** 31 }, /timeoutMs must be .*got 2147483648/],
    [{ url: BASE, key: KEY, fetch, timeoutMs: "5" }, /timeoutMs must be .*got "5"/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new FanoutApi(options as never), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, message);
      return true;
    });
  }
  const withSecret = () => new FanoutApi({ url: "http://admin:hunter2@h/", key: KEY });
  assert.throws(withSecret, (e: unknown) => {
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /url must not carry a user or password/);
    assert.equal(e.message.includes("hunter2"), false);
    return true;
  });
});

Deno.test("default fetch: the global one, looked up at call time and called on globalThis", async () => {
  const original = globalThis.fetch;
  const seen: { url: string; self: unknown }[] = [];
  try {
    const api = new FanoutApi({ url: BASE, key: KEY });
    globalThis.fetch = function (this: unknown, input: string | URL | Request) {
      seen.push({ url: String(input), self: this });
      return Promise.resolve(json(200, { closed: 3 }));
    };
    assert.deepEqual(await api.disconnect({ user: "u" }), { closed: 3 });
  } finally {
    globalThis.fetch = original;
  }
  assert.deepEqual(seen, [{ url: `${BASE}/api/disconnect`, self: globalThis }]);
});
