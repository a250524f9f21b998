/**
 * The server API over real HTTP and real sockets: publish reaches every member and nobody echoes;
 * history and resume hold API messages in order; ref idempotency; broadcast with a failing room;
 * rooms; disconnect; keys (none, wrong, rotated); the bad-body matrix with exact statuses.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";
import { hsToken, TEST_SECRET } from "../helpers/tokens.ts";

const KEY = "api-key-0123456789-abcdef";
const OLD = "old-key-0123456789-abcdef";

async function call(
  srv: TestServer,
  method: string,
  path: string,
  body?: unknown,
  key: string | null = KEY,
) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(srv.httpUrl(path), {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

testWithPermissions(
  "api: without API_KEYS every endpoint says how to enable it (404)",
  async () => {
    const srv = await startTestServer();
    try {
      for (const [method, path] of [["POST", "/api/rooms/x/messages"], ["GET", "/api/rooms"]]) {
        const r = await call(srv, method, path, method === "POST" ? { text: "x" } : undefined);
        assert.equal(r.status, 404);
        assert.equal(r.body.error.code, "api_disabled");
        assert.match(r.body.error.message, /set API_KEYS/);
      }
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions(
  "api: publish reaches every member, no echo; history and resume keep it",
  async () => {
    const srv = await startTestServer({ API_KEYS: `${KEY},${OLD}` });
    const { client: a, welcome } = await TestClient.join(srv.wsUrl({ room: "orders" }));
    const { client: b } = await TestClient.join(srv.wsUrl({ room: "orders" }));
    const plain = await TestClient.connect(srv.wsUrl({ room: "orders" }), { json: false });
    try {
      a.send({ type: "message", text: "from a socket", ref: "s1" });
      await a.next((f) => f.type === "ack");
      const first = await call(srv, "POST", "/api/rooms/orders/messages", {
        data: { order: 42, status: "shipped" },
        ref: "o42",
        name: "Shop",
        info: { bot: true },
      });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.deepEqual(Object.keys(first.body).sort(), ["epoch", "id", "offset", "room", "ts"]);
      assert.equal(first.body.offset, 2);
      assert.equal(first.body.epoch, welcome.epoch);
      for (const c of [a, b]) {
        const m = await c.next((f) => f.type === "message" && f.from === "api");
        assert.deepEqual([m.data, m.name, m.info, m.client, m.offset], [
          { order: 42, status: "shipped" },
          "Shop",
          { bot: true },
          null,
          2,
        ]);
      }
      assert.equal(await plain.next((f) => f.startsWith("{")), '{"order":42,"status":"shipped"}');
      // The same ref again: the first result, 200, nothing sent again. The old key still works.
      const again = await call(srv, "POST", "/api/rooms/orders/messages", {
        data: { order: 42, status: "shipped" },
        ref: "o42",
        name: "Shop",
        info: { bot: true },
      }, OLD);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, { ...first.body, duplicate: true });
      const conflict = await call(srv, "POST", "/api/rooms/orders/messages", {
        text: "x",
        ref: "o42",
      });
      assert.deepEqual([conflict.status, conflict.body.error.code], [409, "ref_conflict"]);
      assert.deepEqual((await b.quietFor(150)).filter((f) => f.type === "message"), []);
      // History in order, and with resume semantics.
      await call(srv, "POST", "/api/rooms/orders/messages", { text: "third" });
      const all = await call(srv, "GET", "/api/rooms/orders/history");
      assert.equal(all.status, 200);
      assert.deepEqual(all.body.messages.map((m: { offset: number }) => m.offset), [1, 2, 3]);
      assert.equal(all.body.recovered, false);
      const after = await call(
        srv,
        "GET",
        `/api/rooms/orders/history?since=1&epoch=${welcome.epoch}&limit=1`,
      );
      assert.deepEqual([after.body.recovered, after.body.more], [true, true]);
      assert.deepEqual(after.body.messages.map((m: { from: string }) => m.from), ["api"]);
      const back = await TestClient.join(
        srv.wsUrl({ room: "orders", since: "1", epoch: welcome.epoch }),
      );
      assert.deepEqual(back.welcome.history.map((m: { offset: number }) => m.offset), [2, 3]);
      await back.client.close();
      // Rooms lists it, with its epoch and offset.
      const rooms = await call(srv, "GET", "/api/rooms?limit=5");
      const orders = rooms.body.rooms.find((r: { room: string }) => r.room === "orders");
      assert.deepEqual(orders, { room: "orders", online: 3, offset: 3, epoch: welcome.epoch });
    } finally {
      await a.close();
      await b.close();
      await plain.close();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "api: broadcast gives one result per room; a bad room does not hide the others",
  async () => {
    const srv = await startTestServer({ API_KEYS: KEY, API_MAX_BROADCAST_ROOMS: "3" });
    const { client: one } = await TestClient.join(srv.wsUrl({ room: "one" }));
    const { client: two } = await TestClient.join(srv.wsUrl({ room: "two" }));
    try {
      const r = await call(srv, "POST", "/api/broadcast", {
        rooms: ["one", "Bad Room", "two"],
        data: [1, 2],
        ref: "b1",
      });
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.body.results.map((x: { room: string; status: number }) => [x.room, x.status]),
        [
          ["one", 201],
          ["Bad Room", 400],
          ["two", 201],
        ],
      );
      assert.equal(r.body.results[1].error.code, "invalid_room");
      for (const c of [one, two]) {
        assert.deepEqual(
          (await c.next((f) => f.type === "message")).data,
          [1, 2],
        );
      }
      const four = await call(srv, "POST", "/api/broadcast", { rooms: ["a", "b", "c"], text: "x" });
      assert.equal(four.status, 200, "at API_MAX_BROADCAST_ROOMS");
      const over = await call(srv, "POST", "/api/broadcast", {
        rooms: ["a", "b", "c", "d"],
        text: "x",
      });
      assert.deepEqual([over.status, over.body.error.code], [400, "invalid_body"]);
      assert.match(over.body.error.message, /at most 3 \(API_MAX_BROADCAST_ROOMS\)/);
    } finally {
      await one.close();
      await two.close();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "api: keys: none, wrong, another scheme get 401; the rate limit 429",
  async () => {
    const srv = await startTestServer({ API_KEYS: KEY, API_RATE_LIMIT: "2" });
    try {
      for (const key of [null, "wrong-key-0123456789-abcdef"]) {
        const r = await call(srv, "GET", "/api/rooms", undefined, key);
        assert.deepEqual([r.status, r.body.error.code], [401, "unauthorized"]);
        assert.equal(r.headers.get("www-authenticate"), "Bearer");
        assert.ok(!JSON.stringify(r.body).includes(KEY));
      }
      const basic = await fetch(srv.httpUrl("/api/rooms"), {
        headers: { authorization: `Basic ${KEY}` },
      });
      assert.equal(basic.status, 401);
      await basic.body?.cancel();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await call(srv, "GET", "/api/rooms")).status);
      assert.deepEqual(statuses.slice(0, 4), [200, 200, 200, 200], "a burst of twice the rate");
      assert.ok(statuses.includes(429), statuses.join(","));
      const limited = await call(srv, "GET", "/api/rooms");
      assert.equal(limited.body.error.code, "rate_limited");
      assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions("api: the bad-body matrix, each with its exact status and code", async () => {
  const srv = await startTestServer({ API_KEYS: KEY, MAX_MESSAGE_BYTES: "1024" });
  const { client: witness } = await TestClient.join(srv.wsUrl({ room: "r" }));
  try {
    const deep = JSON.parse("[".repeat(40) + "]".repeat(40));
    const cases: [string, string, string, unknown, number, string][] = [
      ["malformed JSON", "POST", "/api/rooms/r/messages", '{"text":', 400, "invalid_body"],
      ["empty body", "POST", "/api/rooms/r/messages", "", 400, "invalid_body"],
      ["an array", "POST", "/api/rooms/r/messages", [1], 400, "invalid_body"],
      ["text a number", "POST", "/api/rooms/r/messages", { text: 1 }, 400, "invalid_body"],
      ["neither text nor data", "POST", "/api/rooms/r/messages", { ref: "x" }, 400, "invalid_body"],
      ["empty text", "POST", "/api/rooms/r/messages", { text: "  " }, 400, "invalid_body"],
      [
        "control characters",
        "POST",
        "/api/rooms/r/messages",
        { text: "a\u0007" },
        400,
        "invalid_body",
      ],
      [
        "unknown field",
        "POST",
        "/api/rooms/r/messages",
        { text: "x", colour: 1 },
        400,
        "invalid_body",
      ],
      ["deep data", "POST", "/api/rooms/r/messages", { data: deep }, 400, "too_deep"],
      ["bad ref", "POST", "/api/rooms/r/messages", { text: "x", ref: "" }, 400, "invalid_body"],
      [
        "bad name",
        "POST",
        "/api/rooms/r/messages",
        { text: "x", name: "a\u202Eb" },
        400,
        "invalid_body",
      ],
      [
        "info an array",
        "POST",
        "/api/rooms/r/messages",
        { text: "x", info: [1] },
        400,
        "invalid_body",
      ],
      [
        "invalid room",
        "POST",
        "/api/rooms/Bad%20Room/messages",
        { text: "x" },
        400,
        "invalid_room",
      ],
      [
        "message over MAX_MESSAGE_BYTES",
        "POST",
        "/api/rooms/r/messages",
        { text: "x".repeat(1100) },
        413,
        "too_large",
      ],
      [
        "body over the limit",
        "POST",
        "/api/rooms/r/messages",
        { text: "x", pad: "y".repeat(5000) },
        413,
        "too_large",
      ],
      [
        "rooms not an array",
        "POST",
        "/api/broadcast",
        { rooms: "r", text: "x" },
        400,
        "invalid_body",
      ],
      ["rooms empty", "POST", "/api/broadcast", { rooms: [], text: "x" }, 400, "invalid_body"],
      [
        "a huge rooms array",
        "POST",
        "/api/broadcast",
        { rooms: Array(5000).fill("r"), text: "x" },
        413,
        "too_large",
      ],
      [
        "a room twice",
        "POST",
        "/api/broadcast",
        { rooms: ["r", "r"], text: "x" },
        400,
        "invalid_body",
      ],
      ["history limit 0", "GET", "/api/rooms/r/history?limit=0", undefined, 400, "invalid_query"],
      [
        "since without epoch",
        "GET",
        "/api/rooms/r/history?since=1",
        undefined,
        400,
        "invalid_query",
      ],
      [
        "disconnect two selectors",
        "POST",
        "/api/disconnect",
        { user: "a", client: "b" },
        400,
        "invalid_body",
      ],
      [
        "disconnect reconnect a string",
        "POST",
        "/api/disconnect",
        { user: "a", reconnect: "yes" },
        400,
        "invalid_body",
      ],
      ["unknown endpoint", "GET", "/api/nope", undefined, 404, "not_found"],
    ];
    for (const [what, method, path, body, status, code] of cases) {
      const r = await call(srv, method, path, body);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, what);
      assert.equal(typeof r.body.error.message, "string", what);
      assert.doesNotMatch(
        r.body.error.message,
        /undefined|at .*\.ts/,
        `${what}: a sentence, no stack`,
      );
    }
    assert.deepEqual((await witness.quietFor(150)).filter((f) => f.type === "message"), []);
  } finally {
    await witness.close();
    await srv.stop();
  }
});

testWithPermissions(
  "api: disconnect closes a user's sockets with 4403, or 4401 to reconnect",
  async () => {
    const srv = await startTestServer({ API_KEYS: KEY, AUTH_SECRET: TEST_SECRET });
    try {
      const token = (sub: string) => hsToken({ sub, rooms: { "*": "rw" } });
      const ann1 = await TestClient.join(srv.wsUrl({ room: "a", token: await token("ann") }));
      const ann2 = await TestClient.join(srv.wsUrl({ room: "b", token: await token("ann") }));
      const bob = await TestClient.join(srv.wsUrl({ room: "a", token: await token("bob") }));
      const r = await call(srv, "POST", "/api/disconnect", { user: "ann", reason: "banned" });
      assert.deepEqual(r.body, { closed: 2 });
      for (const c of [ann1, ann2]) {
        const closed = await c.client.closed;
        assert.deepEqual([closed.code, closed.reason], [4403, "banned"]);
      }
      const kick = await call(srv, "POST", "/api/disconnect", {
        connection: bob.welcome.id,
        reconnect: true,
      });
      assert.deepEqual(kick.body, { closed: 1 });
      assert.equal((await bob.client.closed).code, 4401);
      assert.deepEqual((await call(srv, "POST", "/api/disconnect", { user: "nobody" })).body, {
        closed: 0,
      });
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions(
  "api: presence lists the members with user, name, info and client",
  async () => {
    const srv = await startTestServer({ API_KEYS: KEY, AUTH_SECRET: TEST_SECRET });
    try {
      const ann = await TestClient.join(
        srv.wsUrl({
          room: "p",
          client: "ann-tab-0001",
          token: await hsToken({ sub: "ann", name: "Ann", info: { team: 7 }, rooms: { p: "rw" } }),
        }),
      );
      const bob = await TestClient.join(
        srv.wsUrl({ room: "p", token: await hsToken({ sub: "bob", rooms: { p: "r" } }) }),
      );
      const r = await call(srv, "GET", "/api/rooms/p/presence");
      assert.equal(r.status, 200);
      assert.equal(r.body.online, 2);
      assert.deepEqual(r.body.members, [
        {
          id: ann.welcome.id,
          name: "Ann",
          client: ann.welcome.client,
          user: "ann",
          info: { team: 7 },
        },
        { id: bob.welcome.id, name: null, client: null, user: "bob" },
      ]);
      const one = await call(srv, "GET", "/api/rooms/p/presence?limit=1");
      assert.deepEqual([one.body.online, one.body.members.length], [2, 1]);
      const empty = await call(srv, "GET", "/api/rooms/nobody-here/presence");
      assert.deepEqual(empty.body, { room: "nobody-here", online: 0, members: [] });
      const bad = await call(srv, "GET", "/api/rooms/p/presence?limit=100000");
      assert.deepEqual([bad.status, bad.body.error.code], [400, "invalid_query"]);
      await ann.client.close();
      await bob.client.close();
    } finally {
      await srv.stop();
    }
  },
);
