/**
 * Slow consumers: a raw client that stops reading while others flood its room is closed 4008,
 * memory stays bounded, and the readers still get every message. Also the false positives the
 * first version had: a burst or a large welcome must not close a client that reads.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";
import { Hub } from "../../lib/hub.ts";
import { silentLogger } from "../../lib/log.ts";
import { MemoryEngine } from "../../lib/memory_engine.ts";
import { FakeSocket } from "../helpers/fake_hub.ts";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";

async function metric(srv: TestServer, name: string): Promise<number> {
  const text = await (await fetch(srv.httpUrl("/metrics"))).text();
  const match = text.match(new RegExp(`^${name} (\\d+)$`, "m"));
  assert.ok(match, `no ${name} in /metrics`);
  return Number(match[1]);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

Deno.test("slow consumer: a client that stops reading is closed 4008; readers get everything", async () => {
  const srv = await startTestServer({
    MAX_BUFFERED_BYTES: "65536",
    RATE_LIMIT: "100000",
    RATE_BURST: "100000",
  });
  const hs = await RawWs.connect(srv.server.port, "/ws?room=slow", { protocols: ["fanout.v1"] });
  const slow = hs.ws!;
  const readers: TestClient[] = [];
  let sender: TestClient | null = null;
  try {
    await slow.until((f) => f.type === "welcome"); // ...and never reads again until the end
    for (let i = 0; i < 3; i++) {
      readers.push((await TestClient.join(srv.wsUrl({ room: "slow" }))).client);
    }
    sender = (await TestClient.join(srv.wsUrl({ room: "slow" }))).client;
    const rssBefore = await metric(srv, "process_resident_memory_bytes");
    const pad = "x".repeat(2000);
    const latencies: number[] = [];
    let sent = 0;
    let sentBytes = 0;
    const deadline = Date.now() + 60_000;
    // Paced batches: each waits until the readers have the batch, so readers never fall behind
    // by more than ~100 KB, while the slow client's backlog only grows.
    while ((await metric(srv, "fanout_slow_consumers_total")) === 0) {
      assert.ok(Date.now() < deadline, `not closed after ${sentBytes} bytes`);
      for (let i = 0; i < 50; i++) {
        sender.send({ type: "message", text: `${sent++} ${pad}` });
        sentBytes += pad.length;
      }
      const started = performance.now();
      const last = String(sent - 1);
      for (const r of readers) {
        await r.next((f) => f.type === "message" && f.text.startsWith(`${last} `), 10_000);
      }
      latencies.push(performance.now() - started);
    }
    const rssAfter = await metric(srv, "process_resident_memory_bytes");
    // The others carry on: one more message reaches every reader.
    sender.send({ type: "message", text: `${sent++} final` });
    for (const r of readers) await r.next((f) => f.type === "message" && f.text.endsWith(" final"));
    for (const r of readers) {
      const got = r.ofType("message");
      assert.equal(got.length, sent, "every message reached every reader");
      got.forEach((m, i) => assert.equal(m.offset, i + 1, "in offset order, no gap, no duplicate"));
      assert.equal(r.ws.readyState, WebSocket.OPEN);
    }
    const stats = await (await fetch(srv.httpUrl("/api/stats"))).json();
    assert.equal(stats.connections, 4, "only the slow client was dropped");
    // The slow client, once it reads again, finds the messages it had and then the 4008 close.
    let close: { code: number | null } | null = null;
    let drained = 0;
    while (!close) {
      const m = await slow.read(10_000);
      if (m.kind === "close") close = m;
      else if (m.kind === "eof") break;
      else drained += m.kind === "text" ? m.text.length : 0;
    }
    assert.equal(close?.code, 4008, "closed as a slow consumer");
    latencies.sort((a, b) => a - b);
    const growth = rssAfter - rssBefore;
    console.log(
      `slow consumer: closed after ${(sentBytes / 1e6).toFixed(1)} MB sent to the room ` +
        `(${(drained / 1e6).toFixed(1)} MB were in flight to it); RSS ${
          (rssBefore / 1e6).toFixed(0)
        } → ` +
        `${(rssAfter / 1e6).toFixed(0)} MB; batch of 50 to 3 readers in p50 ${
          percentile(latencies, 0.5).toFixed(0)
        } ms, ` +
        `p99 ${percentile(latencies, 0.99).toFixed(0)} ms over ${latencies.length} batches`,
    );
    assert.ok(growth < 256 * 1024 * 1024, `RSS grew by ${growth} bytes`);
  } finally {
    slow.abort();
    await Promise.all([...readers, ...(sender ? [sender] : [])].map((c) => c.close()));
    await srv.stop();
  }
});

Deno.test("slow consumer: a large welcome does not close a client that reads", async () => {
  // 50 messages of 30 KB of history: the welcome alone is 1.5 MB, over the 1 MiB default.
  const srv = await startTestServer({ RATE_LIMIT: "1000", RATE_BURST: "1000" });
  const clients: TestClient[] = [];
  try {
    const { client: sender } = await TestClient.join(srv.wsUrl({ room: "big" }));
    clients.push(sender);
    for (let i = 0; i < 50; i++) sender.send({ type: "message", text: "y".repeat(30_000) });
    await sender.next((f) => f.type === "ack" && f.offset === 50, 10_000);
    const { client: joiner, welcome } = await TestClient.join(srv.wsUrl({ room: "big" }));
    clients.push(joiner);
    assert.equal(welcome.history.length, 50);
    await joiner.quietFor(1500); // past the grace period of the buffer check
    sender.send({ type: "message", text: "after the welcome" });
    await joiner.next((f) => f.type === "message" && f.text === "after the welcome");
    assert.equal(await metric(srv, "fanout_slow_consumers_total"), 0);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await srv.stop();
  }
});

/** A hub whose timers fire one generation at a time (a re-armed check waits for the next). */
async function timedHub() {
  const config = loadConfig({ MAX_BUFFERED_BYTES: "2048", PRESENCE_INTERVAL_MS: "0" });
  let timers: (() => void)[] = [];
  const engine = new MemoryEngine(config);
  const hub = new Hub({
    config,
    engine,
    logger: silentLogger,
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => {},
  });
  await engine.start((m) => hub.deliver(m));
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  };
  return {
    hub,
    async connect() {
      const socket = new FakeSocket();
      const conn = hub.accept(socket, { room: "r", name: null, client: null, resume: null }, true)!;
      await hub.open(conn);
      await settle();
      return { socket, conn };
    },
    settle,
    /** Fires the timers armed so far (not those they arm in turn). */
    async fire() {
      const due = timers;
      timers = [];
      for (const fn of due) fn();
      await settle();
    },
  };
}

