/**
 * Chaos with the Redis engine: the only Fanout process is SIGKILLed twice while a client sends;
 * after each restart every client resumes with `recovered:true` in the same epoch, and every
 * acknowledged message reaches every receiver exactly once, in order. (Redis restarts during
 * traffic are covered by `tests/integration/redis_outage_test.ts`.)
 */

import assert from "node:assert/strict";
import { redisBinary, startRedis } from "../helpers/redis.ts";
import { crashRounds } from "./crash_rounds.ts";
import { waitUntil } from "./chaos_scenario.ts";

Deno.test({
  name: "chaos (redis): SIGKILL and restart lose no acknowledged message; clients recover",
  ignore: redisBinary.ignore,
  fn: async () => {
    const redis = await startRedis();
    const run = await crashRounds({
      env: { REDIS_URL: redis.url },
      room: "durable",
      prefix: "d",
      tailMs: 300,
    }).catch(async (err) => {
      await redis.stop();
      throw err;
    });
    const { sender, receivers, all, sent: n } = run;
    try {
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
      await run.stop();
      await redis.stop();
    }
  },
});
