/**
 * The zero-loss load scenario shared by the CI test and `deno task soak`: N receivers and S
 * senders in one room for a bounded time; every acknowledged message must reach every receiver
 * exactly once, in offset order, with the text that was sent, and every sender likewise gets
 * every acknowledged message except its own. Reports throughput and latency.
 *
 * @module
 */

import { checkSenders, type SenderHeard } from "./load_senders.ts";

/** Options of {@linkcode runLoad}. */
export interface LoadOptions {
  /** Builds `ws://host:port/ws?...` for a query. */
  wsUrl: (query: Record<string, string>) => string;
  receivers: number;
  senders: number;
  seconds: number;
  /** Messages per second per sender (keep it under the server's RATE_LIMIT). */
  rate: number;
  room?: string;
  /** Bytes of padding per message text (default 100). */
  textBytes?: number;
  /** Receivers opened at once (default 50). */
  connectBatch?: number;
  /** How long to wait for the last acks and deliveries after sending stops (default 15 s). */
  settleMs?: number;
}

/** What {@linkcode runLoad} measured. */
export interface LoadReport {
  receivers: number;
  senders: number;
  /** Messages the senders sent. */
  sent: number;
  accepted: number;
  deliveries: number;
  expectedDeliveries: number;
  /** Messages the senders received (the others' messages), and how many they should have. */
  senderDeliveries: number;
  expectedSenderDeliveries: number;
  /** Offsets out of order, repeated, skipped, or with a wrong text (first 10 shown). */
  violations: string[];
  /** Receivers that were closed during the run. */
  dropped: number;
  /** Close codes of the dropped receivers, with counts, e.g. `{ "4008": 3 }`. */
  dropCodes: Record<string, number>;
  seconds: number;
  deliveriesPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
}

interface Receiver {
  ws: WebSocket;
  last: number;
  count: number;
  closed: boolean;
}

const MAX_SAMPLES = 200_000;

/** Opens a JSON-mode socket with its message handler attached from the start. */
function open(url: string, onMessage: (data: string) => void): Promise<WebSocket> {
  const ws = new WebSocket(url, ["fanout.v1"]);
  ws.onmessage = (event) => onMessage(event.data as string);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`could not connect to ${url}`));
  });
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN;
}

