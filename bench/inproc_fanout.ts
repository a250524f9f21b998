/**
 * The `fanout` scenario of `deno task bench:js` (`bench/inproc.ts`): the fan-out's own cost per
 * delivery, in one process over fake connections. Fanout's whole server (`listen` with its HTTP
 * server, WebSocket transport, hub and memory engine) takes `clients` fake connections into one
 * room, then `senders` of them write `perTurn` messages each per event-loop turn (JSON, or plain
 * texts with `plain`; masked
 * frames, fed as one read), and every write goes to a counter. What is measured is JavaScript,
 * V8 and the collector, per delivery (the process's CPU, frames built beforehand).
 *
 * @module
 */

import process from "node:process";
import { clientTextFrame } from "./load_client.ts";
import { median } from "./report.ts";
import { MemoryConn } from "../lib/transport/memory_conn.ts";
import { upgradeRequest } from "../lib/server/warm_up.ts";
import { inprocServer, turnOver } from "./inproc_server.ts";

/** Sizes of one run. */
export interface InprocParams {
  clients: number;
  senders: number;
  perTurn: number;
  /** Plain mode (texts as they are, one frame each) instead of JSON mode. */
  plain?: boolean;
  turns: number;
  passes: number;
}

/** What one run measured. */
export interface InprocResult {
  /** Process CPU per delivery (user and system), in ns: median of the counted passes. */
  cpuNsPerDelivery: number;
  /** Bytes written per delivery (frames, acks and welcomes' share). */
  bytesPerDelivery: number;
  deliveries: number;
}

/** Every sender's frames of every turn of one pass: one buffer per sender and turn. */
function framesOfPass(p: InprocParams, pass: number): Uint8Array[][] {
  const turns: Uint8Array[][] = [];
  // Refs differ across passes too: a ref seen again is a resend, acknowledged and not broadcast.
  let seq = pass * p.turns * p.senders * p.perTurn;
  for (let t = 0; t < p.turns; t++) {
    const perSender: Uint8Array[] = [];
    for (let s = 0; s < p.senders; s++) {
      const frames: Uint8Array[] = [];
      for (let k = 0; k < p.perTurn; k++, seq++) {
        const text = `#${s}.${seq}.${seq * 7}|`.padEnd(60, "x");
        frames.push(
          clientTextFrame(
            p.plain ? text : `{"type":"message","text":"${text}","ref":"!${s}.${seq}|"}`,
          ),
        );
      }
      const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      let at = 0;
      for (const f of frames) {
        all.set(f, at);
        at += f.length;
      }
      perSender.push(all);
    }
    turns.push(perSender);
  }
  return turns;
}

/**
 * One run against the checkout at `root` (its `lib/`), in this process.
 *
 * @example
 * ```ts
 * const r = await runInproc(new URL("../", import.meta.url).href, { clients: 100, senders: 10, perTurn: 5, turns: 500, passes: 3 });
 * console.log(r.cpuNsPerDelivery);
 * ```
 */
export async function runInproc(root: string, p: InprocParams): Promise<InprocResult> {
  if (p.senders > p.clients) {
    throw new RangeError(`senders must be at most clients, got ${p.senders}`);
  }
  const server = await inprocServer(root);
  const conns: MemoryConn[] = [];
  for (let i = 0; i < p.clients; i++) {
    const conn = new MemoryConn(upgradeRequest(i, "bench", p.plain));
    conns.push(conn);
    server.listener.connect(conn);
    await turnOver();
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // welcomes and presence
  // A JSON client gets its 101 and a welcome after it; a plain client gets its 101 alone.
  const unwelcomed = conns.filter((c) => p.plain ? c.writes === 0 : !c.framed).length;
  if (unwelcomed > 0) {
    await server.shutdown();
    throw new Error(
      `${unwelcomed} of ${p.clients} fake connections got no ${p.plain ? "101" : "welcome"} ` +
        `from the checkout at ${root}: its listen() must take the \`listener\` option`,
    );
  }
  const step = Math.floor(p.clients / p.senders);
  const senders = Array.from({ length: p.senders }, (_, i) => conns[i * step]);
  const perPass = p.turns * p.senders * p.perTurn * (p.clients - 1);
  const counted: number[] = [];
  let bytes = 0;
  for (let pass = 0; pass < p.passes; pass++) {
    const frames = framesOfPass(p, pass);
    const bytes0 = conns.reduce((n, c) => n + c.bytes, 0);
    const cpu0 = process.cpuUsage();
    for (const turn of frames) {
      for (let s = 0; s < senders.length; s++) senders[s].feed(turn[s]);
      await turnOver();
      await turnOver();
    }
    const cpu = process.cpuUsage(cpu0);
    if (pass >= 2 || p.passes <= 2) {
      counted.push((cpu.user + cpu.system) * 1000 / perPass);
      bytes += conns.reduce((n, c) => n + c.bytes, 0) - bytes0;
    }
  }
  for (const conn of conns) conn.close();
  await server.shutdown();
  return {
    cpuNsPerDelivery: median(counted),
    bytesPerDelivery: bytes / (perPass * counted.length),
    deliveries: perPass * counted.length,
  };
}
