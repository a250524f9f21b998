/**
 * Scenarios about connections: `idle` (server RSS per idle connection), `connect` (handshakes
 * per second) and `join-storm` (N clients at once: time until all are welcomed, presence
 * frames spent).
 *
 * @module
 */

import { allWelcomed, connectMany, sleep } from "./clients.ts";
import { metric, rssBytes, type ServerHandle, threadCpuSince, threadCpuTimes } from "./servers.ts";
import { median } from "./report.ts";

/** Figures of the `idle` scenario. */
export interface IdleResult {
  connections: number;
  failed: number;
  /** Server RSS growth per connection, in bytes, 1.5 s after the last welcome. */
  rssPerConnection: number;
  /**
   * The same after `settleSeconds` of idleness (NaN without): what the runtime's garbage
   * collector keeps once it returned what the handshakes left behind (V8's memory reducer runs
   * when allocation stays low, and not in a process's first 30 s).
   */
  rssSettledPerConnection: number;
  rssBefore: number;
  rssAfter: number;
}

/**
 * Opens `count` idle connections and reads the server's RSS before, 1.5 s after the last
 * welcome, and (with `settleSeconds`) that long after it.
 *
 * @example
 * ```ts
 * const r = await runIdle(server, 1000, 40);
 * console.log(r.rssPerConnection, r.rssSettledPerConnection);
 * ```
 */
export async function runIdle(
  server: ServerHandle,
  count: number,
  settleSeconds = 0,
): Promise<IdleResult> {
  await sleep(500);
  const rssBefore = rssBytes(server.pid);
  const opened = await connectMany(server, { count, concurrency: 200, bufferBytes: 1024 });
  try {
    if (server.protocol) await allWelcomed(opened.clients, 60_000);
    const welcomed = performance.now();
    await sleep(1500); // presence batches
    const rssAfter = rssBytes(server.pid);
    let rssSettled = NaN;
    if (settleSeconds > 0) {
      await sleep(settleSeconds * 1000 - (performance.now() - welcomed));
      rssSettled = rssBytes(server.pid);
    }
    const live = opened.clients.filter((c) => !c.closed).length;
    return {
      connections: live,
      failed: opened.failed + (opened.clients.length - live),
      rssPerConnection: (rssAfter - rssBefore) / Math.max(1, live),
      rssSettledPerConnection: (rssSettled - rssBefore) / Math.max(1, live),
      rssBefore,
      rssAfter,
    };
  } finally {
    for (const c of opened.clients) c.close();
  }
}

/** Figures of the `connect` scenario. */
export interface ConnectResult {
  connections: number;
  failed: number;
  perSec: number;
  /** Server CPU while connecting, in % of one core. */
  serverCpu: number;
  /** Server CPU time per accepted connection, in µs. */
  serverUsPerConnection: number;
  /** The part of it on the server's main thread (the rest: V8's compilers, the collector's helpers). */
  serverMainUsPerConnection: number;
  /** The part of it on the server's other threads. */
  serverOtherUsPerConnection: number;
}

/**
 * Opens `count` connections, `concurrency` handshakes at a time, and reports handshakes/s.
 *
 * @example
 * ```ts
 * const r = await runConnect(server, 2000, 50);
 * ```
 */
export async function runConnect(
  server: ServerHandle,
  count: number,
  concurrency = 50,
): Promise<ConnectResult> {
  const t0 = performance.now(), cpu0 = threadCpuTimes(server.pid);
  const opened = await connectMany(server, { count, concurrency, bufferBytes: 1024 });
  const seconds = (performance.now() - t0) / 1000;
  const { all: cpu, main } = threadCpuSince(server.pid, cpu0, threadCpuTimes(server.pid));
  const serverCpu = cpu / seconds * 100;
  for (const c of opened.clients) c.close();
  await sleep(500);
  return {
    connections: opened.clients.length,
    failed: opened.failed,
    perSec: opened.clients.length / seconds,
    serverCpu,
    serverUsPerConnection: cpu * 1e6 / Math.max(1, opened.clients.length),
    serverMainUsPerConnection: main * 1e6 / Math.max(1, opened.clients.length),
    serverOtherUsPerConnection: (cpu - main) * 1e6 / Math.max(1, opened.clients.length),
  };
}

