/**
 * Slow consumer over real sockets: a raw client that stops reading while others flood its room.
 * The server's own send queue (`fanout_send_queue_bytes`) stays within a bound derived from the
 * limits, the client is closed 4008 about one grace period after its backlog passes
 * `MAX_BUFFERED_BYTES`, and the readers get every message in order with a latency comparable to
 * a run of the same batches in which every client reads.
 */

import assert from "node:assert/strict";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import {
  BatchSender,
  type QueueSample,
  QueueSampler,
  rawBatchWriter,
  sampleQueue,
  summarize,
} from "./slow_consumer_probe.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const LIMIT = 128 * 1024; // MAX_BUFFERED_BYTES
const FLUSH = 64 * 1024; // FLUSH_BYTES
const GRACE_MS = 1000; // the hub's slow-consumer grace period (its default)
const SLACK_MS = 1500; // timers and sampling on a busy 2-core machine
const BATCH = 20;
const PAD = "x".repeat(1000);
const PACE_MS = 200; // slow enough that only the grace rule (not 4x the limit) can close it
const READERS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

testWithPermissions(
  "slow consumer: a non-reader is closed 4008 in time, the queue stays bounded, readers are unaffected",
  async () => {
    const srv = await startTestServer({
      MAX_BUFFERED_BYTES: String(LIMIT),
      FLUSH_BYTES: String(FLUSH),
      RATE_LIMIT: "100000",
      RATE_BURST: "100000",
    });
    const metrics = srv.httpUrl("/metrics");
    const readers: TestClient[] = [];
    let sender: RawWs | null = null;
    let slow: RawWs | null = null;
    try {
      for (let i = 0; i < READERS; i++) {
        readers.push((await TestClient.join(srv.wsUrl({ room: "slow" }))).client);
      }
      sender = (await RawWs.connect(srv.server.port, "/ws?room=slow", { protocols: ["fanout.v1"] }))
        .ws!;
      await sender.until((f) => f.type === "welcome");
      const write = rawBatchWriter(sender);
      const batches = new BatchSender(write, readers, BATCH, PAD);

      // Baseline: the same batches, with a fourth client that reads in place of the slow one.
      const standIn = (await TestClient.join(srv.wsUrl({ room: "slow" }))).client;
      let sampler = new QueueSampler(metrics, 20);
      const baseline: number[] = [];
      for (let i = 0; i < 100; i++) baseline.push(await batches.send());
      for (let i = 0; i < 5; i++) {
        baseline.push(await batches.send());
        await sleep(PACE_MS);
      }
      await sampler.stop();
      await standIn.close();

      // The slow client reads its welcome and then nothing until the end.
      slow = (await RawWs.connect(srv.server.port, "/ws?room=slow", { protocols: ["fanout.v1"] }))
        .ws!;
      await slow.until((f) => f.type === "welcome");
      sampler = new QueueSampler(metrics, 20);
      const withSlow: number[] = [];
      const looks: QueueSample[] = [];
      // Fill: back-to-back batches until the kernel buffers are full and the server's queue (read
      // after each batch, once the readers have it all, so it is the slow client's backlog) passes
      // the limit. Then pace the batches so that the backlog stays under 4x the limit and only
      // the grace rule can close the client.
      let crossed: QueueSample | null = null;
      while (!crossed) {
        withSlow.push(await batches.send());
        const look = await sampleQueue(metrics);
        looks.push(look);
        if (look.queue > LIMIT || look.closed > 0) crossed = look;
        assert.ok(batches.sent < 20_000, `the queue never passed ${LIMIT} bytes`);
      }
      let closedAt = crossed.closed > 0 ? crossed.at : null;
      while (closedAt === null) {
        withSlow.push(await batches.send());
        await sleep(PACE_MS);
        const look = await sampleQueue(metrics);
        looks.push(look);
        if (look.closed > 0) closedAt = look.at;
        assert.ok(look.at - crossed.at < 10_000, "not closed 10 s after passing the limit");
      }
      const samples = [...await sampler.stop(), ...looks];
      const firstClosed = samples.filter((s) => s.closed > 0).map((s) => s.at);
      closedAt = Math.min(closedAt, ...firstClosed);

      // The others carry on: one more message reaches every reader.
      await write([JSON.stringify({ type: "message", text: `${batches.sent++} final` })]);
      for (const r of readers) {
        await r.next((f) => f.type === "message" && f.text.endsWith(" final"));
      }
      for (const r of readers) {
        const got = r.ofType("message");
        assert.equal(got.length, batches.sent, "every message reached every reader");
        got.forEach((m, i) => {
          assert.equal(m.offset, i + 1, "in offset order, no gap, no duplicate");
          assert.ok(m.text.startsWith(`${i} `), `message ${i} intact`);
        });
        assert.equal(r.ws.readyState, WebSocket.OPEN);
      }
      const stats = await (await fetch(srv.httpUrl("/api/stats"))).json();
      assert.equal(stats.connections, READERS + 1, "only the slow client was dropped");

      // The slow client, once it reads again, finds what it had in flight and then the 4008 close.
      let close: { code: number | null } | null = null;
      let drained = 0;
      while (!close) {
        const m = await slow.read(10_000);
        if (m.kind === "close") close = m;
        else if (m.kind === "eof") break;
        else drained += m.kind === "text" ? m.text.length : 0;
      }
      assert.equal(close?.code, 4008, "closed as a slow consumer");

      // Bounds. A batch as the readers got it (JSON objects joined by newlines):
      const batchBytes = readers[0].ofType("message").slice(0, BATCH)
        .reduce((n, m) => n + JSON.stringify(m).length + 1, 0);
      const peak = Math.max(...samples.map((s) => s.queue));
      // The slow socket is closed once it passes 4x the limit after a flush, and a flush is at most
      // FLUSH_BYTES plus one message; each reader holds at most the batch in flight.
      const bound = 4 * LIMIT + FLUSH + batchBytes / BATCH + READERS * batchBytes + 32 * 1024;
      const base = summarize(baseline);
      const loaded = summarize(withSlow);
      const fmt = (s: { p50: number; p99: number; n: number }) =>
        `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms over ${s.n} batches`;
      console.log(
        `slow consumer: queue passed ${LIMIT} B after ${batches.sent} messages ` +
          `(${(drained / 1e6).toFixed(1)} MB were in flight to it); closed 4008 ` +
          `${
            (closedAt - crossed.at).toFixed(0)
          } ms later; peak queue ${peak} B (bound ${bound}); ` +
          `batch of ${BATCH} × ${PAD.length} B to ${READERS} readers: baseline ${fmt(base)}; ` +
          `with the non-reader ${fmt(loaded)}`,
      );
      assert.ok(peak <= bound, `peak send queue ${peak} bytes, over the bound ${bound}`);
      // Judged one grace period after it passed the limit: not at once (a burst or a large
      // welcome would close readers too), and not much later.
      const after = closedAt - crossed.at;
      assert.ok(
        after >= GRACE_MS / 2,
        `closed ${after} ms after passing the limit: no grace period`,
      );
      assert.ok(after <= GRACE_MS + SLACK_MS, `closed ${after} ms after passing the limit`);
      const allowed = Math.max(3 * base.p99, base.p99 + 50);
      assert.ok(
        loaded.p99 <= allowed,
        `readers' p99 ${loaded.p99} ms with the non-reader, ${base.p99} ms without`,
      );
    } finally {
      slow?.abort();
      sender?.abort();
      await Promise.all(readers.map((c) => c.close()));
      await srv.stop();
    }
  },
);
