/**
 * Auth mode over real sockets with real tokens (HS256 and ES256 signed by `npm:jose`): the
 * bad-token matrix at the handshake, with a witness in the room that sees nothing; the three
 * ways to carry a token; user and info on the wire; read-only grants; anonymous readers;
 * refresh over the open socket.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { hsToken, keyPair, noneToken, TEST_SECRET } from "../helpers/tokens.ts";
import { testWithPermissions } from "../helpers/requires.ts";

async function status(srv: TestServer, query: Record<string, string>, headers = {}) {
  const res = await fetch(srv.httpUrl(`/ws?${new URLSearchParams(query)}`), { headers });
  return { status: res.status, body: await res.text() };
}

testWithPermissions(
  "auth: the bad-token matrix at the handshake, a witness sees nothing",
  async () => {
    const es = await keyPair("ES256");
    const srv = await startTestServer({
      AUTH_SECRET: TEST_SECRET,
      AUTH_ISSUER: "https://app.example",
      MAX_TOKEN_BYTES: "1024",
      MAX_INFO_BYTES: "512",
      ALLOW_ANONYMOUS: "1",
      PUBLIC_ROOMS: "lobby-public",
      OPERATOR_TOKEN: "operator-token-0123456789",
    });
    const sec = Math.floor(Date.now() / 1000);
    const good = {
      sub: "ann",
      iss: "https://app.example",
      rooms: { "team-42-*": "rw", lobby: "r" },
    };
    const { client: witness } = await TestClient.join(
      srv.wsUrl({ room: "team-42-a", token: await hsToken({ ...good, sub: "wit" }) }),
    );
    try {
      const cases: [string, Record<string, string>, number, RegExp][] = [
        ["missing", { room: "team-42-a" }, 401, /room team-42-a needs a token/],
        ["malformed", { room: "team-42-a", token: "not-a-jwt" }, 401, /not a compact JWS/],
        [
          "bad signature",
          { room: "team-42-a", token: await hsToken(good, "wrong-secret-0123456789abcdef-xyz") },
          401,
          /signature is invalid/,
        ],
        ["alg none", { room: "team-42-a", token: noneToken(good) }, 401, /algorithm/],
        [
          "ES256 against a secret",
          { room: "team-42-a", token: await es.sign(good) },
          401,
          /algorithm/,
        ],
        [
          "HS256 signed with the public key",
          { room: "team-42-a", token: await hsToken(good, es.pem) },
          401,
          /signature/,
        ],
        [
          "expired",
          { room: "team-42-a", token: await hsToken({ ...good, exp: sec - 5 }) },
          401,
          /expired/,
        ],
        [
          "nbf in the future",
          { room: "team-42-a", token: await hsToken({ ...good, nbf: sec + 300 }) },
          401,
          /not valid yet/,
        ],
        [
          "wrong issuer",
          { room: "team-42-a", token: await hsToken({ ...good, iss: "https://evil" }) },
          401,
          /wrong issuer/,
        ],
        [
          "oversize token",
          { room: "team-42-a", token: await hsToken({ ...good, pad: "x".repeat(1000) }) },
          401,
          /over 1024 bytes/,
        ],
        [
          "oversize info",
          { room: "team-42-a", token: await hsToken({ ...good, info: { b: "x".repeat(600) } }) },
          401,
          /info is \d+ bytes/,
        ],
        [
          "room not granted",
          { room: "team-7", token: await hsToken(good) },
          403,
          /does not grant room team-7/,
        ],
        ["pattern edge", { room: "team-420", token: await hsToken(good) }, 403, /team-420/],
      ];
      for (const [what, query, expected, reason] of cases) {
        const got = await status(srv, query);
        assert.equal(got.status, expected, `${what}: ${got.body}`);
        assert.match(got.body, reason, what);
        if (query.token) assert.ok(!got.body.includes(query.token), `${what}: never echoed`);
        // The same refusal for a real WebSocket client.
        await assert.rejects(TestClient.connect(srv.wsUrl(query)), /could not connect/, what);
      }
      // A good token passes the token check: a plain GET then gets the 426 of a non-WebSocket request.
      assert.equal(
        (await status(srv, { room: "team-42-a", token: await hsToken(good) })).status,
        426,
      );
      assert.equal((await status(srv, { room: "lobby-public" })).status, 426, "anonymous, public");
      const leaked = await witness.quietFor(200);
      assert.deepEqual(
        leaked.filter((f) => f.type !== "presence" || f.joined),
        [],
        "nobody joined",
      );
      // Each refusal is counted by its reason, and the operator token is needed to read them.
      const metrics = await (await fetch(srv.httpUrl("/metrics"), {
        headers: { authorization: "Bearer operator-token-0123456789" },
      })).text();
      for (
        const reason of ["token_missing", "token_signature", "token_expired", "handshake_forbidden"]
      ) {
        assert.match(
          metrics,
          new RegExp(`fanout_rejected_total\\{reason="${reason}"\\} [1-9]`),
          reason,
        );
      }
    } finally {
      await witness.close();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "auth: a token by query, subprotocol or header; user and info on the wire",
  async () => {
    const es = await keyPair("ES256");
    const srv = await startTestServer({ AUTH_SECRET: TEST_SECRET, AUTH_PUBLIC_KEY: es.pem });
    const clients: TestClient[] = [];
    try {
      const annToken = await hsToken({
        sub: "ann",
        name: "Ann",
        info: { team: 42 },
        rooms: { lobby: "rw" },
      });
      const ann = await TestClient.connect(srv.wsUrl({ room: "lobby", name: "Mallory" }), {
        protocols: [`fanout.token.${annToken}`],
      });
      clients.push(ann);
      assert.equal(ann.ws.protocol, "fanout.v1", "the token subprotocol is never echoed");
      const welcome = await ann.next((f) => f.type === "welcome");
      assert.equal(welcome.user, "ann");
      assert.equal(welcome.access, "rw");
      assert.ok(welcome.expires > Date.now());
      await ann.quietFor(100); // ann's own join is announced alone, before bob's
      const bobToken = await es.sign({ sub: "bob", rooms: { "*": "r" } });
      const bob = await TestClient.connect(srv.wsUrl({ room: "lobby" }), {
        headers: { authorization: `Bearer ${bobToken}` },
      });
      clients.push(bob);
      await bob.next((f) => f.type === "welcome");
      const joined = await ann.next((f) => f.type === "presence" && f.joined?.user === "bob");
      assert.equal(joined.joined.name, null);
      ann.send({ type: "message", text: "hello", ref: "r1" });
      await ann.next((f) => f.type === "ack" && f.ref === "r1");
      const m = await bob.next((f) => f.type === "message");
      assert.equal(m.user, "ann");
      assert.equal(m.name, "Ann", "the token's name overrides ?name=");
      assert.deepEqual(m.info, { team: 42 });
      bob.send({ type: "message", text: "can I?", ref: "b1" });
      const err = await bob.next((f) => f.type === "error");
      assert.deepEqual([err.code, err.ref], ["forbidden", "b1"]);
      assert.deepEqual((await ann.quietFor(150)).filter((f) => f.type === "message"), []);
      // The same client key under two users gives two public ids.
      const key = "shared-client-key";
      const carolToken = await hsToken({ sub: "carol", rooms: { lobby: "rw" } });
      const annAgain = await TestClient.join(
        srv.wsUrl({ room: "lobby", client: key, token: annToken }),
      );
      const carol = await TestClient.join(
        srv.wsUrl({ room: "lobby", client: key, token: carolToken }),
      );
      clients.push(annAgain.client, carol.client);
      assert.notEqual(annAgain.welcome.client, carol.welcome.client);
    } finally {
      for (const c of clients) await c.close();
      await srv.stop();
    }
  },
);

testWithPermissions("auth: anonymous readers read public rooms and may not send", async () => {
  const srv = await startTestServer({
    AUTH_SECRET: TEST_SECRET,
    ALLOW_ANONYMOUS: "1",
    PUBLIC_ROOMS: "news-*",
  });
  try {
    const { client: reader, welcome } = await TestClient.join(srv.wsUrl({ room: "news-1" }));
    assert.equal(welcome.user, null);
    assert.equal(welcome.access, "r");
    assert.equal(welcome.expires, null);
    const { client: editor } = await TestClient.join(
      srv.wsUrl({ room: "news-1", token: await hsToken({ sub: "ed", rooms: { "news-*": "rw" } }) }),
    );
    editor.send({ type: "message", text: "extra!" });
    assert.equal((await reader.next((f) => f.type === "message")).user, "ed");
    reader.send({ type: "message", text: "me too" });
    assert.equal((await reader.next((f) => f.type === "error")).code, "forbidden");
    await reader.close();
    await editor.close();
  } finally {
    await srv.stop();
  }
});

testWithPermissions(
  "auth: refresh over the open socket; a revoked room ends with 4403",
  async () => {
    const srv = await startTestServer({ AUTH_SECRET: TEST_SECRET });
    try {
      const short = await hsToken({
        sub: "ann",
        rooms: { lobby: "rw" },
        exp: Math.floor(Date.now() / 1000) + 60,
      });
      const { client, welcome } = await TestClient.join(srv.wsUrl({ room: "lobby", token: short }));
      const longer = await hsToken({
        sub: "ann",
        rooms: { lobby: "rw" },
        exp: Math.floor(Date.now() / 1000) + 600,
      });
      client.send({ type: "refresh", token: longer, ref: "f1" });
      const refreshed = await client.next((f) => f.type === "refreshed");
      assert.equal(refreshed.ref, "f1");
      assert.ok(refreshed.expires > welcome.expires);
      client.send({
        type: "refresh",
        token: await hsToken({ sub: "eve", rooms: { lobby: "rw" } }),
      });
      assert.equal((await client.next((f) => f.type === "error")).code, "forbidden");
      client.send({ type: "refresh", token: "garbage" });
      assert.equal((await client.next((f) => f.type === "error")).code, "invalid_token");
      client.send({
        type: "refresh",
        token: await hsToken({ sub: "ann", rooms: { other: "rw" } }),
      });
      const revoked = await client.next((f) => f.type === "error");
      assert.equal(revoked.code, "forbidden");
      assert.match(revoked.message, /no longer grants room lobby/);
      assert.equal((await client.closed).code, 4403);
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions("open mode: a token is ignored, not required", async () => {
  const srv = await startTestServer();
  try {
    assert.equal((await status(srv, { room: "lobby" })).status, 426);
    const { client, welcome } = await TestClient.join(srv.wsUrl({ room: "lobby", token: "x.y.z" }));
    assert.equal("user" in welcome, false);
    await client.close();
  } finally {
    await srv.stop();
  }
});
