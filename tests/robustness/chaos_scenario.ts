/**
 * The proxy-cut chaos scenario shared by the CI test and `deno task soak`: senders and receivers
 * talk through a TCP proxy that, at seeded random moments, severs every connection, one random
 * connection, a random subset, or one sender whose acks it first swallows (so the sender replays
 * messages the server already stored while the receivers stay online). Clients resume with
 * `since`+`epoch` and resend unacknowledged messages with their `ref`. Returns what a test must
 * check.
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

/** Kinds of cut in the schedule: each round of four cuts has each once, in a seeded order. */
export type CutKind = "all" | "one" | "some" | "sender";

const KINDS: readonly CutKind[] = ["all", "one", "some", "sender"];

/** How long a stalled sender keeps sending into a connection whose answers are dropped. */
const STALL_MS = 150;

/** What {@linkcode runProxyChaos} observed. */
export interface ProxyChaosReport {
  seed: number;
  /** Cuts that closed at least one connection. */
  cuts: number;
  /** Those cuts by kind. */
  cutsByKind: Record<CutKind, number>;
  /** Connections closed by all the cuts. */
  severed: number;
  /** Messages senders sent again after a reconnect although they had sent them before. */
  replays: number;
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
  const cutsByKind: Record<CutKind, number> = { all: 0, one: 0, some: 0, sender: 0 };
  let severed = 0;
  let round: CutKind[] = [];
  const cut = (): void => {
    if (round.length === 0) {
      round = [...KINDS];
      for (let i = round.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [round[i], round[j]] = [round[j], round[i]];
      }
    }
    const kind = round.shift()!;
    const pick = { random: rand };
    const k = kind === "all"
      ? proxy.severAll()
      : kind === "one"
      ? proxy.severRandom(1, pick)
      : kind === "some"
      ? proxy.severRandom(2 + Math.floor(rand() * Math.max(1, proxy.open - 2)), pick)
      : proxy.stallThenSever(1, STALL_MS, {
        ...pick,
        filter: (request) => request.includes("client=sender-"),
      });
    if (k > 0) cutsByKind[kind]++;
    severed += k;
  };
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
        cut();
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
      "receivers and senders have everything",
      () =>
        receivers.every((r) => r.messages.length >= acked) &&
        senders.every((s) => s.messages.length >= acked - s.acked.size),
    ).catch((e) => problems.push(String(e)));
    const offsets = senders.flatMap((s) => [...s.acked.values()].map((a) => a.offset));
    if (new Set(offsets).size !== offsets.length) problems.push("a message was stored twice");
    const textOf = (ref: string) => `m${ref.slice(1)}`;
    const texts = new Set(senders.flatMap((s) => [...s.acked.keys()].map(textOf)));
    for (const [i, r] of receivers.entries()) {
      problems.push(...checkReceived(`receiver ${i}`, r, texts));
      if (r.welcomes.slice(1).some((w) => !w.recovered)) {
        problems.push(`receiver ${i}: not recovered`);
      }
      if (new Set(r.welcomes.map((w) => w.epoch)).size !== 1) {
        problems.push(`receiver ${i}: epochs`);
      }
      if (cutsByKind.all > 0 && r.welcomes.length < 2) problems.push(`receiver ${i}: never cut`);
    }
    // Senders receive the other senders' messages, under the same rules.
    for (const [i, s] of senders.entries()) {
      const others = senders.filter((o) => o !== s).flatMap((o) => [...o.acked.keys()].map(textOf));
      problems.push(...checkReceived(`sender ${i}`, s, new Set(others), true));
    }
    return {
      seed: options.seed,
      cuts: Object.values(cutsByKind).reduce((a, b) => a + b, 0),
      cutsByKind,
      severed,
      replays: senders.reduce((sum, s) => sum + s.replays, 0),
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

/**
 * Checks one client's messages against the texts it must have: each exactly once, in offset
 * order (consecutive offsets unless `gaps`, for a sender that does not get its own back).
 */
function checkReceived(label: string, c: ChaosClient, texts: Set<string>, gaps = false): string[] {
  const problems = c.violations.map((v) => `${label}: ${v}`);
  for (let k = 1; k < c.messages.length; k++) {
    const [a, b] = [c.messages[k - 1], c.messages[k]];
    const ok = gaps ? b.offset > a.offset : b.offset === a.offset + 1;
    if (!ok) problems.push(`${label}: ${a.offset} then ${b.offset}`);
  }
  const got = new Set(c.messages.map((m) => m.text));
  const lost = [...texts].filter((t) => !got.has(t)).length;
  const extra = [...got].filter((t) => !texts.has(t)).length;
  const duplicated = c.messages.length - got.size;
  if (lost || extra || duplicated) {
    problems.push(`${label}: ${lost} lost, ${duplicated} duplicated, ${extra} unexpected`);
  }
  return problems;
}
