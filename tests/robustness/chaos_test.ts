/**
 * Chaos: connections cut at random through a proxy (clients resume with `recovered:true`, no
 * loss, no duplicates), and the server SIGKILLed and restarted while clients send (memory engine:
 * `recovered:false` with a new epoch, and the clients carry on).
 */

import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import type { ChaosClient } from "./chaos_client.ts";
import { crashRounds } from "./crash_rounds.ts";
import { runProxyChaos, waitUntil } from "./chaos_scenario.ts";
import { testWithPermissions } from "../helpers/requires.ts";

/** Checks that a receiver's messages within each epoch are consecutive and unique. */
function assertGapless(c: ChaosClient, label: string): void {
  assert.deepEqual(c.violations, [], label);
  for (let i = 1; i < c.messages.length; i++) {
    const [a, b] = [c.messages[i - 1], c.messages[i]];
    if (a.epoch === b.epoch) {
      assert.equal(b.offset, a.offset + 1, `${label}: gap after ${a.offset}`);
    }
  }
}

testWithPermissions(
  "chaos: connections cut at random through a proxy resume with no loss and no duplicates",
  async () => {
    const seed = Number(Deno.env.get("CHAOS_SEED") ?? Date.now() % 100_000);
    const srv = await startTestServer({ RATE_LIMIT: "200", RATE_BURST: "200" });
    try {
      const report = await runProxyChaos({
        targetPort: srv.server.port,
        seconds: 4,
        senders: 2,
        receivers: 4,
        seed,
      });
      console.log(
        `chaos proxy (CHAOS_SEED=${seed}): ${report.cuts} cuts ${
          JSON.stringify(report.cutsByKind)
        }, ` +
          `${report.severed} connections severed, ${report.replays} replays, ` +
          `${report.acked}/${report.sent} messages acked, ${report.connects} connects`,
      );
      assert.deepEqual(report.problems, [], `replay with CHAOS_SEED=${seed}`);
      for (const [kind, n] of Object.entries(report.cutsByKind)) {
        assert.ok(n >= 1, `no cut of kind ${kind} (CHAOS_SEED=${seed})`);
      }
      // A sender whose acks were swallowed sent again what the server had stored, while the
      // receivers stayed online: the checks above saw no duplicate.
      assert.ok(report.replays >= 1, `no replay (CHAOS_SEED=${seed})`);
      assert.ok(report.sent > 100);
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions(
  "chaos: SIGKILL and restart (memory engine): clients get recovered:false and carry on",
  async () => {
    const run = await crashRounds({ env: {}, room: "crash", prefix: "k" });
    const { sender, receivers, all, sent: n, firstEpoch } = run;
    try {
      const lastEpoch = sender.epoch!;
      const inLast = [...sender.acked.values()].filter((a) => a.epoch === lastEpoch).length;
      await waitUntil(
        "receivers have the last epoch's messages",
        () =>
          receivers.every((r) => r.messages.filter((m) => m.epoch === lastEpoch).length === inLast),
      );
      assert.equal(sender.acked.size, n, "every message was eventually acknowledged");
      for (const [i, c] of all.entries()) {
        const restarts = c.welcomes.slice(1);
        assert.equal(restarts.length, 2, `client ${i} came back twice`);
        for (const w of restarts) {
          assert.equal(w.recovered, false, "history was lost with the process");
        }
        assert.equal(new Set(c.welcomes.map((w) => w.epoch)).size, 3, "a new epoch per restart");
        assert.notEqual(c.welcomes[1].epoch, firstEpoch);
        if (c !== sender) assertGapless(c, `receiver ${i}`);
      }
      console.log(
        `chaos SIGKILL: 2 kills, ${n} messages sent, ${inLast} in the last epoch reached every receiver`,
      );
    } finally {
      await run.stop();
    }
  },
);
