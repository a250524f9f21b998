/**
 * Chaos with the Redis engine: the only Fanout process is SIGKILLed twice while a client sends;
 * after each restart every client resumes with `recovered:true` in the same epoch, and every
 * acknowledged message reaches every receiver exactly once, in order. (Redis restarts during
 * traffic are covered by `tests/redis_outage_test.ts`.)
 */

import assert from "node:assert/strict";
import { startProcessServer } from "../helpers/process_server.ts";
import { redisBinary, startRedis } from "../helpers/redis.ts";
import { freePort } from "../helpers/server.ts";
import { ChaosClient } from "./chaos_client.ts";
import { waitUntil } from "./chaos_scenario.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "chaos (redis): SIGKILL and restart lose no acknowledged message; clients recover",
  ignore: redisBinary.ignore,
  fn: async () => {
    const redis = await startRedis();
    const port = freePort();
    const env = { PORT: String(port), REDIS_URL: redis.url, RATE_LIMIT: "200", RATE_BURST: "200" };
    let server = await startProcessServer({ env });
    const url = () => `ws://127.0.0.1:${port}/ws`;
    const make = (name: string) =>
      new ChaosClient({ url, room: "durable", client: name, retryMs: 100 });
    const sender = make("sender-r1");
    const receivers = Array.from({ length: 3 }, (_, i) => make(`receiver-${i}`));
    const all = [sender, ...receivers];
    let n = 0;
    const sendFor = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        sender.send(`d${n}`, `d${n}`);
        n++;
        await sleep(20);
      }
    };
    try {
      for (const c of all) c.start();
      await waitUntil("everyone is welcomed", () => all.every((c) => c.ready));
      for (let round = 1; round <= 2; round++) {
        await sendFor(500);
        await server.kill();
        await sendFor(200);
        server = await startProcessServer({ env });
        await waitUntil(
          "everyone is back",
          () => all.every((c) => c.ready && c.welcomes.length > round),
        );
      }
      await sendFor(300);
      await waitUntil("every message is acknowledged", () => sender.outbox.size === 0);
      assert.equal(sender.acked.size, n);
      const offsets = [...sender.acked.values()].map((a) => a.offset);
      assert.equal(new Set(offsets).size, n, "no message stored twice");
      assert.equal(new Set([...sender.acked.values()].map((a) => a.epoch)).size, 1, "one epoch");
      await waitUntil(
        "receivers have everything",
        () => receivers.every((r) => r.messages.length === n),
      );
      for (const [i, c] of all.entries()) {
        assert.deepEqual(c.violations, [], `client ${i}`);
        assert.equal(c.welcomes.length, 3);
        for (const w of c.welcomes.slice(1)) {
          assert.equal(w.recovered, true, `client ${i} recovered`);
        }
        assert.equal(new Set(c.welcomes.map((w) => w.epoch)).size, 1);
      }
      for (const r of receivers) {
        assert.deepEqual(r.messages.map((m) => m.offset), [...offsets].sort((a, b) => a - b));
        assert.deepEqual(new Set(r.messages.map((m) => m.text)), new Set(sender.acked.keys()));
      }
      console.log(`chaos redis: 2 kills, ${n} messages, all acked ones delivered exactly once`);
    } finally {
      await Promise.all(all.map((c) => c.stop()));
      await server.stop();
      await redis.stop();
    }
  },
});
