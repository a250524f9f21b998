/**
 * The typed backend client (`lib/backend/fanout_api.js`) against the real server: every method
 * over real HTTP while WebSocket members watch, and its errors carrying the API's codes.
 */
import assert from "node:assert/strict";
import { FanoutApi, FanoutApiError } from "../../lib/backend/fanout_api.js";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const KEY = "client-key-0123456789-abc";

testWithPermissions(
  "FanoutApi against the real server: publish, broadcast, history, rooms, disconnect",
  async () => {
    const srv = await startTestServer({ API_KEYS: KEY });
    const url = srv.httpUrl("").replace(/\/$/, "");
    const api = new FanoutApi({ url, key: KEY });
    const { client: member, welcome } = await TestClient.join(srv.wsUrl({ room: "deploys" }));
    try {
      const published = await api.publish("deploys", {
        data: { deploy: 812, ok: true },
        ref: "deploy-812",
        name: "ci",
      });
      assert.deepEqual([published.room, published.offset, published.epoch], [
        "deploys",
        1,
        welcome.epoch,
      ]);
      const m = await member.next((f) => f.type === "message");
      assert.deepEqual([m.from, m.name, m.data], ["api", "ci", { deploy: 812, ok: true }]);
      const again = await api.publish("deploys", {
        data: { deploy: 812, ok: true },
        ref: "deploy-812",
        name: "ci",
      });
      assert.equal(again.duplicate, true);
      const broadcast = await api.broadcast(["deploys", "other"], { text: "maintenance" });
      assert.deepEqual(broadcast.results.map((r) => r.status), [201, 201]);
      const history = await api.history("deploys", { limit: 10 });
      assert.deepEqual(history.messages.map((h) => h.offset), [1, 2]);
      const rooms = await api.rooms({ limit: 1 });
      assert.equal(rooms.rooms.length, 1);
      assert.equal(rooms.next, rooms.rooms[0].room);
      const closed = await api.disconnect({ connection: welcome.id, reason: "bye" });
      assert.deepEqual(closed, { closed: 1 });
      assert.equal((await member.closed).code, 4403);
      await assert.rejects(
        new FanoutApi({ url, key: "wrong-key-0123456789-abc" }).rooms(),
        (err: unknown) =>
          err instanceof FanoutApiError && err.status === 401 && err.code === "unauthorized",
      );
      await assert.rejects(
        api.publish("deploys", { text: "x", ref: "deploy-812" }),
        (err: unknown) =>
          err instanceof FanoutApiError && err.status === 409 && err.code === "ref_conflict",
      );
    } finally {
      await member.close();
      await srv.stop();
    }
  },
);
