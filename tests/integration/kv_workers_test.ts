/**
 * Two workers of one process on one KV file (`ENGINE=kv`, a file under `data/`), both ways:
 * `deno serve --parallel` (Deno's server) and `WORKERS=2` (`main.ts`: Fanout's own server in
 * each worker, one port shared with `reusePort`). Clients land on both workers (told apart by the
 * process prefix of their connection id), every message reaches every other client exactly once
 * with one offset everywhere and no gap, and presence counts the whole room.
 */

import assert from "node:assert/strict";
import { type ProcessServer, startProcessServer } from "../helpers/process_server.ts";
import { ackedByOthers, eventually, Peer } from "../helpers/redis_peer.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { halfOpen } from "../helpers/raw_http.ts";

const DATA = new URL("../../data/", import.meta.url);

/** Runs the exchange against a server with two workers; throws on the first broken promise. */
async function exchange(server: ProcessServer): Promise<void> {
  const peers = Array.from({ length: 12 }, (_, i) => new Peer(`w${i}`, "par"));
  try {
    const welcomes = [];
    for (const p of peers) welcomes.push(await p.connect(server.wsUrl));
    // Connection ids are `c<process prefix>-<n>`: one prefix per worker.
    const workerOf = welcomes.map((w) => String(w.id).split("-")[0]);
    const workers = new Set(workerOf);
    assert.equal(workers.size, 2, `expected clients on both workers, got ${[...workers]}`);
    for (let round = 0; round < 3; round++) for (const p of peers) p.send();
    await eventually("all acked", () => peers.every((p) => p.outbox.size === 0));
    await eventually(
      "all delivered",
      () => peers.every((p) => ackedByOthers(peers, p).every((t) => p.received.get(t) === 1)),
    );
    for (const p of peers) {
      assert.deepEqual(p.violations, [], p.name);
      const twice = [...p.received].filter(([, n]) => n !== 1);
      assert.deepEqual(twice, [], `${p.name} got a message more than once`);
      assert.equal(p.received.size, 3 * (peers.length - 1), `${p.name} got every other's`);
    }
    // Cross-worker delivery happened.
    const senderWorker = new Map(peers.map((p, i) => [p.name, workerOf[i]]));
    for (const [i, p] of peers.entries()) {
      const fromOther = [...p.received.keys()].filter((t) =>
        senderWorker.get(t.split("-")[0]) !== workerOf[i]
      );
      assert.ok(fromOther.length > 0, `${p.name} got nothing from the other worker`);
    }
    // One offset per message everywhere, 1..36 without a gap, in one epoch.
    const ids = new Set(peers.flatMap((p) => [...p.offsets.values()]));
    assert.equal(ids.size, 3 * peers.length);
    const epochs = new Set([...ids].map((id) => id.slice(0, id.lastIndexOf("-"))));
    assert.equal(epochs.size, 1, `one epoch, got ${[...epochs]}`);
    const offsets = [...ids].map((id) => Number(id.slice(id.lastIndexOf("-") + 1)));
    assert.deepEqual(
      offsets.sort((a, b) => a - b),
      Array.from({ length: ids.size }, (_, i) => i + 1),
    );
    // Presence: a newcomer on either worker counts everyone (summaries follow joins by 50 ms).
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const probe = await TestClient.join(server.wsUrl({ room: "par" }));
      const { online, id, members } = probe.welcome as {
        online: number;
        id: string;
        members: unknown[];
      };
      await probe.client.close();
      if (online === peers.length + 1 && members.length === peers.length + 1) {
        seen.add(String(id).split("-")[0]);
      } else await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(seen.size, 2, "newcomers on both workers saw all 13 (online and members)");
  } finally {
    await Promise.all(peers.map((p) => p.disconnect().catch(() => {})));
  }
}

/** A KV file under `data/` for one test, removed (with SQLite's side files) afterwards. */
async function dataFile(): Promise<{ path: string; remove(): Promise<void> }> {
  await Deno.mkdir(DATA, { recursive: true });
  const file = `test-kvworkers-${crypto.randomUUID().slice(0, 8)}.sqlite3`;
  return {
    path: `data/${file}`,
    async remove() {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) {
        await Deno.remove(new URL(file + suffix, DATA)).catch(() => {});
      }
    },
  };
}

Deno.test("deno serve --parallel (2 workers) on one KV file: every message once everywhere, gap-free offsets, presence of the whole room", async () => {
  const file = await dataFile();
  let server: ProcessServer | null = null;
  try {
    server = await startProcessServer({ env: { ENGINE: "kv", KV_PATH: file.path }, workers: 2 });
    await exchange(server);
  } finally {
    await server?.stop();
    await file.remove();
  }
});

Deno.test("WORKERS=2 (main.ts, Fanout's own server on one port with reusePort) on one KV file: the same, and a graceful stop", async () => {
  const file = await dataFile();
  let server: ProcessServer | null = null;
  try {
    server = await startProcessServer({
      env: {
        ENGINE: "kv",
        KV_PATH: file.path,
        WORKERS: "2",
        LOG_LEVEL: "info",
        REQUEST_TIMEOUT_MS: "1000",
      },
    });
    await exchange(server);
    // Fanout's own transport in the workers: a request head never finished is closed at
    // REQUEST_TIMEOUT_MS (Deno's server has no such deadline). The kernel spreads the six over
    // the workers by address and port: which worker took which is not checked (all six on one
    // worker happens once in 32 runs).
    const slow = await Promise.all(Array.from({ length: 6 }, () => halfOpen(server!.port)));
    const ended = await Promise.all(slow.map((s) => s.ended(5000)));
    assert.ok(
      ended.every((e) => e.endedAfterMs !== null && e.endedAfterMs < 4000),
      `every half-open request closed: ${ended.map((e) => e.endedAfterMs)}`,
    );
    await server.stop(5000);
    assert.equal(await server.exited, 0, server.output());
    assert.match(server.output(), /server\.stopping/);
    // Each worker warmed its own handshake path up before it listened.
    assert.equal(server.output().match(/server\.warmed_up handshakes=2000/g)?.length, 2);
  } finally {
    await server?.stop();
    await file.remove();
  }
});
