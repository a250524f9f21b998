/**
 * The `fanout` scenario: N clients in one room, S of them sending 60-byte texts that carry a
 * unique marker and their send time. A message is in flight until every other client has it;
 * each sender keeps at most K in flight (or sends at a fixed rate with `rate`). Every delivery
 * is counted (several per NDJSON frame), checked for loss, duplicates and order, and timed.
 * In JSON mode each message carries a `ref` (as `FanoutClient`'s do) holding an ack marker
 * `!<sender>.<seq>.<µs>|`, so the sender's `ack` is timed too: the ack latency (stored, then
 * acknowledged; with the KV engine, committed to disk).
 *
 * @module
 */

import { allWelcomed, connectMany, Histogram, sleep } from "./clients.ts";
import { nowUs } from "./load_client.ts";
import { cpuSeconds, machineBusySeconds, rssBytes, type ServerHandle } from "./servers.ts";
import type { Column } from "./report.ts";

/**
 * The rows of a `fanout*` table, from {@linkcode runFanout}'s figures.
 *
 * @example
 * ```ts
 * console.log(table("fanout", FANOUT_COLUMNS, baseline, fanout));
 * ```
 */
export const FANOUT_COLUMNS: Column[] = [
  { key: "deliveriesPerSec", label: "deliveries/s" },
  { key: "p50", label: "p50 latency (ms)", digits: 1 },
  { key: "p90", label: "p90 latency (ms)", digits: 1 },
  { key: "p99", label: "p99 latency (ms)", digits: 1 },
  { key: "max", label: "max latency (ms)", digits: 1 },
  { key: "ackP50", label: "ack p50 (ms)", digits: 1 },
  { key: "ackP90", label: "ack p90 (ms)", digits: 1 },
  { key: "ackP99", label: "ack p99 (ms)", digits: 1 },
  { key: "sent", label: "messages sent" },
  { key: "acked", label: "acks received" },
  { key: "expected", label: "deliveries expected" },
  { key: "received", label: "deliveries received" },
  { key: "lost", label: "lost" },
  { key: "duplicates", label: "duplicates" },
  { key: "outOfOrder", label: "out of order" },
  { key: "perFrame", label: "deliveries per frame", digits: 1 },
  { key: "serverCpu", label: "server CPU (% of a core)" },
  { key: "serverNsPerDelivery", label: "server CPU per delivery (ns)" },
  { key: "genCpu", label: "load generator CPU (% of a core)" },
  { key: "otherCpu", label: "other processes' CPU meanwhile (% of a core)" },
  { key: "failedConnections", label: "failed connections" },
  { key: "rssAfter", label: "server RSS at the end (bytes)" },
];

/** Parameters of one fanout run. */
export interface FanoutParams {
  clients: number;
  senders: number;
  /** Messages in flight per sender (at most 1024). */
  inflight: number;
  /** Messages per second per sender; 0 sends as fast as the in-flight window allows. */
  rate: number;
  seconds: number;
}

/** Figures of one fanout run. */
export interface FanoutResult {
  deliveriesPerSec: number;
  sent: number;
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Ack latency percentiles in ms: send to the sender's `ack` (NaN without acks: plain mode). */
  ackP50: number;
  ackP90: number;
  ackP99: number;
  /** Acks received. */
  acked: number;
  /** Deliveries per data frame received (all frames counted: coalescing indicator). */
  perFrame: number;
  /** CPU of the load generator and of the server, in % of one core. */
  genCpu: number;
  serverCpu: number;
  /** Server CPU time per delivery in ns: cost, less sensitive to other load than rates. */
  serverNsPerDelivery: number;
  /** CPU used by everything else on the machine meanwhile (other processes), % of one core. */
  otherCpu: number;
  failedConnections: number;
  /** Sequence gaps seen by receivers (reordering or loss). */
  outOfOrder: number;
  /** Server RSS when the senders stop, in bytes (what its queues and buffers hold). */
  rssAfter: number;
}

const RING = 1024;

function text(sender: number, seq: number): string {
  const head = `#${sender}.${seq}.${nowUs()}|`;
  return head + "x".repeat(Math.max(0, 60 - head.length));
}

/**
 * Runs the scenario against a started server.
 *
 * @example
 * ```ts
 * const r = await runFanout(server, { clients: 100, senders: 10, inflight: 16, rate: 0, seconds: 5 });
 * console.log(r.deliveriesPerSec, r.p99);
 * ```
 */