/** Figures of the `connect` scenario: its first pass, and the median of the passes after it. */
export interface ConnectPassesResult extends ConnectResult {
  /** Handshakes per second, median of the passes after the first. */
  perSecWarm: number;
  /** Server CPU per accepted connection in µs, median of the passes after the first. */
  serverUsPerConnectionWarm: number;
  /** Its main thread's part, median of the passes after the first. */
  serverMainUsPerConnectionWarm: number;
  /** Its other threads' part, median of the passes after the first. */
  serverOtherUsPerConnectionWarm: number;
  /** Connections that failed in every pass together. */
  failedAll: number;
}

/**
 * Runs {@linkcode runConnect} `1 + warmPasses` times: the first pass (right after the warm-up
 * every scenario has, so with the runtime still compiling the handshake's code: V8 spent about
 * 100 ms optimising Fanout's in its first 2,300 handshakes) and the median of the others, what a
 * server that has been running for a while does.
 *
 * @example
 * ```ts
 * const r = await runConnectPasses(server, 2000, 3);
 * console.log(r.perSec, r.perSecWarm);
 * ```
 */
export async function runConnectPasses(
  server: ServerHandle,
  count: number,
  warmPasses: number,
): Promise<ConnectPassesResult> {
  const first = await runConnect(server, count);
  const warm: ConnectResult[] = [];
  for (let i = 0; i < warmPasses; i++) warm.push(await runConnect(server, count));
  return {
    ...first,
    perSecWarm: median(warm.map((r) => r.perSec)),
    serverUsPerConnectionWarm: median(warm.map((r) => r.serverUsPerConnection)),
    serverMainUsPerConnectionWarm: median(warm.map((r) => r.serverMainUsPerConnection)),
    serverOtherUsPerConnectionWarm: median(warm.map((r) => r.serverOtherUsPerConnection)),
    failedAll: first.failed + warm.reduce((n, r) => n + r.failed, 0),
  };
}

/** Figures of the `join-storm` scenario. */
export interface StormResult {
  connections: number;
  failed: number;
  /** Time until every handshake got its 101, in ms. */
  allUpgradedMs: number;
  /** Time until every client got its welcome (Fanout only; NaN for the baseline), in ms. */
  allWelcomedMs: number;
  /** `fanout_presence_frames_total` after the storm (NaN for the baseline). */
  presenceFrames: number;
  /** Frames each client received after its first one (presence), on average. */
  framesPerClient: number;
}

/**
 * Connects `count` clients at once to one room.
 *
 * @example
 * ```ts
 * const r = await runJoinStorm(server, 1000);
 * ```
 */
export async function runJoinStorm(server: ServerHandle, count: number): Promise<StormResult> {
  const t0 = performance.now();
  const opened = await connectMany(server, { count, concurrency: Infinity, bufferBytes: 4096 });
  const allUpgradedMs = performance.now() - t0;
  try {
    if (server.protocol) await allWelcomed(opened.clients, 60_000);
    const allWelcomedMs = server.protocol ? performance.now() - t0 : NaN;
    await sleep(1500); // let the last presence batch go out
    const frames = opened.clients.reduce((a, c) => a + Math.max(0, c.frames - 1), 0);
    return {
      connections: opened.clients.length,
      failed: opened.failed,
      allUpgradedMs,
      allWelcomedMs,
      presenceFrames: await metric(server, "fanout_presence_frames_total"),
      framesPerClient: frames / Math.max(1, opened.clients.length),
    };
  } finally {
    for (const c of opened.clients) c.close();
  }
}
