/**
 * Chaos: connections cut at random through a proxy (clients resume with `recovered:true`, no
 * loss, no duplicates), and the server SIGKILLed and restarted while clients send (memory engine:
 * `recovered:false` with a new epoch, and the clients carry on).
 */

import assert from "node:assert/strict";
import { startProcessServer } from "../helpers/process_server.ts";
import { freePort, startTestServer } from "../helpers/server.ts";
import { ChaosClient } from "./chaos_client.ts";
import { runProxyChaos, waitUntil } from "./chaos_scenario.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

Deno.test("chaos: connections cut at random through a proxy resume with no loss and no duplicates", async () => {
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
      `chaos proxy (CHAOS_SEED=${seed}): ${report.cuts} cuts, ${report.acked}/${report.sent} ` +
        `messages acked, ${report.connects} connects`,
    );
    assert.deepEqual(report.problems, [], `replay with CHAOS_SEED=${seed}`);
    assert.ok(report.cuts >= 3, `only ${report.cuts} cuts`);
    assert.ok(report.sent > 100);
  } finally {
    await srv.stop();
  }
});

Deno.test("chaos: SIGKILL and restart (memory engine): clients get recovered:false and carry on", async () => {
  const port = freePort();
  const env = { PORT: String(port), RATE_LIMIT: "200", RATE_BURST: "200" };
  let server = await startProcessServer({ env });
  const url = () => `ws://127.0.0.1:${port}/ws`;
  const make = (name: string) =>
    new ChaosClient({ url, room: "crash", client: name, retryMs: 100 });
  const sender = make("sender-k1");
  const receivers = Array.from({ length: 3 }, (_, i) => make(`receiver-${i}`));
  const all = [sender, ...receivers];
  let n = 0;
  const sendFor = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      sender.send(`k${n}`, `k${n}`);
      n++;
      await sleep(20);
    }
  };
  try {
    for (const c of all) c.start();
    await waitUntil("everyone is welcomed", () => all.every((c) => c.ready));
    const firstEpoch = sender.epoch;
    for (let round = 1; round <= 2; round++) {
      await sendFor(500);
      await server.kill(); // SIGKILL while messages are in flight
      await sendFor(200); // clients keep queueing while the server is down
      server = await startProcessServer({ env });
      await waitUntil(
        "everyone is back",
        () => all.every((c) => c.ready && c.welcomes.length > round),
      );
    }
    await sendFor(500);
    await waitUntil("every message is acknowledged", () => sender.outbox.size === 0);
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
    await Promise.all(all.map((c) => c.stop()));
    await server.stop();
  }
});
