/**
 * Measuring tools for the slow-consumer test: a sampler of the server's own send queue
 * (`fanout_send_queue_bytes` from `/metrics`, which is the hub's backlog) and a paced batch
 * sender that times how long a batch takes to reach every reader.
 *
 * @module
 */

import { maskedFrame, Op } from "../helpers/masked_frames.ts";
import type { RawWs } from "../helpers/raw_ws.ts";
import type { TestClient } from "../helpers/ws_client.ts";

/** One integer gauge or counter in a `/metrics` text (throws when it is missing). */
function metricIn(text: string, name: string, metricsUrl: string): number {
  const match = text.match(new RegExp(`^${name} (\\d+)$`, "m"));
  if (!match) throw new Error(`no ${name} in ${metricsUrl}`);
  return Number(match[1]);
}

/** Reads one integer gauge or counter from `/metrics` (throws when it is missing). */
export async function readMetric(metricsUrl: string, name: string): Promise<number> {
  return metricIn(await (await fetch(metricsUrl)).text(), name, metricsUrl);
}

/** One look at the server: when (ms, `performance.now`), queued bytes, slow consumers closed. */
export interface QueueSample {
  at: number;
  queue: number;
  closed: number;
}

/** Takes one {@linkcode QueueSample}. */
export async function sampleQueue(metricsUrl: string): Promise<QueueSample> {
  const text = await (await fetch(metricsUrl)).text();
  return {
    at: performance.now(),
    queue: metricIn(text, "fanout_send_queue_bytes", metricsUrl),
    closed: metricIn(text, "fanout_slow_consumers_total", metricsUrl),
  };
}

/**
 * Samples the queue every `everyMs` in the background until {@linkcode QueueSampler.stop}.
 *
 * @example
 * ```ts
 * const sampler = new QueueSampler(srv.httpUrl("/metrics"), 20);
 * // ... flood ...
 * const samples = await sampler.stop();
 * Math.max(...samples.map((s) => s.queue));
 * ```
 */
export class QueueSampler {
  readonly samples: QueueSample[] = [];
  #running = true;
  #loop: Promise<void>;

  constructor(metricsUrl: string, everyMs: number) {
    this.#loop = (async () => {
      while (this.#running) {
        this.samples.push(await sampleQueue(metricsUrl));
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }

  /** Stops sampling and returns every sample taken. */
  async stop(): Promise<QueueSample[]> {
    this.#running = false;
    await this.#loop;
    return this.samples;
  }
}

/** The value at fraction `p` of an ascending list (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** p50 and p99 of a list of timings. */
export function summarize(ms: number[]): { p50: number; p99: number; n: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), n: sorted.length };
}

/** Writes a batch of JSON-mode message frames (each a JSON string) to the server. */
export type BatchWriter = (frames: string[]) => Promise<void>;

/**
 * A raw sender for {@linkcode BatchSender}: it writes a whole batch with one TCP write and
 * drains its own acks in the background. Deno's `WebSocket` client writes each frame on its own,
 * and a batch of small frames then waits about 40 ms for delayed ACKs (Nagle), which would hide
 * the server's own latency.
 *
 * @example
 * ```ts
 * const ws = (await RawWs.connect(port, "/ws?room=r", { protocols: ["fanout.v1"] })).ws!;
 * await ws.until((f) => f.type === "welcome");
 * const write = rawBatchWriter(ws);
 * await write([JSON.stringify({ type: "message", text: "hi" })]);
 * ```
 */
export function rawBatchWriter(ws: RawWs): BatchWriter {
  (async () => {
    while (true) {
      const m = await ws.read(3_600_000).catch(() => ({ kind: "eof" as const }));
      if (m.kind === "eof" || m.kind === "close") return;
    }
  })();
  return async (frames) => {
    const parts = frames.map((text) => maskedFrame({ opcode: Op.text, payload: text }));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    await ws.write(all);
  };
}

/**
 * Sends numbered batches and waits until every reader has the batch's last message. Message
 * texts are `"<n> <pad>"` with `n` counting from 0 across batches.
 *
 * @example
 * ```ts
 * const batches = new BatchSender(rawBatchWriter(ws), readers, 20, "x".repeat(1000));
 * const ms = await batches.send(); // time until all readers had the whole batch
 * ```
 */
export class BatchSender {
  /** Messages sent so far. */
  sent = 0;
  #write: BatchWriter;
  #readers: TestClient[];
  #size: number;
  #pad: string;

  constructor(write: BatchWriter, readers: TestClient[], size: number, pad: string) {
    this.#write = write;
    this.#readers = readers;
    this.#size = size;
    this.#pad = pad;
  }

  /** Sends one batch; resolves with the ms from the first send until every reader had it all. */
  async send(timeoutMs = 10_000): Promise<number> {
    const started = performance.now();
    const frames: string[] = [];
    for (let i = 0; i < this.#size; i++) {
      frames.push(JSON.stringify({ type: "message", text: `${this.sent++} ${this.#pad}` }));
    }
    await this.#write(frames);
    const last = `${this.sent - 1} `;
    for (const r of this.#readers) {
      await r.next((f) => f.type === "message" && f.text.startsWith(last), timeoutMs);
    }
    return performance.now() - started;
  }
}
