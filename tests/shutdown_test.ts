/**
 * Graceful shutdown of a real `main.ts` process: SIGTERM and SIGINT close sockets with 1012,
 * `/healthz` answers 503 while draining, the process exits 0 within `SHUTDOWN_GRACE_MS` even when
 * a peer never completes the close handshake, and the logs honour `LOG_FORMAT=json` without ever
 * carrying a message text.
 */

import assert from "node:assert/strict";
import { RawWs } from "./helpers/raw_ws.ts";
import { freePort } from "./helpers/server.ts";
import { TestClient } from "./helpers/ws_client.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Collects a stream's text; `waitFor` resolves once it matches. */
function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const waiters: { pattern: RegExp; resolve: (m: string) => void }[] = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      for (const w of [...waiters]) {
        const m = text.match(w.pattern);
        if (m) waiters.splice(waiters.indexOf(w), 1), w.resolve(m[0]);
      }
    }
  })();
  return {
    done,
    text: () => text,
    waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
      const m = text.match(pattern);
      if (m) return Promise.resolve(m[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${text}`)), timeoutMs);
        waiters.push({ pattern, resolve: (s) => (clearTimeout(timer), resolve(s)) });
      });
    },
  };
}

function spawnServer(env: Record<string, string>) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P", "main.ts"],
    cwd: ROOT,
    env: { PORT: String(port), HOST: "127.0.0.1", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { port, child, stdout: collect(child.stdout), stderr: collect(child.stderr) };
}

async function healthz(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: await res.text() };
}

Deno.test("shutdown: SIGTERM closes sockets with 1012 and exits 0; json logs, no message text", async () => {
  const { port, child, stdout, stderr } = spawnServer({
    SHUTDOWN_GRACE_MS: "2000",
    LOG_FORMAT: "json",
    LOG_LEVEL: "debug",
  });
  try {
    const line = await stdout.waitFor(/\{[^\n]*"event":"server.listening"[^\n]*\}/);
    assert.equal(JSON.parse(line).ws, `ws://127.0.0.1:${port}/ws`);
    const a = await TestClient.join(`ws://127.0.0.1:${port}/ws?room=bye&name=Ann`);
    const b = await TestClient.join(`ws://127.0.0.1:${port}/ws?room=bye`);
    const secret = "the-secret-text-4711";
    a.client.send({ type: "message", text: secret, ref: "r1" });
    await b.client.next((f) => f.type === "message" && f.text === secret);
    const started = Date.now();
    child.kill("SIGTERM");
    for (const { client } of [a, b]) assert.equal((await client.closed).code, 1012);
    assert.equal((await child.status).code, 0);
    assert.ok(Date.now() - started < 4000, "exits within the grace period");
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    await Promise.all([stdout.done, stderr.done]);
    const lines = (stdout.text() + stderr.text()).split("\n").filter((l) => l.trim() !== "");
    // Deno's own start-up warnings aside, every line is one JSON object.
    for (const l of lines.filter((l) => !/^warning\b/i.test(l))) {
      const event = JSON.parse(l);
      assert.equal(typeof event.event, "string", l);
    }
    const events = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).event);
    for (const e of ["server.listening", "ws.join", "server.stopping", "server.stopped"]) {
      assert.ok(events.includes(e), `${e} in ${events.join(", ")}`);
    }
    assert.equal(events.filter((e) => e === "server.stopping").length, 1);
    assert.ok(!lines.some((l) => l.includes(secret)), "a message text was logged");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }
});

Deno.test("shutdown: SIGINT drains with /healthz 503 and exits 0 within the grace even if a peer never closes", async () => {
  const grace = 1500;
  const { port, child, stdout, stderr } = spawnServer({ SHUTDOWN_GRACE_MS: String(grace) });
  let stuck: RawWs | null = null;
  try {
    await stdout.waitFor(/Fanout listening on \S+ +\(WebSocket: \S+\)/);
    assert.equal((await healthz(port)).status, 200);
    // A peer that completes the upgrade and then never reads nor answers the close frame.
    const hs = await RawWs.connect(port, "/ws?room=stuck", { protocols: ["fanout.v1"] });
    assert.equal(hs.status, 101);
    stuck = hs.ws;
    const started = Date.now();
    child.kill("SIGINT");
    const draining = await (async () => {
      for (let i = 0; i < 50; i++) {
        const h = await healthz(port).catch(() => null);
        if (h?.status === 503) return h;
        await new Promise((r) => setTimeout(r, 20));
      }
      return null;
    })();
    assert.ok(draining, "/healthz answered 503 while draining");
    assert.match(draining.body, /"status":"draining"/);
    assert.equal((await child.status).code, 0);
    const took = Date.now() - started;
    assert.ok(took >= grace - 300, `waited for the stuck peer (${took} ms)`);
    assert.ok(took < grace + 1500, `exited within the grace period (${took} ms)`);
    await Promise.all([stdout.done, stderr.done]);
    assert.match(stdout.text(), /INFO +server\.stopping signal=SIGINT/);
  } finally {
    stuck?.abort();
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }
});
