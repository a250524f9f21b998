/**
 * Several Fanout processes sharing one redis-server behave as one server.
 */

import assert from "node:assert/strict";
import { type ProcessServer, startProcessServer } from "../helpers/process_server.ts";
import { redisBinary, startRedis, type TestRedis } from "../helpers/redis.ts";
import { ackedByOthers, eventually, Peer } from "../helpers/redis_peer.ts";

const ignore = redisBinary.ignore;

async function cluster(n: number): Promise<{ redis: TestRedis; servers: ProcessServer[] }> {
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url, PRESENCE_TTL_MS: "1500" };
  const started = await Promise.allSettled(
    Array.from({ length: n }, () => startProcessServer({ env })),
  );
  const servers = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  if (servers.length < n) {
    await Promise.all(servers.map((s) => s.kill()));
    await redis.stop();
    throw (started.find((s) => s.status === "rejected") as PromiseRejectedResult).reason;
  }
  return { redis, servers };
}

/** The room's `online` count as each server's `/api/stats` reports it. */
async function onlineCounts(servers: ProcessServer[], room: string): Promise<number[]> {
  return await Promise.all(servers.map(async (s) => {
    const stats = await (await fetch(s.httpUrl("/api/stats"))).json();
    return stats.rooms.top.find((r: { room: string }) => r.room === room)?.online ?? 0;
  }));
}

async function eventuallyOnline(servers: ProcessServer[], room: string, want: number) {
  let last: number[] = [];
  for (let i = 0; i < 80; i++) {
    last = await onlineCounts(servers, room);
    if (last.every((n) => n === want)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(last, servers.map(() => want), "online across instances");
}

async function teardown(peers: Peer[], servers: ProcessServer[], redis: TestRedis) {
  await Promise.all(peers.map((p) => p.disconnect().catch(() => {})));
  await Promise.all(servers.map((s) => s.stop()));
  await redis.stop();
}

/** Every peer received every acked message of the others exactly once. */
function assertExactlyOnce(peers: Peer[]): void {
  for (const p of peers) {
    assert.deepEqual(p.violations, [], `${p.name}: what a real client would have dropped`);
    for (const text of ackedByOthers(peers, p)) {
      assert.equal(p.received.get(text), 1, `${p.name} got ${text} ${p.received.get(text)} times`);
    }
    const twice = [...p.received].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], `${p.name} got duplicates`);
  }
}

const allDelivered = (peers: Peer[]) =>
  peers.every((p) => ackedByOthers(peers, p).every((t) => p.received.has(t)));

Deno.test(
  { name: "three processes: shared offsets, and a client resumes on another one", ignore },
  async () => {
    const { redis, servers } = await cluster(3);
    const peers = ["a", "b", "c"].map((name) => new Peer(name, "r"));
    try {
      await Promise.all(peers.map((p, i) => p.connect(servers[i].wsUrl)));
      for (let round = 0; round < 5; round++) for (const p of peers) p.send();
      await eventually("all acked", () => peers.every((p) => p.outbox.size === 0));
      await eventually("all delivered", () => allDelivered(peers));
      assertExactlyOnce(peers);
      // Offsets agree: the same text has the same id (epoch-offset) everywhere, 15 distinct ones.
      const ids = new Map<string, string>();
      for (const p of peers) {
        for (const [text, id] of p.offsets) {
          assert.equal(ids.get(text) ?? id, id, `${text} has two ids`);
          ids.set(text, id);
        }
      }
      assert.equal(new Set(ids.values()).size, 15);

      // Client a leaves instance 0, misses 10 messages, and resumes on instance 1.
      const [a, b, c] = peers;
      await a.disconnect();
      for (let i = 0; i < 5; i++) b.send(), c.send();
      await eventually("b and c acked", () => b.outbox.size === 0 && c.outbox.size === 0);
      const welcome = await a.connect(servers[1].wsUrl);
      assert.equal(welcome.recovered, true);
      assert.equal(welcome.history.length, 10);
      assert.equal(welcome.epoch, a.welcomes[0].epoch);
      await eventually("a caught up", () => allDelivered(peers));
      assertExactlyOnce(peers);
      const stats = await (await fetch(servers[2].httpUrl("/api/stats"))).json();
      assert.equal(stats.engine, "redis");
    } finally {
      await teardown(peers, servers, redis);
    }
  },
);

Deno.test(
  { name: "SIGKILL of one process: its clients move and nothing acked is lost", ignore },
  async () => {
    const { redis, servers } = await cluster(3);
    const peers = Array.from({ length: 6 }, (_, i) => new Peer(`p${i}`, "k"));
    const home = new Map(peers.map((p, i) => [p, i % 3]));
    try {
      await Promise.all(peers.map((p) => p.connect(servers[home.get(p)!].wsUrl)));
      const victim = servers[2];
      let killed = false;
      for (let round = 0; round < 20; round++) {
        for (const p of peers) if (p.open) p.send();
        if (round === 6) {
          await victim.kill();
          killed = true;
        }
        // Clients of the dead process reconnect to a live one and resend their outbox.
        if (killed) {
          for (const p of peers) {
            if (!p.open && home.get(p) === 2) {
              home.set(p, peers.indexOf(p) % 2);
              await p.connect(servers[home.get(p)!].wsUrl);
            }
          }
        }
        await new Promise((r) => setTimeout(r, 30));
      }
      await eventually("moved clients reconnected", () => peers.every((p) => p.open));
      await eventually("every outbox empty", () => {
        for (const p of peers) p.resend();
        return peers.every((p) => p.outbox.size === 0);
      });
      await eventually("all delivered", () => allDelivered(peers));
      await new Promise((r) => setTimeout(r, 200)); // late duplicates would show up here
      assertExactlyOnce(peers);
      // The dead process's count expires (PRESENCE_TTL_MS = 1.5 s): the survivors count 6, not 8.
      await eventuallyOnline(servers.slice(0, 2), "k", 6);
      const moved = peers.filter((p) => p.welcomes.length === 2);
      assert.equal(moved.length, 2);
      for (const p of moved) assert.equal(p.welcomes[1].recovered, true);
    } finally {
      await teardown(peers, servers, redis);
    }
  },
);
