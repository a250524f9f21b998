/**
 * Slow consumers, the false positives of the first version: a burst or a large welcome must not
 * close a client that reads, and the grace rules (a backlog that shrinks is spared, one that
 * stays or grows is closed, one past 4x the limit is closed at once) hold with injected timers.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../../lib/shared/config.ts";
import { Hub } from "../../lib/hub/hub.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { MemoryEngine } from "../../lib/engine/memory/memory_engine.ts";
import { FakeSocket } from "../helpers/fake_hub.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { readMetric } from "./slow_consumer_probe.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions(
  "slow consumer: a large welcome does not close a client that reads",
  async () => {
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
      assert.equal(await readMetric(srv.httpUrl("/metrics"), "fanout_slow_consumers_total"), 0);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await srv.stop();
    }
  },
);

/** A hub whose timers fire one generation at a time (a re-armed check waits for the next). */
async function timedHub() {
  // Presence at the end of the turn (no presence timers), so every timer is a slow-consumer check.
  const config = loadConfig({
    MAX_BUFFERED_BYTES: "2048",
    PRESENCE_INTERVAL_MS: "0",
    PRESENCE_FRAMES_PER_SECOND: "100000000",
  });
  let timers: (() => void)[] = [];
  const delays: unknown[] = [];
  const engine = new MemoryEngine(config);
  const hub = new Hub({
    config,
    engine,
    logger: silentLogger,
    timers: {
      setTimer: (fn, ms) => {
        timers.push(fn);
        delays.push(ms);
      },
      clearTimer: () => {},
    },
  });
  await engine.start(hub.events);
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  };
  return {
    hub,
    /** Delays the hub asked its timers for. */
    delays,
    async connect() {
      const socket = new FakeSocket();
      const handshake = { room: "r", name: null, client: null, resume: null };
      const conn = hub.attach(socket, handshake, true, null);
      await socket.open();
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

testWithPermissions(
  "slow consumer (unit): a backlog that shrinks is spared, one that stays is closed",
  async () => {
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
    assert.ok(t.delays.length > 0, "a check was scheduled");
    for (const ms of t.delays) assert.equal(ms, 1000, "the default grace period is one second");
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
  },
);
