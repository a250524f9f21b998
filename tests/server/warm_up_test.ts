import assert from "node:assert/strict";
import {
  logWarmUp,
  upgradeRequest,
  warmUp,
  warmUpBeforeServing,
} from "../../lib/server/warm_up.ts";
import type { Fanout } from "../../lib/server/fanout.ts";
import { listen } from "../../lib/server/deno_server.ts";
import { loadConfig } from "../../lib/shared/config.ts";
import { createLogger } from "../../lib/shared/log.ts";

// Deno.test's sanitizers (ops, resources) fail these tests if the throwaway server leaves a timer,
// a pending read or a listener behind.

/** Bytes of the 101 a warm-up handshake gets (the key of client `i`, subprotocol or not). */
function switchingBytes(plain: boolean): number {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    .length +
    "Sec-WebSocket-Accept: 0123456789012345678901234567\r\n".length +
    (plain ? 0 : "Sec-WebSocket-Protocol: fanout.v1\r\n".length) + 2;
}

/** `listen`, remembering whether each server it started has stopped listening. */
function watchedListen(): { listen: typeof listen; ended: () => boolean[] } {
  const servers: { ended: boolean }[] = [];
  return {
    listen: async (...args) => {
      const server = await listen(...args), state = { ended: false };
      servers.push(state);
      server.finished.then(() => state.ended = true);
      return server;
    },
    ended: () => servers.map((s) => s.ended),
  };
}

Deno.test("warmUp: every handshake is answered by a real server in memory, which is then gone", async () => {
  const watched = watchedListen();
  const report = await warmUp(130, { window: 50, plainEvery: 4, listen: watched.listen });
  assert.deepEqual(watched.ended(), [true]);
  assert.equal(report.error, undefined);
  assert.equal(report.handshakes, 130);
  // 98 JSON clients got a 101 and a welcome (which lists the room's members), 32 plain ones a 101.
  const heads = 98 * switchingBytes(false) + 32 * switchingBytes(true);
  assert.ok(
    report.bytes > heads + 98 * 100,
    `expected the 101s (${heads} bytes) and 98 welcomes, got ${report.bytes} bytes`,
  );
  assert.ok(report.ms > 0);
});

Deno.test("warmUp: plain-mode handshakes only (each answered by its 101 alone)", async () => {
  const report = await warmUp(20, { window: 7, plainEvery: 1 });
  assert.equal(report.error, undefined);
  assert.equal(report.handshakes, 20);
  assert.equal(report.bytes, 20 * switchingBytes(true));
});

Deno.test("warmUp: 0 handshakes starts nothing", async () => {
  let clock = 0;
  const report = await warmUp(0, { now: () => clock++ });
  assert.deepEqual(report, { handshakes: 0, bytes: 0, ms: 0 });
  assert.equal(clock, 0);
});

Deno.test("warmUp: a wave that gets no answer is reported, not thrown, and the server still ends", async () => {
  // With no turn allowed, the room's first member cannot have been welcomed yet.
  const watched = watchedListen();
  const report = await warmUp(10, { maxTurns: 0, listen: watched.listen });
  assert.deepEqual(watched.ended(), [true]);
  assert.equal(report.handshakes, 0);
  assert.equal(report.error, "1 of 1 handshakes got no answer in 0 turns");
});

Deno.test("warmUp: a shutdown that fails is reported, after the handshakes it counted", async () => {
  const report = await warmUp(20, {
    listen: async (...args) => {
      const server = await listen(...args);
      return {
        ...server,
        shutdown: () => server.shutdown().then(() => Promise.reject(new Error("stuck socket"))),
      };
    },
  });
  assert.equal(report.handshakes, 20);
  assert.equal(report.error, "stuck socket");
});

Deno.test("warmUp: the real server started after it has nothing of it (connections, metrics)", async () => {
  await warmUp(60);
  const server = await listen(loadConfig({ HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "error" }), {
    logger: createLogger({ write: () => {} }),
  });
  try {
    const { hub } = server.fanout.deps;
    assert.equal(hub.size, 0);
    assert.equal(hub.metrics.connectionsTotal, 0);
    assert.equal(hub.metrics.framesOut, 0);
    assert.equal(hub.roomSizes().size, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("upgradeRequest: a browser's upgrade request, JSON mode or plain", () => {
  const json = new TextDecoder().decode(upgradeRequest(3, "lobby"));
  assert.match(json, /^GET \/ws\?room=lobby HTTP\/1\.1\r\n/);
  // A key is 16 bytes in base64, each client's its own.
  const key = (text: string) => text.match(/\r\nSec-WebSocket-Key: ([A-Za-z0-9+/=]+)\r\n/)![1];
  assert.equal(atob(key(json)).length, 16);
  assert.notEqual(key(json), key(new TextDecoder().decode(upgradeRequest(4, "lobby"))));
  assert.match(json, /\r\nSec-WebSocket-Protocol: fanout\.v1\r\n\r\n$/);
  const plain = new TextDecoder().decode(upgradeRequest(3, "lobby", true));
  assert.doesNotMatch(plain, /Sec-WebSocket-Protocol/);
  assert.ok(plain.endsWith("Sec-WebSocket-Version: 13\r\n\r\n"));
});

Deno.test("logWarmUp: info with the count and time, warn with the reason, nothing when off", () => {
  const lines: string[] = [];
  const logger = createLogger({ format: "json", write: (l) => lines.push(l), now: () => 0 });
  logWarmUp({ handshakes: 2000, bytes: 1, ms: 87.4 }, logger);
  logWarmUp({ handshakes: 50, bytes: 1, ms: 3, error: "1 of 50 handshakes got no answer" }, logger);
  logWarmUp({ handshakes: 0, bytes: 0, ms: 0 }, logger);
  assert.deepEqual(lines.map((l) => JSON.parse(l)), [
    {
      time: "1970-01-01T00:00:00.000Z",
      level: "info",
      event: "server.warmed_up",
      handshakes: 2000,
      ms: 87,
    },
    {
      time: "1970-01-01T00:00:00.000Z",
      level: "warn",
      event: "server.warm_up_failed",
      handshakes: 50,
      ms: 3,
      error: "1 of 50 handshakes got no answer",
    },
  ]);
});

Deno.test("warmUpBeforeServing: warms up, then logs on the logger of the server it is given", async () => {
  const lines: string[] = [];
  const logger = createLogger({ format: "json", write: (l) => lines.push(l) });
  const step = warmUpBeforeServing(30, { window: 7 });
  await step({ deps: { logger } } as unknown as Fanout);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]);
  assert.equal(line.event, "server.warmed_up");
  assert.equal(line.handshakes, 30);
});
