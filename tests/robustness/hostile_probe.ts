/**
 * Measuring tools of the hostile-internet scenarios: the server's resident memory from
 * `/proc/<pid>/status` (sampled, and its high-water mark), every `/metrics` value (labelled ones
 * too), a tally of what an attacker got, and loopback source addresses to play many clients.
 *
 * @module
 */

import { percentile } from "./slow_consumer_probe.ts";

const MiB = 1024 * 1024;

/**
 * The resident set of a process now (`VmRSS`) and at its peak so far (`VmHWM`), in bytes.
 *
 * @example
 * ```ts
 * const { rss, peak } = await readRss(server.pid);
 * ```
 */
export async function readRss(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (name: string) => {
    const match = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"));
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/**
 * Samples a process's RSS every `everyMs` until {@linkcode RssSampler.stop}, which returns the
 * highest value seen (the kernel's high-water mark included, so a spike between samples counts).
 *
 * @example
 * ```ts
 * const sampler = new RssSampler(server.pid, 100);
 * // ... attack ...
 * const peakBytes = await sampler.stop();
 * ```
 */
export class RssSampler {
  #peak = 0;
  #running = true;
  #loop: Promise<void>;
  #pid: number;

  constructor(pid: number, everyMs: number) {
    this.#pid = pid;
    this.#loop = (async () => {
      while (this.#running) {
        this.#peak = Math.max(this.#peak, (await readRss(pid).catch(() => ({ rss: 0 }))).rss);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }

  /** Stops sampling; the peak RSS in bytes. */
  async stop(): Promise<number> {
    this.#running = false;
    await this.#loop;
    const last = await readRss(this.#pid).catch(() => ({ rss: 0, peak: 0 }));
    return Math.max(this.#peak, last.rss, last.peak);
  }
}

/**
 * Every sample of a `/metrics` text by its name and labels as written, e.g.
 * `fanout_connections` or `fanout_rejected_total{reason="handshake_origin"}`.
 *
 * @example
 * ```ts
 * const m = await readMetrics(server.httpUrl("/metrics"));
 * m['fanout_rejected_total{reason="handshake_origin"}'] ?? 0;
 * ```
 */
export async function readMetrics(metricsUrl: string): Promise<Record<string, number>> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`${metricsUrl} answered ${res.status}`);
  const out: Record<string, number> = {};
  for (const line of (await res.text()).split("\n")) {
    const match = line.match(/^([a-z_]+(?:\{[^}]*\})?) (-?[\d.e+]+)$/);
    if (match) out[match[1]] = Number(match[2]);
  }
  return out;
}

/** `fanout_rejected_total` of one reason in a {@linkcode readMetrics} record (0 when absent). */
export function rejected(metrics: Record<string, number>, reason: string): number {
  return metrics[`fanout_rejected_total{reason="${reason}"}`] ?? 0;
}

/**
 * Counts outcomes by label ("101", "429", "close 1009", ...), for the report's
 * "what the attacker got".
 *
 * @example
 * ```ts
 * const got = new Tally();
 * got.add("429"); got.add("429"); got.add("101");
 * got.toString(); // "429×2, 101×1"
 * ```
 */
export class Tally {
  readonly counts = new Map<string, number>();

  /** Counts `n` more of `label`. */
  add(label: string, n = 1): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + n);
  }

  /** How many of `label` (0 when never counted). */
  get(label: string): number {
    return this.counts.get(label) ?? 0;
  }

  /** Sum over the labels that start with `prefix`. */
  prefixed(prefix: string): number {
    let n = 0;
    for (const [label, v] of this.counts) if (label.startsWith(prefix)) n += v;
    return n;
  }

  /** Sum over every label. */
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** Adds every count of `other`. */
  merge(other: Tally): void {
    for (const [label, n] of other.counts) this.add(label, n);
  }

  toString(): string {
    return [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}×${v}`).join(", ");
  }
}

/**
 * The `i`-th attacker address, from 127.0.0.2 on (127.0.0.1 is the witness's): 127.0.0.2 ...
 * 127.0.0.254, then 127.0.1.1 and so on.
 *
 * @example
 * ```ts
 * sourceAddress(0); // "127.0.0.2"
 * sourceAddress(253); // "127.0.1.1"
 * ```
 */
export function sourceAddress(i: number): string {
  const n = i + 2;
  const high = Math.floor((n - 1) / 254);
  const low = ((n - 1) % 254) + 1;
  return `127.${Math.floor(high / 256)}.${high % 256}.${low}`;
}

/**
 * p50, p99 and max of timings in ms (NaN when empty), rounded to 0.1 ms.
 *
 * @example
 * ```ts
 * latencySummary([3, 1, 2]); // { p50: 2, p99: 3, max: 3 }
 * ```
 */
export function latencySummary(ms: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    p50: round(percentile(sorted, 0.5)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : NaN),
  };
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}
