/**
 * Member lists across Fanout processes sharing one redis-server: a joiner on one instance is
 * welcomed with the members of the others, and an instance killed with SIGKILL (no shutdown, so
 * nothing removes its entries) leaves no ghost members: they vanish from the other instance's
 * list within `PRESENCE_TTL_MS` of the kill, and their Redis hash is deleted.
 */

import assert from "node:assert/strict";
import { type ProcessServer, startProcessServer } from "../helpers/process_server.ts";
import { redisBinary, startRedis } from "../helpers/redis.ts";
import { eventually } from "../helpers/redis_peer.ts";
import { type Frame, TestClient } from "../helpers/ws_client.ts";

const ignore = redisBinary.ignore;

/** Short, so that the test waits little: the bound is the same multiple of any value. */
const PRESENCE_TTL_MS = 1500;
/** What the test allows beyond the bound: the probe's own join, and a loaded machine. */
const SLACK_MS = 1000;

Deno.test(
  { name: "redis members: a killed instance's members vanish within PRESENCE_TTL_MS", ignore },
  async () => {
    const redis = await startRedis();
    const env = { REDIS_URL: redis.url, PRESENCE_TTL_MS: String(PRESENCE_TTL_MS) };
    const servers: ProcessServer[] = [];
    const clients: TestClient[] = [];
    try {
      servers.push(await startProcessServer({ env }), await startProcessServer({ env }));
      const [doomed, survivor] = servers;
      const ghosts: { id: string; name: string; client: null }[] = [];
      for (const name of ["ann", "bob", "cy"]) {
        const { client, welcome } = await TestClient.join(doomed.wsUrl({ room: "m", name }));
        clients.push(client);
        ghosts.push({ id: welcome.id, name, client: null });
      }
      const watcher = await TestClient.join(survivor.wsUrl({ room: "m", name: "wat" }));
      clients.push(watcher.client);

      /** A fresh joiner's welcome on the survivor (the joiner leaves at once). */
      const probe = async (): Promise<Frame> => {
        const { client, welcome } = await TestClient.join(survivor.wsUrl({ room: "m" }));
        await client.close();
        return welcome;
      };
      const ghostsIn = (welcome: Frame) =>
        welcome.members.filter((m: { id: string }) => ghosts.some((g) => g.id === m.id));

      // The doomed instance's members reach Redis within a tick of their joins.
      let welcome = await probe();
      for (let i = 0; i < 50 && ghostsIn(welcome).length < 3; i++) {
        await new Promise((r) => setTimeout(r, 100));
        welcome = await probe();
      }
      assert.deepEqual(
        welcome.members.slice(1).sort((a: Frame, b: Frame) => a.name.localeCompare(b.name)),
        [...ghosts, { id: watcher.welcome.id, name: "wat", client: null }],
        "the probe, then the other instance's members and the watcher",
      );
      assert.equal(welcome.online, 5);

      await doomed.kill();
      const killedAt = Date.now();
      // No graceful shutdown removed anything: right after the kill they are still listed.
      welcome = await probe();
      const firstProbeMs = Date.now() - killedAt;
      if (firstProbeMs < PRESENCE_TTL_MS / 2) {
        assert.equal(ghostsIn(welcome).length, 3, `listed ${firstProbeMs} ms after the kill`);
      }
      const deadline = killedAt + PRESENCE_TTL_MS + SLACK_MS;
      while (ghostsIn(welcome).length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        welcome = await probe();
      }
      const vanishedMs = Date.now() - killedAt;
      assert.deepEqual(
        ghostsIn(welcome),
        [],
        `ghosts still listed ${vanishedMs} ms after the kill`,
      );
      assert.ok(
        vanishedMs <= PRESENCE_TTL_MS + SLACK_MS,
        `vanished ${vanishedMs} ms after the kill, bound ${PRESENCE_TTL_MS} ms`,
      );

      // The survivor's tick also stops counting them, and deletes their hash.
      await eventually(
        "the watcher sees online 1",
        () => watcher.client.ofType("presence").at(-1)?.online === 1,
        PRESENCE_TTL_MS * 2,
      );
      const keys = await redis.command("KEYS", "fanout:{m}:members:*") as string[];
      assert.equal(keys.length, 1, `only the survivor's members hash is left: ${keys}`);
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await Promise.all(servers.map((s) => s.stop()));
      await redis.stop();
    }
  },
);
