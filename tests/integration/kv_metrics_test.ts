/**
 * The KV engine in `/metrics` and its bound on rooms on disk, through a real server:
 * `fanout_kv_disk_bytes` and `fanout_kv_disk_rooms` (0 on the memory engine), and
 * `KV_MAX_ROOMS` holding as clients open rooms one after another, and `KV_MAX_REFS` as they send
 * a new ref with every message.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { type Frame, TestClient } from "../helpers/ws_client.ts";

async function gauges(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(url)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(fanout_kv_disk_\w+|fanout_history_bytes) (\S+)$/gm)) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

Deno.test("metrics: fanout_kv_disk_bytes and fanout_kv_disk_rooms show the KV engine's disk", async () => {
  const memory = await startTestServer();
  try {
    const g = await gauges(memory.httpUrl("/metrics"));
    assert.deepEqual([g.fanout_kv_disk_bytes, g.fanout_kv_disk_rooms], [0, 0], "memory: 0");
  } finally {
    await memory.stop();
  }
  const srv = await startTestServer({ ENGINE: "kv", KV_PATH: ":memory:" });
  try {
    const { client } = await TestClient.join(srv.wsUrl({ room: "r" }));
    assert.equal((await gauges(srv.httpUrl("/metrics"))).fanout_kv_disk_bytes, 0);
    for (const i of [1, 2]) {
      client.send({ type: "message", text: "x".repeat(100), ref: `r${i}` });
      await client.next((f: Frame) => f.type === "ack" && f.ref === `r${i}`);
    }
    const g = await gauges(srv.httpUrl("/metrics"));
    assert.ok(
      g.fanout_kv_disk_bytes > 200,
      `two messages of 100 characters: ${g.fanout_kv_disk_bytes}`,
    );
    assert.equal(g.fanout_kv_disk_rooms, 1);
    await client.close();
  } finally {
    await srv.stop();
  }
});

Deno.test("KV_MAX_ROOMS: rooms opened one after another keep at most that many on disk", async () => {
  const srv = await startTestServer({
    ENGINE: "kv",
    KV_PATH: ":memory:",
    MAX_ROOMS: "2",
    KV_MAX_ROOMS: "3",
  });
  try {
    const seen: number[] = [];
    for (const room of ["a", "b", "c", "d", "e"]) {
      const { client } = await TestClient.join(srv.wsUrl({ room }));
      client.send({ type: "message", text: "hi", ref: "r1" });
      await client.next((f: Frame) => f.type === "ack");
      await client.close();
      await new Promise((r) => setTimeout(r, 50)); // the removal runs in the engine's writer
      seen.push((await gauges(srv.httpUrl("/metrics"))).fanout_kv_disk_rooms);
    }
    assert.deepEqual(seen, [1, 2, 3, 3, 3]);
  } finally {
    await srv.stop();
  }
});

Deno.test("KV_MAX_REFS: a new ref with every message keeps at most that many refs on disk", async () => {
  const srv = await startTestServer({ ENGINE: "kv", KV_PATH: ":memory:", KV_MAX_REFS: "5" });
  try {
    const { client } = await TestClient.join(srv.wsUrl({ room: "r" }));
    const seen: number[] = [];
    for (let i = 1; i <= 8; i++) {
      client.send({ type: "message", text: "hi", ref: `r${i}` });
      await client.next((f: Frame) => f.type === "ack" && f.ref === `r${i}`);
      await new Promise((r) => setTimeout(r, 50)); // the trim runs in the engine's writer
      seen.push((await gauges(srv.httpUrl("/metrics"))).fanout_kv_disk_refs);
    }
    // Past 5, the oldest go down to 4 (90 % of 5).
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 4, 5, 4]);
    assert.equal((await gauges(srv.httpUrl("/metrics"))).fanout_kv_disk_refs_forgotten_total, 4);
    await client.close();
  } finally {
    await srv.stop();
  }
});
