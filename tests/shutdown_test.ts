import assert from "node:assert/strict";
import { freePort } from "./helpers/server.ts";
import { TestClient } from "./helpers/ws_client.ts";

async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
      const match = seen.match(pattern);
      if (match) return match[0];
    }
  } finally {
    reader.releaseLock();
  }
  throw new Error(`no line matching ${pattern} in: ${seen}`);
}

Deno.test("shutdown: SIGTERM closes sockets with 1012, /healthz stops, and the process exits 0", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P", "main.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { PORT: String(port), HOST: "127.0.0.1", SHUTDOWN_GRACE_MS: "2000", LOG_FORMAT: "json" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const line = await waitForLine(child.stdout, /Fanout listening on \S+ +\(WebSocket: \S+\)/);
    assert.match(line, new RegExp(`ws://127.0.0.1:${port}/ws`));
    const { client } = await TestClient.join(`ws://127.0.0.1:${port}/ws?room=bye`);
    const started = Date.now();
    child.kill("SIGTERM");
    const closed = await client.closed;
    assert.equal(closed.code, 1012);
    const { code } = await child.status;
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 4000, "exits within the grace period");
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
});
