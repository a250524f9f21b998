/**
 * `deno serve --parallel` with two workers and Redis: clients that land on different workers
 * (told apart by the process prefix of their connection id) exchange messages.
 */

import assert from "node:assert/strict";
import { type ProcessServer, startProcessServer } from "../helpers/process_server.ts";
import { redisBinary, startRedis } from "../helpers/redis.ts";
import { ackedByOthers, eventually, Peer } from "../helpers/redis_peer.ts";

Deno.test({
  name: "deno serve --parallel (2 workers): clients on different workers exchange messages",
  ignore: redisBinary.ignore,
}, async () => {
  const redis = await startRedis();
  let server: ProcessServer | null = null;
  const peers = Array.from({ length: 12 }, (_, i) => new Peer(`w${i}`, "par"));
  try {
    server = await startProcessServer({ env: { REDIS_URL: redis.url }, workers: 2 });
    const welcomes = [];
    for (const p of peers) welcomes.push(await p.connect(server.wsUrl));
    // Connection ids are `c<process prefix>-<n>`: one prefix per worker.
    const workerOf = welcomes.map((w) => String(w.id).split("-")[0]);
    const workers = new Set(workerOf);
    assert.equal(workers.size, 2, `expected clients on both workers, got ${[...workers]}`);
    for (const p of peers) p.send();
    await eventually("all acked", () => peers.every((p) => p.outbox.size === 0));
    await eventually(
      "all delivered",
      () => peers.every((p) => ackedByOthers(peers, p).every((t) => p.received.get(t) === 1)),
    );
    // Cross-worker delivery happened, and every message has one id everywhere.
    const senderWorker = new Map(peers.map((p, i) => [p.name, workerOf[i]]));
    for (const [i, p] of peers.entries()) {
      const fromOther = [...p.received.keys()].filter((t) =>
        senderWorker.get(t.split("-")[0]) !== workerOf[i]
      );
      assert.ok(fromOther.length > 0, `${p.name} got nothing from the other worker`);
    }
    const ids = new Set(peers.flatMap((p) => [...p.offsets.values()]));
    assert.equal(ids.size, peers.length);
  } finally {
    await Promise.all(peers.map((p) => p.disconnect().catch(() => {})));
    await server?.stop();
    await redis.stop();
  }
});
