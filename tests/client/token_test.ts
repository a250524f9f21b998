/**
 * The client core in auth mode, on a fake network and clock: the token rides in the subprotocol,
 * getToken runs before every attempt and ahead of expiry, 4401 renews at once, 4403 and probed
 * 401/403 stop the retries, and resume keeps every message exactly once across renewals.
 */
import assert from "node:assert/strict";
import { fakeClient, messageFrame, welcomeFrame } from "../helpers/fake_socket.ts";
import { Close } from "../../lib/protocol/close_codes.ts";

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function probeFetch(status: number, body: string) {
  const calls: { url: string; authorization: string | null }[] = [];
  const fetch = ((url: string, init?: RequestInit) => {
    calls.push({ url, authorization: new Headers(init?.headers).get("authorization") });
    return Promise.resolve(new Response(body, { status }));
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

Deno.test("token: a fixed token is offered as fanout.token.<jwt>, never in the URL", () => {
  const t = fakeClient({ token: "aaa.bbb.ccc" });
  t.client.connect();
  assert.deepEqual(t.net.last.protocols, ["fanout.v1", "fanout.token.aaa.bbb.ccc"]);
  assert.equal(t.net.last.query.get("token"), null);
  t.client.disconnect();
  const open = fakeClient();
  open.client.connect();
  assert.deepEqual(open.net.last.protocols, ["fanout.v1"], "open mode offers no token");
  open.client.disconnect();
});

Deno.test("token: getToken runs before every attempt", async () => {
  let n = 0;
  const t = fakeClient({ getToken: () => Promise.resolve(`tok.en.${++n}`) });
  t.client.connect();
  await settle();
  assert.deepEqual(t.net.last.protocols, ["fanout.v1", "fanout.token.tok.en.1"]);
  t.net.last.open();
  t.net.last.receive(
    welcomeFrame({ id: "c1", client: null, offset: 0, recovered: false, history: [] }),
  );
  t.net.last.serverClose(1006);
  t.clock.advance(1000);
  await settle();
  assert.deepEqual(t.net.last.protocols, ["fanout.v1", "fanout.token.tok.en.2"]);
  t.client.disconnect();
});

Deno.test("token: a getToken that fails is a failed attempt, with an error and backoff", async () => {
  let fail = true;
  const t = fakeClient({
    getToken: () => fail ? Promise.reject(new Error("backend down")) : Promise.resolve("a.b.c"),
  });
  t.client.connect();
  await settle();
  assert.equal(t.net.sockets.length, 0);
  assert.equal(t.client.state, "reconnecting");
  assert.match(t.of("error")[0].message, /backend down/);
  fail = false;
  t.clock.advance(1000);
  await settle();
  assert.equal(t.net.sockets.length, 1);
  t.client.disconnect();
});

Deno.test("token: refreshed ahead of expiry over the open socket; each refreshed re-arms", async () => {
  let n = 0;
  const t = fakeClient({
    getToken: () => `tok.en.${++n}`,
    refreshAheadMs: 30_000,
    ping: { intervalMs: 10_000_000, timeoutMs: 10_000_000 }, // no pings in the way
  });
  t.client.connect();
  await settle();
  const socket = t.net.last;
  socket.open();
  const now = t.clock.now();
  socket.receive(
    welcomeFrame({
      id: "c1",
      client: null,
      offset: 0,
      recovered: false,
      history: [],
      user: "ann",
      access: "rw",
      expires: now + 120_000,
    }),
  );
  t.clock.advance(89_999);
  await settle();
  assert.deepEqual(socket.frames("refresh"), []);
  t.clock.advance(1);
  await settle();
  assert.deepEqual(socket.frames("refresh"), [{
    type: "refresh",
    token: "tok.en.2",
    ref: "refresh-1",
  }]);
  socket.receive({ type: "refreshed", expires: now + 240_000, ref: "refresh-1" });
  assert.deepEqual(t.of("refreshed"), [{ expires: now + 240_000 }]);
  t.clock.advance(120_000);
  await settle();
  assert.equal(socket.frames("refresh").length, 2);
  t.client.disconnect();
});

Deno.test("token: 4401 gets a new token and resumes at once; messages are not repeated", async () => {
  let n = 0;
  const t = fakeClient({ getToken: () => `tok.en.${++n}` });
  t.client.connect();
  await settle();
  let socket = t.net.last;
  socket.open();
  socket.receive(
    welcomeFrame({
      id: "c1",
      client: null,
      offset: 0,
      recovered: false,
      history: [],
      expires: t.clock.now() + 1000,
    }),
  );
  socket.receive(messageFrame(1), messageFrame(2));
  socket.receive({ type: "error", code: "token_expired", message: "token expired" });
  socket.serverClose(Close.tokenExpired, "token expired");
  await settle();
  socket = t.net.last;
  assert.equal(t.net.sockets.length, 2, "no backoff wait");
  assert.deepEqual(socket.protocols, ["fanout.v1", "fanout.token.tok.en.2"]);
  assert.equal(socket.query.get("since"), "2");
  assert.equal(socket.query.get("epoch"), "e1");
  socket.open();
  socket.receive(
    welcomeFrame({
      id: "c2",
      client: null,
      offset: 3,
      recovered: true,
      history: [messageFrame(2), messageFrame(3)],
    }),
  );
  assert.deepEqual(t.of("message").map((m) => m.offset), [1, 2, 3]);
  t.client.disconnect();
});

Deno.test("token: 4401 with a fixed token, and 4403, are refused: no more attempts", async () => {
  for (const [code, status] of [[Close.tokenExpired, 401], [Close.forbidden, 403]] as const) {
    const t = fakeClient({ token: "a.b.c" });
    t.goOnline();
    t.net.last.serverClose(code, "nope");
    await settle();
    assert.equal(t.client.state, "refused");
    const last = t.of("state").at(-1)!;
    assert.deepEqual([last.state, last.status, last.closeCode, last.closeReason], [
      "refused",
      status,
      code,
      "nope",
    ]);
    t.clock.advance(600_000);
    await settle();
    assert.equal(t.net.sockets.length, 1, `${code}: never retried`);
  }
});

Deno.test("token: a handshake refused with 403 is probed and reported, never retried", async () => {
  const probe = probeFetch(403, "forbidden: the token does not grant room lobby\n");
  const t = fakeClient({ token: "a.b.c", fetch: probe.fetch });
  t.client.connect();
  t.net.last.serverClose(1006);
  await settle();
  assert.equal(t.client.state, "refused");
  assert.deepEqual(probe.calls[0].authorization, "Bearer a.b.c");
  assert.match(probe.calls[0].url, /^http:\/\/h\/ws\?room=lobby/);
  const last = t.of("state").at(-1)!;
  assert.equal(last.status, 403);
  assert.match(last.closeReason!, /does not grant room lobby/);
  t.clock.advance(600_000);
  await settle();
  assert.equal(t.net.sockets.length, 1);
});

Deno.test("token: a slow probe holds the next attempt: its 403 ends the retries before another handshake", async () => {
  let answer: (r: Response) => void = () => {};
  const fetch = (() => new Promise<Response>((r) => answer = r)) as typeof globalThis.fetch;
  const t = fakeClient({ token: "a.b.c", fetch });
  t.client.connect();
  t.net.last.serverClose(1006);
  await settle();
  t.clock.advance(5_000); // well past the backoff: the attempt waits for the probe
  await settle();
  assert.equal(t.net.sockets.length, 1, "no second handshake while the probe is out");
  answer(new Response("forbidden: the token does not grant room lobby\n", { status: 403 }));
  await settle();
  assert.equal(t.client.state, "refused");
  t.clock.advance(600_000);
  await settle();
  assert.equal(t.net.sockets.length, 1);
});

Deno.test("token: a probe that never answers holds the next attempt for connectTimeoutMs at most", async () => {
  const fetch = (() => new Promise<Response>(() => {})) as typeof globalThis.fetch;
  const t = fakeClient({ token: "a.b.c", fetch });
  t.client.connect();
  t.net.last.serverClose(1006);
  await settle();
  t.clock.advance(600_000);
  await settle();
  assert.equal(t.net.sockets.length, 2, "the attempt went ahead once the hold timed out");
  t.client.disconnect();
});

Deno.test("token: a probed 401 with getToken tries one new token, then stops", async () => {
  const probe = probeFetch(401, "unauthorized: token expired\n");
  let n = 0;
  const t = fakeClient({ getToken: () => `tok.en.${++n}`, fetch: probe.fetch });
  t.client.connect();
  await settle();
  t.net.last.serverClose(1006);
  await settle();
  assert.equal(t.client.state, "reconnecting", "one more attempt with a new token");
  t.clock.advance(1000);
  await settle();
  assert.deepEqual(t.net.last.protocols, ["fanout.v1", "fanout.token.tok.en.2"]);
  t.net.last.serverClose(1006);
  await settle();
  assert.equal(t.client.state, "refused");
  assert.equal(t.of("state").at(-1)!.status, 401);
  assert.equal(t.net.sockets.length, 2);
});

Deno.test("token: a failed handshake that is not a refusal keeps retrying with backoff", async () => {
  const probe = probeFetch(503, "server is full\n");
  const t = fakeClient({ token: "a.b.c", fetch: probe.fetch });
  t.client.connect();
  t.net.last.serverClose(1006);
  await settle();
  assert.equal(t.client.state, "reconnecting");
  t.clock.advance(1000);
  assert.equal(t.net.sockets.length, 2);
  t.client.disconnect();
});

Deno.test("token: connect() after refused starts again, with setToken's token", async () => {
  const t = fakeClient({ token: "old.tok.en" });
  t.goOnline();
  t.net.last.serverClose(Close.forbidden);
  await settle();
  t.client.setToken("new.tok.en");
  t.client.connect();
  assert.deepEqual(t.net.last.protocols, ["fanout.v1", "fanout.token.new.tok.en"]);
  t.client.disconnect();
});

Deno.test("token: no probe when getToken failed before any socket (nothing to ask)", async () => {
  const probe = probeFetch(401, "unauthorized\n");
  const t = fakeClient({
    getToken: () => Promise.reject(new Error("down")),
    fetch: probe.fetch,
  });
  t.client.connect();
  await settle();
  assert.equal(probe.calls.length, 0);
  assert.equal(t.client.state, "reconnecting");
  t.client.disconnect();
});
