import assert from "node:assert/strict";
import { requestToken } from "../../lib/auth/request_token.ts";

function req(url: string, headers: Record<string, string> = {}): Request {
  return new Request(`http://h${url}`, { headers });
}

Deno.test("a token is read from the query, the subprotocol or a Bearer header", () => {
  assert.deepEqual(requestToken(req("/ws?token=a.b.c")), { ok: true, token: "a.b.c" });
  assert.deepEqual(
    requestToken(req("/ws", { "sec-websocket-protocol": "fanout.v1, fanout.token.a.b.c" })),
    { ok: true, token: "a.b.c" },
  );
  assert.deepEqual(requestToken(req("/ws", { authorization: "bearer a.b.c" })), {
    ok: true,
    token: "a.b.c",
  });
  assert.deepEqual(requestToken(req("/ws")), { ok: true, token: null });
  assert.deepEqual(requestToken(req("/ws", { authorization: "Basic dXNlcjpwYXNz" })), {
    ok: true,
    token: null,
  });
});

Deno.test("an empty token is found as empty (refused later as missing)", () => {
  assert.deepEqual(requestToken(req("/ws?token=")), { ok: true, token: "" });
});

Deno.test("the same token twice is one token; two different ones are refused", () => {
  assert.deepEqual(requestToken(req("/ws?token=a.b.c", { authorization: "Bearer a.b.c" })), {
    ok: true,
    token: "a.b.c",
  });
  const two = requestToken(req("/ws?token=a.b.c", { authorization: "Bearer x.y.z" }));
  assert.equal(two.ok, false);
  const query = requestToken(req("/ws?token=a.b.c&token=x.y.z"));
  assert.equal(query.ok, false);
  assert.match((query as { reason: string }).reason, /more than one token/);
  assert.ok(!(query as { reason: string }).reason.includes("a.b.c"));
});