export async function runFanout(server: ServerHandle, p: FanoutParams): Promise<FanoutResult> {
  const { clients: n, senders: s, inflight: k } = p;
  if (k > RING) throw new RangeError(`inflight must be at most ${RING}, got ${k}`);
  let recipients = n - 1;
  const hist = new Histogram();
  const ackHist = new Histogram();
  const last = new Float64Array(n * s).fill(-1);
  const counts = new Uint32Array(s * RING);
  const inflight = new Uint32Array(s);
  const nextSeq = new Float64Array(s);
  let received = 0, duplicates = 0, gaps = 0, sending = false;
  const json = server.protocol !== undefined;
  const send = (i: number) => {
    const seq = nextSeq[i]++;
    const t = text(i, seq);
    senders[i].sendText(
      json ? `{"type":"message","text":"${t}","ref":"!${i}.${seq}.${nowUs()}|"}` : t,
    );
    inflight[i]++;
  };
  const pump = (i: number) => {
    while (sending && p.rate === 0 && inflight[i] < k) send(i);
  };
  const sink = (r: number) => (from: number, seq: number, sentUs: number, now: number) => {
    received++;
    hist.add(now - sentUs);
    const li = r * s + from;
    const prev = last[li];
    if (seq <= prev) duplicates++;
    else {
      if (seq > prev + 1) gaps += seq - prev - 1;
      last[li] = seq;
    }
    const ci = from * RING + (seq & (RING - 1));
    if (++counts[ci] === recipients) {
      counts[ci] = 0;
      inflight[from]--;
      pump(from);
    }
  };
  const senderAt = new Map(Array.from({ length: s }, (_, i) => [Math.floor(i * n / s), i]));
  const ackSink = (_from: number, _seq: number, sentUs: number, now: number) => {
    ackHist.add(now - sentUs);
  };
  const opened = await connectMany(server, {
    count: n,
    bufferBytes: 64 * 1024,
    onMarker: sink,
    onAck: (i) => json && senderAt.has(i) ? ackSink : undefined,
  });
  const clients = opened.clients;
  recipients = clients.length - 1;
  const senders = Array.from({ length: s }, (_, i) => clients[Math.floor(i * n / s)]);
  try {
    if (json) await allWelcomed(clients, 30_000);
    await sleep(json ? 800 : 300); // let presence (Fanout) or onopen (baseline) settle
    const cpu0 = cpuSeconds("self"), srv0 = cpuSeconds(server.pid), all0 = machineBusySeconds();
    const t0 = performance.now();
    sending = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (p.rate === 0) { for (let i = 0; i < s; i++) pump(i); }
    else {
      timer = setInterval(() => {
        const at = (performance.now() - t0) * p.rate / 1000;
        for (let i = 0; i < s; i++) {
          const due = Math.floor(at + i / s); // senders evenly staggered, not in lockstep
          while (nextSeq[i] < due && inflight[i] < k) send(i);
        }
      }, 2);
    }
    await sleep(p.seconds * 1000);
    sending = false;
    clearInterval(timer);
    const rssAfter = rssBytes(server.pid);
    const wall = (performance.now() - t0) / 1000;
    const inWindow = received;
    const genCpu = (cpuSeconds("self") - cpu0) / wall * 100;
    const serverCpu = (cpuSeconds(server.pid) - srv0) / wall * 100;
    const otherCpu = Math.max(0, (machineBusySeconds() - all0) / wall * 100 - genCpu - serverCpu);
    const sent = nextSeq.reduce((a, b) => a + b, 0);
    const expected = sent * recipients;
    for (let waited = 0; received < expected && waited < 10_000; waited += 50) await sleep(50);
    await sleep(200); // late duplicates
    const frames = clients.reduce((a, c) => a + c.frames, 0);
    return {
      deliveriesPerSec: inWindow / wall,
      sent,
      expected,
      received,
      lost: Math.max(0, expected - received + duplicates),
      duplicates,
      p50: hist.quantile(0.5),
      p90: hist.quantile(0.9),
      p99: hist.quantile(0.99),
      max: hist.maxUs / 1000,
      ackP50: ackHist.quantile(0.5),
      ackP90: ackHist.quantile(0.9),
      ackP99: ackHist.quantile(0.99),
      acked: ackHist.count,
      perFrame: received / Math.max(1, frames),
      genCpu,
      serverCpu,
      otherCpu,
      serverNsPerDelivery: serverCpu / 100 / (inWindow / wall) * 1e9,
      failedConnections: opened.failed,
      outOfOrder: gaps,
      rssAfter,
    };
  } finally {
    for (const c of clients) c.close();
  }
}
