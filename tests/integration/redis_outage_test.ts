/**
 * Redis stops and comes back during traffic: senders get `unavailable` (not silence), sockets stay
 * open, health and metrics say so, and the service resumes by itself without losing acked messages.
 * The test's Redis has no persistence, so it comes back empty: the room starts a new epoch and the
 * clients are closed with 1012 and rejoin, like real clients.
 */

import assert from "node:assert/strict";
import { type ProcessServer, startProcessServer } from "../helpers/process_server.ts";
import { redisBinary, startRedis } from "../helpers/redis.ts";
import { ackedByOthers, eventually, Peer } from "../helpers/redis_peer.ts";

const ignore = redisBinary.ignore;

async function health(server: ProcessServer): Promise<{ status: number; up: string | undefined }> {
  const res = await fetch(server.httpUrl("/healthz"));
  await res.body?.cancel();
  const metrics = await (await fetch(server.httpUrl("/metrics"))).text();
  return { status: res.status, up: metrics.match(/^fanout_engine_up (\d)/m)?.[1] };
}

Deno.test(
  { name: "redis restart during traffic: unavailable errors, then recovery", ignore },
  async () => {
    const redis = await startRedis();
    const servers: ProcessServer[] = [];
    const peers = Array.from({ length: 4 }, (_, i) => new Peer(`q${i}`, "o"));
    try {
      const env = { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: "500" };
      servers.push(
        ...await Promise.all([startProcessServer({ env }), startProcessServer({ env })]),
      );
      await Promise.all(peers.map((p, i) => p.connect(servers[i % 2].wsUrl, { rejoin: true })));

      // Traffic: every peer sends every 60 ms for the whole test.
      let sending = true;
      const traffic = (async () => {
        while (sending) {
          for (const p of peers) p.send();
          await new Promise((r) => setTimeout(r, 60));
        }
      })();
      await eventually("some acked before the outage", () => peers.every((p) => p.acked.size >= 3));

      await redis.stop();
      await eventually(
        "every sender told unavailable",
        () => peers.every((p) => p.unavailable > 0),
      );
      const down = await Promise.all(servers.map(health));
      assert.deepEqual(down, [{ status: 503, up: "0" }, { status: 503, up: "0" }]);
      assert.deepEqual(peers.map((p) => p.closeCodes), [[], [], [], []], "sockets stay open");

      await redis.restart();
      for (let tries = 0; tries < 100; tries++) {
        const now = await Promise.all(servers.map(health));
        if (
          now.every((h) => h.status === 200 && h.up === "1")
        ) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(await Promise.all(servers.map(health)), [
        { status: 200, up: "1" },
        { status: 200, up: "1" },
      ]);
      const ackedBefore = peers.map((p) => p.acked.size);
      await eventually(
        "new messages acked after the restart",
        () => peers.every((p, i) => p.acked.size > ackedBefore[i] + 2),
      );
      sending = false;
      await traffic;
      await eventually("outboxes drained after resends", () => {
        for (const p of peers) {
          p.resend();
        }
        return peers.every((p) => p.outbox.size === 0);
      }, 15_000);
      await eventually(
        "all delivered",
        () => peers.every((p) => ackedByOthers(peers, p).every((t) => p.received.has(t))),
      );
      await new Promise((r) => setTimeout(r, 200));
      for (const p of peers) {
        for (const text of ackedByOthers(peers, p)) assert.equal(p.received.get(text), 1, text);
        assert.deepEqual(p.violations, [], `${p.name}: what a real client would have dropped`);
      }
      for (const p of peers) {
        assert.ok(p.closeCodes.length > 0, `${p.name} was told that the room's history was reset`);
        assert.ok(p.closeCodes.every((code) => code === 1012), `${p.name}: ${p.closeCodes}`);
      }
      const logs = servers.map((s) => s.output().match(/redis\.down/g)?.length ?? 0);
      assert.deepEqual(logs, [1, 1], "one log line per outage, not per retry");
    } finally {
      await Promise.all(peers.map((p) => p.disconnect().catch(() => {})));
      await Promise.all(servers.map((s) => s.stop()));
      await redis.stop();
    }
  },
);
