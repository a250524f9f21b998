/**
 * With `OPERATOR_TOKEN` set, `/api/stats` and `/metrics` need `Authorization: Bearer <token>`;
 * `/healthz` stays public.
 */

import assert from "node:assert/strict";
import { checkBearer, digestToken, sameBytes } from "../../lib/server/operator_auth.ts";
import { startTestServer } from "../helpers/server.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const TOKEN = "operator-token-0123456789";

testWithPermissions("sameBytes compares every byte and the lengths", () => {
  const a = new Uint8Array([1, 2, 3, 4]);
  assert.equal(sameBytes(a, new Uint8Array([1, 2, 3, 4])), true);
  assert.equal(sameBytes(a, new Uint8Array([1, 2, 3, 5])), false, "last byte differs");
  assert.equal(sameBytes(a, new Uint8Array([0, 2, 3, 4])), false, "first byte differs");
  assert.equal(sameBytes(a, new Uint8Array([1, 2, 3])), false, "shorter");
  assert.equal(sameBytes(a, new Uint8Array([1, 2, 3, 4, 0])), false, "longer");
});

testWithPermissions(
  "checkBearer tells a missing header, another scheme and a wrong token apart",
  async () => {
    const expected = await digestToken(TOKEN);
    assert.equal(await checkBearer(`Bearer ${TOKEN}`, expected), null);
    assert.equal(await checkBearer(`bearer ${TOKEN}`, expected), null, "the scheme is case-blind");
    assert.equal(await checkBearer(null, expected), "missing");
    assert.equal(await checkBearer("", expected), "missing");
    assert.equal(await checkBearer(`Basic ${TOKEN}`, expected), "scheme");
    assert.equal(await checkBearer(TOKEN, expected), "scheme");
    assert.equal(await checkBearer(`Bearer ${TOKEN}x`, expected), "token");
    assert.equal(await checkBearer(`Bearer ${TOKEN.slice(0, -1)}`, expected), "token");
    assert.equal(await checkBearer("Bearer ", expected), "token");
  },
);

testWithPermissions(
  "http: OPERATOR_TOKEN guards /api/stats and /metrics, not /healthz",
  async () => {
    const srv = await startTestServer({ OPERATOR_TOKEN: TOKEN });
    const get = (path: string, authorization?: string) =>
      fetch(srv.httpUrl(path), { headers: authorization ? { authorization } : {} });
    try {
      const health = await get("/healthz");
      assert.equal(health.status, 200);
      await health.body?.cancel();

      const refusals: [string | undefined, RegExp][] = [
        [undefined, /^unauthorized: send Authorization: Bearer <operator token>\n$/],
        [`Bearer ${TOKEN.replace("0", "1")}`, /^unauthorized: wrong operator token\n$/],
        [`Basic ${TOKEN}`, /^unauthorized: Authorization must use the Bearer scheme\n$/],
        [TOKEN, /^unauthorized: Authorization must use the Bearer scheme\n$/],
      ];
      for (const path of ["/api/stats", "/metrics"]) {
        for (const [authorization, reason] of refusals) {
          const res = await get(path, authorization);
          assert.equal(res.status, 401, `${path} with ${authorization ? "a bad" : "no"} header`);
          assert.equal(res.headers.get("www-authenticate"), "Bearer");
          const text = await res.text();
          assert.match(text, reason);
          assert.equal(text.includes(TOKEN), false, "the token is never echoed");
        }
      }

      const stats = await get("/api/stats", `Bearer ${TOKEN}`);
      assert.equal(stats.status, 200);
      assert.equal((await stats.json()).errors.operator_unauthorized, 8);
      const metrics = await get("/metrics", `bearer ${TOKEN}`);
      assert.equal(metrics.status, 200);
      assert.match(
        await metrics.text(),
        /^fanout_rejected_total\{reason="operator_unauthorized"\} 8$/m,
      );
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions("http: without OPERATOR_TOKEN the operator endpoints are public", async () => {
  const srv = await startTestServer();
  try {
    for (const path of ["/api/stats", "/metrics"]) {
      const res = await fetch(srv.httpUrl(path));
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
    }
  } finally {
    await srv.stop();
  }
});

testWithPermissions(
  "http: in auth mode /api/stats and /metrics are never public, /healthz is",
  async () => {
    const secret = "s".repeat(32);
    for (
      const [env, withToken] of [[{ AUTH_SECRET: secret }, 401], [
        { AUTH_SECRET: secret, OPERATOR_TOKEN: TOKEN },
        200,
      ]] as const
    ) {
      const srv = await startTestServer(env);
      try {
        const health = await fetch(srv.httpUrl("/healthz"));
        assert.equal(health.status, 200);
        await health.body?.cancel();
        for (const path of ["/api/stats", "/metrics"]) {
          const anonymous = await fetch(srv.httpUrl(path));
          assert.equal(anonymous.status, 401, path);
          if (!("OPERATOR_TOKEN" in env)) {
            assert.match(await anonymous.text(), /set OPERATOR_TOKEN to read this/);
          } else await anonymous.body?.cancel();
          const bearer = await fetch(srv.httpUrl(path), {
            headers: { authorization: `Bearer ${TOKEN}` },
          });
          assert.equal(bearer.status, withToken, `${path} with the operator token`);
          await bearer.body?.cancel();
        }
      } finally {
        await srv.stop();
      }
    }
  },
);
