/**
 * Graceful shutdown of a real `main.ts` process: SIGTERM and SIGINT close sockets with 1012,
 * `/healthz` answers 503 while draining, the process exits 0 within `SHUTDOWN_GRACE_MS` even when
 * a peer never completes the close handshake, and the logs honour `LOG_FORMAT=json` without ever
 * carrying a message text.
 */

import assert from "node:assert/strict";
import { startProcessServer } from "../helpers/process_server.ts";
import { RawWs } from "../helpers/raw_ws.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

async function healthz(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

testWithPermissions(
  "shutdown: SIGTERM closes sockets with 1012 and exits 0; json logs, no message text",
  async () => {
    const srv = await startProcessServer({
      env: { SHUTDOWN_GRACE_MS: "2000", LOG_FORMAT: "json", LOG_LEVEL: "debug", NO_COLOR: "1" },
    });
    try {
      const line = srv.output().match(/\{[^\n]*"event":"server.listening"[^\n]*\}/)![0];
      assert.equal(JSON.parse(line).ws, `ws://127.0.0.1:${srv.port}/ws`);
      const a = await TestClient.join(srv.wsUrl({ room: "bye", name: "Ann" }));
      const b = await TestClient.join(srv.wsUrl({ room: "bye" }));
      const secret = "the-secret-text-4711";
      a.client.send({ type: "message", text: secret, ref: "r1" });
      await b.client.next((f) => f.type === "message" && f.text === secret);
      const started = Date.now();
      srv.signal("SIGTERM");
      for (const { client } of [a, b]) assert.equal((await client.closed).code, 1012);
      assert.equal(await srv.exited, 0);
      assert.ok(Date.now() - started < 4000, "exits within the grace period");
      await assert.rejects(fetch(srv.httpUrl("/healthz")));
      const lines = srv.output().split("\n").filter((l) => l.trim() !== "");
      // Every line is one JSON object: no Deno warning either (main.ts has no default export).
      for (const l of lines) {
        const event = JSON.parse(l);
        assert.equal(typeof event.event, "string", l);
      }
      const events = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).event);
      // The start-up warm-up ran (WARM_UP_HANDSHAKES, default 2000) before the server listened,
      // and logged nothing of its throwaway server (no second engine.started, no ws.join of it).
      const warmed = lines.map((l) => JSON.parse(l)).find((e) => e.event === "server.warmed_up");
      assert.equal(warmed?.handshakes, 2000, lines.join("\n"));
      assert.equal(events.filter((e) => e === "engine.started").length, 1);
      assert.equal(events.filter((e) => e === "ws.join").length, 2);
      for (const e of ["server.listening", "ws.join", "server.stopping", "server.stopped"]) {
        assert.ok(events.includes(e), `${e} in ${events.join(", ")}`);
      }
      assert.equal(events.filter((e) => e === "server.stopping").length, 1);
      assert.ok(!lines.some((l) => l.includes(secret)), "a message text was logged");
    } finally {
      await srv.kill();
    }
  },
);

testWithPermissions(
  "shutdown: SIGINT drains with /healthz 503 and exits 0 within the grace even if a peer never closes",
  async () => {
    const grace = 1500;
    const srv = await startProcessServer({
      env: { SHUTDOWN_GRACE_MS: String(grace), LOG_LEVEL: "info", NO_COLOR: "1" },
    });
    let stuck: RawWs | null = null;
    try {
      assert.match(srv.output(), /Fanout listening on \S+ +\(WebSocket: \S+\)/);
      assert.equal((await healthz(srv.httpUrl("/healthz"))).status, 200);
      // A peer that completes the upgrade and then never reads nor answers the close frame.
      const hs = await RawWs.connect(srv.port, "/ws?room=stuck", { protocols: ["fanout.v1"] });
      assert.equal(hs.status, 101);
      stuck = hs.ws;
      const started = Date.now();
      srv.signal("SIGINT");
      const draining = await (async () => {
        for (let i = 0; i < 50; i++) {
          const h = await healthz(srv.httpUrl("/healthz")).catch(() => null);
          if (h?.status === 503) return h;
          await new Promise((r) => setTimeout(r, 20));
        }
        return null;
      })();
      assert.ok(draining, "/healthz answered 503 while draining");
      assert.match(draining.body, /"status":"draining"/);
      assert.equal(await srv.exited, 0);
      const took = Date.now() - started;
      assert.ok(took >= grace - 300, `waited for the stuck peer (${took} ms)`);
      assert.ok(took < grace + 1500, `exited within the grace period (${took} ms)`);
      assert.match(srv.output(), /INFO +server\.stopping signal=SIGINT/);
    } finally {
      stuck?.abort();
      await srv.kill();
    }
  },
);