/**
 * Runs the scenario and returns its report (it asserts nothing itself).
 *
 * @example
 * ```ts
 * const report = await runLoad({ wsUrl: srv.wsUrl, receivers: 200, senders: 4, seconds: 5, rate: 20 });
 * report.violations; // []
 * ```
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const room = options.room ?? "load";
  const pad = "p".repeat(options.textBytes ?? 100);
  const seen = new Map<number, string>(); // offset → text, as first delivered
  const violations: string[] = [];
  const latencies: number[] = [];
  const receivers: Receiver[] = [];
  const senders: WebSocket[] = [];
  let violationCount = 0;
  const violate = (what: string) => {
    if (violationCount++ < 10) violations.push(what);
  };
  const dropCodes: Record<string, number> = {};
  let deliveries = 0;
  let lastDelivery = 0;
  try {
    const batch = options.connectBatch ?? 50;
    for (let i = 0; i < options.receivers; i += batch) {
      const n = Math.min(batch, options.receivers - i);
      await Promise.all(Array.from({ length: n }, async () => {
        const r: Receiver = { ws: null as unknown as WebSocket, last: -1, count: 0, closed: false };
        receivers.push(r);
        r.ws = await open(options.wsUrl({ room }), (data) => {
          const now = Date.now();
          for (const line of data.split("\n")) {
            const f = JSON.parse(line);
            if (f.type === "welcome") r.last = f.offset;
            if (f.type !== "message") continue;
            if (f.offset !== r.last + 1) violate(`receiver got offset ${f.offset} after ${r.last}`);
            r.last = f.offset;
            r.count++;
            deliveries++;
            lastDelivery = now;
            if (latencies.length < MAX_SAMPLES) latencies.push(now - f.ts);
            const first = seen.get(f.offset);
            if (first === undefined) seen.set(f.offset, f.text);
            else if (first !== f.text) violate(`offset ${f.offset} has two different texts`);
          }
        });
        r.ws.onclose = (event) => {
          r.closed = true;
          const key = `${event.code}${event.reason ? ` ${event.reason}` : ""}`;
          dropCodes[key] = (dropCodes[key] ?? 0) + 1;
        };
      }));
    }
    const acks = new Map<string, number>();
    const sentRefs = new Map<string, string>(); // ref → text
    const heard: SenderHeard[] = [];
    for (let s = 0; s < options.senders; s++) {
      const got: SenderHeard = { offsets: [], texts: [], welcomed: false };
      heard.push(got);
      const ws = await open(options.wsUrl({ room, client: `load-sender-${s}` }), (data) => {
        for (const line of data.split("\n")) {
          const f = JSON.parse(line);
          if (f.type === "ack") acks.set(f.ref, f.offset);
          else if (f.type === "welcome") got.welcomed = true;
          else if (f.type === "message") {
            got.offsets.push(f.offset);
            got.texts.push(f.text);
          } else if (f.type === "error") violate(`sender ${s} got error ${f.code}`);
        }
      });
      senders.push(ws);
    }
    // Wait for every welcome before the clock starts.
    const ready = Date.now() + 10_000;
    while (
      (receivers.some((r) => r.last < 0) || heard.some((h) => !h.welcomed)) && Date.now() < ready
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const started = performance.now();
    const startedWall = Date.now();
    let sent = 0;
    const tickMs = 20;
    while (performance.now() - started < options.seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * options.rate);
      for (let s = 0; s < senders.length; s++) {
        for (let k = sent; k < due; k++) {
          const ref = `s${s}-${k}`;
          const text = `${ref} ${pad}`;
          sentRefs.set(ref, text);
          senders[s].send(JSON.stringify({ type: "message", text, ref }));
        }
      }
      sent = Math.max(sent, due);
      await new Promise((r) => setTimeout(r, tickMs));
    }
    const total = sent * senders.length;
    const ownAcks = (s: number) =>
      [...acks.keys()].filter((ref) => ref.startsWith(`s${s}-`)).length;
    const settle = Date.now() + (options.settleMs ?? 15_000);
    while (Date.now() < settle) {
      const done = acks.size === total &&
        receivers.every((r) => r.closed || r.count === acks.size) &&
        heard.every((h, s) => h.offsets.length === acks.size - ownAcks(s));
      if (done) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const [ref, offset] of acks) {
      if (seen.get(offset) !== sentRefs.get(ref)) violate(`ack ${ref} → ${offset}: text differs`);
    }
    if (violationCount > violations.length) violations.push(`… ${violationCount} in all`);
    const seconds = ((lastDelivery || Date.now()) - startedWall) / 1000;
    if (acks.size !== total) {
      violate(`${total - acks.size} of ${total} messages never acknowledged`);
    }
    const offsets = [...acks.values()].sort((a, b) => a - b);
    offsets.forEach((o, i) => o !== offsets[0] + i && violate(`acked offsets skip at ${o}`));
    for (const r of receivers) {
      if (!r.closed && r.count !== acks.size) {
        violate(`a receiver got ${r.count} of ${acks.size} messages`);
      }
    }
    const expectedSenderDeliveries = checkSenders(heard, acks, sentRefs, violate);
    latencies.sort((a, b) => a - b);
    return {
      receivers: receivers.length,
      senders: senders.length,
      sent: total,
      accepted: acks.size,
      deliveries,
      expectedDeliveries: acks.size * receivers.filter((r) => !r.closed).length,
      senderDeliveries: heard.reduce((n, h) => n + h.offsets.length, 0),
      expectedSenderDeliveries,
      violations,
      dropped: receivers.filter((r) => r.closed).length,
      dropCodes: { ...dropCodes },
      seconds,
      deliveriesPerSecond: Math.round(deliveries / Math.max(seconds, 0.001)),
      latencyMs: {
        p50: pct(latencies, 0.5),
        p99: pct(latencies, 0.99),
        max: latencies.at(-1) ?? NaN,
      },
    };
  } finally {
    const all = [...receivers.map((r) => r.ws).filter(Boolean), ...senders];
    await Promise.all(all.map((ws) =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.addEventListener("close", () => resolve());
        ws.close();
      })
    ));
  }
}

/** One line for logs and docs. */
export function formatReport(r: LoadReport): string {
  return `${r.receivers} receivers, ${r.senders} senders: ${r.accepted} messages accepted, ` +
    `${r.deliveries}/${r.expectedDeliveries} deliveries in ${r.seconds.toFixed(1)} s ` +
    `(senders: ${r.senderDeliveries}/${r.expectedSenderDeliveries}) ` +
    `(${r.deliveriesPerSecond} deliveries/s), latency p50 ${r.latencyMs.p50} ms, ` +
    `p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms; dropped ${r.dropped} ` +
    `${JSON.stringify(r.dropCodes)}; ` +
    `violations: ${r.violations.length ? r.violations.join("; ") : "none"}`;
}
