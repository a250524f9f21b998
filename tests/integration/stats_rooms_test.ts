/**
 * `/api/stats` stays small and cheap with many rooms (issue 11: 340 000 rooms made a 20 MB body
 * that stalled every socket): a count and the `STATS_TOP_ROOMS` busiest, never an epoch.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../../lib/shared/config.ts";
import type { RoomPosition } from "../../lib/engine/engine.ts";
import { createFanout } from "../../lib/server/fanout.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { MemoryEngine } from "../../lib/engine/memory/memory_engine.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const ROOMS = 100_000;
const idle = (i: number) => `idle-${String(i).padStart(6, "0")}`;

testWithPermissions(
  "stats: 100 000 rooms give a body of a few KB with the 20 busiest, most online first",
  async () => {
    const srv = await startTestServer({ HISTORY_SIZE: "4" });
    const clients: TestClient[] = [];
    try {
      const { engine } = srv.server.fanout.deps;
      for (let i = 0; i < ROOMS; i++) await engine.recover(idle(i), null, 0);
      const draft = { room: idle(3), from: "t", client: null, name: null, text: "x", ref: null };
      await engine.publish(draft);
      await engine.publish(draft);
      // Online: busy 3, tie-a and tie-b 2 each (a before b), one 1; every idle room 0.
      const layout: [string, number][] = [["tie-b", 2], ["one", 1], ["busy", 3], ["tie-a", 2]];
      let busyEpoch = "";
      for (const [room, n] of layout) {
        for (let i = 0; i < n; i++) {
          const { client, welcome } = await TestClient.join(srv.wsUrl({ room }));
          clients.push(client);
          if (room === "busy") busyEpoch = welcome.epoch;
        }
      }
      // clients[3] to clients[5] are in busy.
      clients[3].send({ type: "message", text: "one message in busy" });
      await clients[4].next((f) => f.type === "message");

      const body = await (await fetch(srv.httpUrl("/api/stats"))).text();
      assert.ok(body.length < 4096, `stats body is ${body.length} bytes`);
      assert.equal(body.includes("epoch"), false);
      assert.equal(body.includes(busyEpoch), false);
      const { rooms } = JSON.parse(body);
      assert.equal(rooms.count, ROOMS + 4);
      assert.equal(rooms.top.length, 20);
      assert.deepEqual(rooms.top.slice(0, 4), [
        { room: "busy", online: 3, offset: 1 },
        { room: "tie-a", online: 2, offset: 0 },
        { room: "tie-b", online: 2, offset: 0 },
        { room: "one", online: 1, offset: 0 },
      ]);
      const rest = Array.from({ length: 16 }, (_, i) => ({
        room: idle(i),
        online: 0,
        offset: i === 3 ? 2 : 0,
      }));
      assert.deepEqual(rooms.top.slice(4), rest, "then the idle rooms by name");
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await srv.stop();
    }
  },
);

testWithPermissions("stats: STATS_TOP_ROOMS=0 lists no room but still counts them", async () => {
  const srv = await startTestServer({ STATS_TOP_ROOMS: "0" });
  try {
    const { engine } = srv.server.fanout.deps;
    for (let i = 0; i < 5; i++) await engine.recover(idle(i), null, 0);
    const stats = await (await fetch(srv.httpUrl("/api/stats"))).json();
    assert.deepEqual(stats.rooms, { count: 5, top: [] });
  } finally {
    await srv.stop();
  }
});

/** A memory engine that counts the positions read. */
class CountingEngine extends MemoryEngine {
  positionReads = 0;
  override position(room: string): RoomPosition | null {
    this.positionReads++;
    return super.position(room);
  }
}

testWithPermissions("stats: positions are read only for the listed rooms", async () => {
  const config = loadConfig({ STATS_TOP_ROOMS: "7", HISTORY_SIZE: "4" });
  const engine = new CountingEngine(config);
  const upgrade = () => {
    throw new Error("no sockets in this test");
  };
  const fanout = createFanout(config, { upgrade, logger: silentLogger, engine });
  for (let i = 0; i < 1000; i++) await engine.recover(idle(i), null, 0);
  const stats = await (await fanout.app.request("/api/stats")).json();
  assert.equal(stats.rooms.count, 1000);
  assert.equal(stats.rooms.top.length, 7);
  assert.equal(engine.positionReads, 7);
  await engine.close();
});
