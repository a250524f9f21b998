/**
 * Chaos: connections cut at random through a proxy (clients resume with `recovered:true`, no
 * loss, no duplicates), and the server SIGKILLed and restarted while clients send (memory engine:
 * `recovered:false` with a new epoch, and the clients carry on).
 */

import assert from "node:assert/strict";
import { startProcessServer } from "../helpers/process_server.ts";
import { freePort, startTestServer } from "../helpers/server.ts";
import { startTcpProxy } from "../helpers/tcp_proxy.ts";
import { ChaosClient } from "./chaos_client.ts";

/** Small seeded PRNG (mulberry32) so a failing run can be replayed with CHAOS_SEED. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

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
  const rand = random(seed);
  const srv = await startTestServer({ RATE_LIMIT: "200", RATE_BURST: "200" });
  const proxy = startTcpProxy(srv.server.port);
  const url = () => `ws://127.0.0.1:${proxy.port}/ws`;
  const make = (name: string) => new ChaosClient({ url, room: "chaos", client: name, retryMs: 30 });
  const senders = [make("sender-a1"), make("sender-b1")];
  const receivers = Array.from({ length: 4 }, (_, i) => make(`receiver-${i}`));
  const all = [...senders, ...receivers];
  let cuts = 0;
  try {
    for (const c of all) c.start();
    await until("everyone is welcomed", () => all.every((c) => c.ready));
    let n = 0;
    const started = Date.now();
    let nextCut = started + 200 + rand() * 400;
    while (Date.now() - started < 4000) {
      for (const [i, s] of senders.entries()) s.send(`m${i}-${n}`, `r${i}-${n}`);
      n++;
      if (Date.now() >= nextCut) {
        cuts += proxy.severAll() > 0 ? 1 : 0;
        nextCut = Date.now() + 150 + rand() * 500;
      }
      await sleep(25);
    }
    await until("every message is acknowledged", () => senders.every((s) => s.outbox.size === 0));
    const total = senders.reduce((sum, s) => sum + s.acked.size, 0);
    assert.equal(total, 2 * n, "every message sent was acknowledged");
    await until(
      "receivers have everything",
      () => receivers.every((r) => r.messages.length === total),
    );
    const texts = new Set(
      senders.flatMap((s) => [...s.acked.keys()].map((ref) => `m${ref.slice(1)}`)),
    );
    assert.equal(texts.size, 2 * n);
    for (const [i, r] of receivers.entries()) {
      assertGapless(r, `receiver ${i} (seed ${seed})`);
      assert.deepEqual(new Set(r.messages.map((m) => m.text)), texts, "nothing lost");
      assert.ok(r.welcomes.length > 1, "it was cut and came back");
      for (const w of r.welcomes.slice(1)) {
        assert.equal(w.recovered, true, "every resume recovered");
      }
      assert.equal(new Set(r.welcomes.map((w) => w.epoch)).size, 1, "one epoch throughout");
    }
    // Offsets of acks are unique: a resend never created a second copy.
    const offsets = senders.flatMap((s) => [...s.acked.values()].map((a) => a.offset));
    assert.equal(new Set(offsets).size, offsets.length, "no message stored twice");
    console.log(
      `chaos proxy (seed ${seed}): ${cuts} cuts, ${total} messages, ` +
        `${all.reduce((s, c) => s + c.connects, 0)} connects, no loss, no duplicates`,
    );
  } finally {
    await Promise.all(all.map((c) => c.stop()));
    await proxy.close();
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
    await until("everyone is welcomed", () => all.every((c) => c.ready));
    const firstEpoch = sender.epoch;
    for (let round = 1; round <= 2; round++) {
      await sendFor(500);
      await server.kill(); // SIGKILL while messages are in flight
      await sendFor(200); // clients keep queueing while the server is down
      server = await startProcessServer({ env });
      await until("everyone is back", () => all.every((c) => c.ready && c.welcomes.length > round));
    }
    await sendFor(500);
    await until("every message is acknowledged", () => sender.outbox.size === 0);
    const lastEpoch = sender.epoch!;
    const inLast = [...sender.acked.values()].filter((a) => a.epoch === lastEpoch).length;
    await until(
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
