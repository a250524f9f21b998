/**
 * The proxy-cut chaos scenario shared by the CI test and `deno task soak`: senders and receivers
 * talk through a TCP proxy that severs every connection at random moments; clients resume with
 * `since`+`epoch` and resend unacknowledged messages. Returns what a test must check.
 *
 * @module
 */

import { startTcpProxy } from "../helpers/tcp_proxy.ts";
import { ChaosClient } from "./chaos_client.ts";

/** Options of {@linkcode runProxyChaos}. */
export interface ProxyChaosOptions {
  /** Port of the Fanout server behind the proxy. */
  targetPort: number;
  seconds: number;
  senders: number;
  receivers: number;
  /** Seed of the cut schedule. */
  seed: number;
  /** Messages per second per sender (default 40). */
  rate?: number;
  /** Cut interval bounds in ms (default 150-650). */
  cutEveryMs?: [number, number];
}

/** What {@linkcode runProxyChaos} observed. */
export interface ProxyChaosReport {
  seed: number;
  cuts: number;
  connects: number;
  sent: number;
  acked: number;
  /** Problems found: loss, duplicates, gaps, failed resumes (empty when all held). */
  problems: string[];
}

/** Small seeded PRNG (mulberry32) so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `ok()` or throws after `timeoutMs`. */
export async function waitUntil(what: string, ok: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/**
 * Runs the scenario.
 *
 * @example
 * ```ts
 * const r = await runProxyChaos({ targetPort: 8000, seconds: 4, senders: 2, receivers: 4, seed: 1 });
 * r.problems; // []
 * ```
 */
export async function runProxyChaos(options: ProxyChaosOptions): Promise<ProxyChaosReport> {
  const rand = seededRandom(options.seed);
  const [minCut, maxCut] = options.cutEveryMs ?? [150, 650];
  const proxy = startTcpProxy(options.targetPort);
  const url = () => `ws://127.0.0.1:${proxy.port}/ws`;
  const make = (name: string) => new ChaosClient({ url, room: "chaos", client: name, retryMs: 30 });
  const senders = Array.from({ length: options.senders }, (_, i) => make(`sender-${i}x`));
  const receivers = Array.from({ length: options.receivers }, (_, i) => make(`receiver-${i}`));
  const all = [...senders, ...receivers];
  const problems: string[] = [];
  let cuts = 0;
  let n = 0;
  try {
    for (const c of all) c.start();
    await waitUntil("everyone is welcomed", () => all.every((c) => c.ready));
    const tickMs = 1000 / (options.rate ?? 40);
    const started = Date.now();
    let nextCut = started + minCut + rand() * (maxCut - minCut);
    while (Date.now() - started < options.seconds * 1000) {
      for (const [i, s] of senders.entries()) s.send(`m${i}-${n}`, `r${i}-${n}`);
      n++;
      if (Date.now() >= nextCut) {
        if (proxy.severAll() > 0) cuts++;
        nextCut = Date.now() + minCut + rand() * (maxCut - minCut);
      }
      await sleep(tickMs);
    }
    const sent = senders.length * n;
    await waitUntil(
      "every message is acknowledged",
      () => senders.every((s) => s.outbox.size === 0),
    );
    const acked = senders.reduce((sum, s) => sum + s.acked.size, 0);
    if (acked !== sent) problems.push(`${sent - acked} of ${sent} never acknowledged`);
    await waitUntil(
      "receivers have everything",
      () => receivers.every((r) => r.messages.length >= acked),
    ).catch((e) => problems.push(String(e)));
    const offsets = senders.flatMap((s) => [...s.acked.values()].map((a) => a.offset));
    if (new Set(offsets).size !== offsets.length) problems.push("a message was stored twice");
    const texts = new Set(senders.flatMap((s) => [...s.acked.keys()].map((r) => `m${r.slice(1)}`)));
    for (const [i, r] of receivers.entries()) {
      for (const v of r.violations) problems.push(`receiver ${i}: ${v}`);
      for (let k = 1; k < r.messages.length; k++) {
        const [a, b] = [r.messages[k - 1], r.messages[k]];
        if (b.offset !== a.offset + 1) problems.push(`receiver ${i}: ${a.offset} then ${b.offset}`);
      }
      const got = new Set(r.messages.map((m) => m.text));
      const lost = [...texts].filter((t) => !got.has(t)).length;
      if (lost || got.size !== r.messages.length) {
        problems.push(`receiver ${i}: ${lost} lost, ${r.messages.length - got.size} duplicated`);
      }
      if (r.welcomes.slice(1).some((w) => !w.recovered)) {
        problems.push(`receiver ${i}: not recovered`);
      }
      if (new Set(r.welcomes.map((w) => w.epoch)).size !== 1) {
        problems.push(`receiver ${i}: epochs`);
      }
      if (cuts > 0 && r.welcomes.length < 2) problems.push(`receiver ${i}: never cut`);
    }
    return {
      seed: options.seed,
      cuts,
      connects: all.reduce((s, c) => s + c.connects, 0),
      sent,
      acked,
      problems: problems.slice(0, 20),
    };
  } finally {
    await Promise.all(all.map((c) => c.stop()));
    await proxy.close();
  }
}
