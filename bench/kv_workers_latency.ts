/**
 * How fast a commit of one worker reaches another worker of the same process on one KV file:
 * two Web Workers (as `deno serve --parallel` runs them), each with its own KV handle and
 * `KvEngine`, linked by a real `BroadcastChannel`. Worker A publishes `--messages` messages one
 * after another (`--gap-ms` apart); worker B has joined the room and stamps each message its
 * engine emits, and also watches the room's head with `kv.watch` (the other way to learn of a
 * commit). Times are absolute (`performance.timeOrigin + performance.now()`, shared by the
 * workers). Prints percentiles of: A's publish (queue, commit, ack), A's ack → B's emit (the
 * channel), and A's ack → B's `kv.watch` notice.
 *
 * @example
 * ```sh
 * deno run -A bench/kv_workers_latency.ts --messages 500 --gap-ms 5
 * ```
 *
 * @module
 */

import { KvEngine } from "../lib/engine/kv/kv_engine.ts";
import type { PeerChannel } from "../lib/engine/kv/kv_peers.ts";
import { kvKeys } from "../lib/engine/kv/kv_messages.ts";

const clock = () => performance.timeOrigin + performance.now();

interface Job {
  role: "a" | "b";
  path: string;
  messages: number;
  gapMs: number;
}

function channelOf(name: string): PeerChannel {
  const bc = new BroadcastChannel(name);
  return {
    post: (m) => bc.postMessage(m),
    listen: (receive) => bc.onmessage = (e) => receive(e.data),
    close: () => bc.close(),
  };
}

async function engineOf(path: string, onMessage: (offset: number) => void): Promise<KvEngine> {
  const engine = new KvEngine({
    kv: await Deno.openKv(path),
    historySize: 1000,
    dedupTtlMs: 60_000,
    roomTtlMs: 600_000,
    peers: channelOf(`bench:${path}`),
  });
  await engine.start({ message: (m) => onMessage(m.offset) });
  return engine;
}

/** Runs in a worker: A publishes and reports its send and ack times; B reports what it saw. */
async function work(job: Job): Promise<void> {
  const self = globalThis as unknown as { postMessage(m: unknown): void };
  if (job.role === "b") {
    const emitted: Record<number, number> = {};
    const watched: Record<number, number> = {};
    const engine = await engineOf(job.path, (offset) => emitted[offset] = clock());
    await engine.join("r");
    const kv = await Deno.openKv(job.path);
    const stream = kv.watch<[{ offset: number }]>([kvKeys.head("r") as Deno.KvKey]);
    (async () => {
      for await (const [head] of stream) {
        if (head.value) watched[head.value.offset] ??= clock();
      }
    })();
    self.postMessage({ ready: true });
    addEventListener("message", async () => {
      await new Promise((r) => setTimeout(r, 300));
      self.postMessage({ emitted, watched });
      await engine.close();
      kv.close();
    });
    return;
  }
  const engine = await engineOf(job.path, () => {});
  // Let B's hello and this worker's answer cross (commits are posted once a peer is known).
  await new Promise((r) => setTimeout(r, 300));
  const sent: number[] = [];
  const acked: number[] = [];
  for (let i = 0; i < job.messages; i++) {
    const t0 = clock();
    const r = await engine.publish({
      room: "r",
      from: "c1",
      client: null,
      name: null,
      text: `m${i}`,
      ref: null,
    });
    const t1 = clock();
    if (r.status === "accepted") {
      sent[r.message.offset] = t0;
      acked[r.message.offset] = t1;
    }
    await new Promise((res) => setTimeout(res, job.gapMs));
  }
  self.postMessage({ sent, acked });
  await engine.close();
}

function percentiles(values: number[]): string {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  const at = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))]?.toFixed(2);
  return `n=${v.length} p50 ${at(0.5)} p90 ${at(0.9)} p99 ${at(0.99)} max ${
    v[v.length - 1]?.toFixed(2)
  } ms`;
}

if (import.meta.main && !("WorkerGlobalScope" in globalThis)) {
  const args = Deno.args;
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const messages = flag("messages", 500);
  const gapMs = flag("gap-ms", 5);
  const dir = await Deno.makeTempDir({ prefix: "fanout_kv_latency_" });
  const path = `${dir}/kv.sqlite3`;
  const start = (role: "a" | "b") => {
    const w = new Worker(import.meta.url, { type: "module" });
    w.postMessage({ role, path, messages, gapMs } satisfies Job);
    return w;
  };
  const first = <T>(w: Worker) =>
    new Promise<T>((resolve) => w.onmessage = (e) => resolve(e.data as T));
  const b = start("b");
  await first(b);
  const a = start("a");
  const { sent, acked } = await first<{ sent: number[]; acked: number[] }>(a);
  b.postMessage("report");
  const { emitted, watched } = await first<
    { emitted: Record<number, number>; watched: Record<number, number> }
  >(b);
  const offsets = Object.keys(acked).map(Number).filter((o) => acked[o] !== undefined);
  console.log(`${messages} messages, ${gapMs} ms apart, two workers on one file`);
  console.log(`A publish → ack:          ${percentiles(offsets.map((o) => acked[o] - sent[o]))}`);
  console.log(
    `A ack → B emit (channel):  ${percentiles(offsets.map((o) => emitted[o] - acked[o]))}`,
  );
  console.log(`A publish → B emit:       ${percentiles(offsets.map((o) => emitted[o] - sent[o]))}`);
  console.log(
    `A ack → B kv.watch:        ${percentiles(offsets.map((o) => (watched[o] ?? NaN) - acked[o]))}`,
  );
  const missing = offsets.filter((o) => emitted[o] === undefined).length;
  console.log(
    `not emitted in B: ${missing}; not seen by kv.watch: ${
      offsets.filter((o) => watched[o] === undefined).length
    } (kv.watch may skip intermediate versions)`,
  );
  a.terminate();
  b.terminate();
  await Deno.remove(dir, { recursive: true });
} else if ("WorkerGlobalScope" in globalThis) {
  addEventListener("message", (e) => {
    const job = (e as MessageEvent).data;
    if (typeof job === "object" && job?.role) void work(job as Job);
  }, { once: true });
}