Deno.test("slow consumer (unit): a backlog that shrinks is spared, one that stays is closed", async () => {
  const t = await timedHub();
  const a = await t.connect();
  const draining = await t.connect();
  const stuck = await t.connect();
  const huge = await t.connect();
  await t.fire();
  draining.socket.bufferedAmount = 5000;
  stuck.socket.bufferedAmount = 5000;
  huge.socket.bufferedAmount = 4 * 2048 + 1;
  t.hub.receive(a.conn, JSON.stringify({ type: "message", text: "burst" }));
  await t.settle();
  assert.equal(huge.socket.closeCode, 4008, "past 4x the limit: closed at once");
  assert.equal(stuck.socket.closeCode, null, "judged only after the grace period");
  draining.socket.bufferedAmount = 3000; // still over, but its writes progress
  await t.fire();
  assert.equal(stuck.socket.closeCode, 4008);
  assert.equal(draining.socket.closeCode, null, "a draining reader is spared");
  draining.socket.bufferedAmount = 3500; // grew again since the last look
  await t.fire();
  assert.equal(draining.socket.closeCode, 4008);
  assert.equal(t.hub.metrics.slowConsumers, 3);
  assert.equal(t.hub.size, 1);
  a.conn.close(1000, "done");
  t.hub.remove(a.conn);
});
