/**
 * The `connect` scenario of `deno task bench:js` (`bench/inproc.ts`): the handshake's own cost,
 * in one process over fake connections. Fanout's whole server takes `connections` fake clients
 * into one room, `window` handshakes at a time (a client is done when its welcome was written),
 * then all of them leave; each pass measures the process's CPU per connection for the joins and,
 * apart, for the leaves (with what they set off: presence to the others, the sockets' ends). No
 * socket and no kernel: JavaScript, V8 and the collector.
 *
 * @module
 */

import process from "node:process";
import { median } from "./report.ts";
import { MemoryConn } from "../lib/transport/memory_conn.ts";
import { upgradeRequest } from "../lib/server/warm_up.ts";
import { inprocServer, turnOver } from "./inproc_server.ts";

/** Sizes of one run. */
export interface ConnectParams {
  /** Connections per pass, all into one room. */
  connections: number;
  /** Handshakes under way at a time. */
  window: number;
  /** Passes; the first three are not counted (the JIT's compiles land there). */
  passes: number;
}

/** What one run measured. */
export interface ConnectResult {
  /** Process CPU per connection from its request to its welcome, in µs: median of the passes. */
  joinUs: number;
  /** Process CPU per connection from its end to the server's quiet, in µs: median of the passes. */
  leaveUs: number;
  /** Bytes written per connection (its 101, welcome and share of presence). */
  bytesPerConnection: number;
  connections: number;
}

/** Passes not counted: the first ones compile. */
const SKIPPED = 3;
/** Idle time after the leaves, for the presence timers and the sockets' ends. */
const SETTLE_MS = 150;

/**
 * One run against the checkout at `root` (its `lib/`), in this process.
 *
 * @example
 * ```ts
 * const r = await runInprocConnect(new URL("../", import.meta.url).href, { connections: 500, window: 50, passes: 4 });
 * console.log(r.joinUs, r.leaveUs);
 * ```
 */
export async function runInprocConnect(root: string, p: ConnectParams): Promise<ConnectResult> {
  const server = await inprocServer(root);
  const joins: number[] = [], leaves: number[] = [];
  let bytes = 0, counted = 0, next = 0;
  try {
    // The room's first member, for all passes: every counted join is into a room already held.
    const keeper = new MemoryConn(upgradeRequest(next++, "bench"));
    server.listener.connect(keeper);
    await welcomed([keeper]);
    for (let pass = 0; pass < p.passes; pass++) {
      const conns: MemoryConn[] = [];
      let inflight: MemoryConn[] = [];
      const cpu0 = process.cpuUsage();
      for (let stalled = 0; conns.length < p.connections || inflight.length > 0;) {
        while (inflight.length < p.window && conns.length < p.connections) {
          const conn = new MemoryConn(upgradeRequest(next++, "bench"));
          conns.push(conn);
          inflight.push(conn);
          server.listener.connect(conn);
        }
        await turnOver();
        const before = inflight.length;
        inflight = inflight.filter((c) => !c.framed);
        stalled = inflight.length < before ? 0 : stalled + 1;
        if (stalled > 10_000) throw new Error(`${inflight.length} handshakes got no welcome`);
      }
      const joined = process.cpuUsage(cpu0);
      const written = conns.reduce((n, c) => n + c.bytes, 0);
      const cpu1 = process.cpuUsage();
      for (const conn of conns) conn.close();
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const left = process.cpuUsage(cpu1);
      if (pass < SKIPPED && p.passes > SKIPPED) continue;
      joins.push((joined.user + joined.system) / p.connections);
      leaves.push((left.user + left.system) / p.connections);
      bytes += written;
      counted += p.connections;
    }
    keeper.close();
  } finally {
    await server.shutdown();
  }
  return {
    joinUs: median(joins),
    leaveUs: median(leaves),
    bytesPerConnection: bytes / counted,
    connections: counted,
  };
}

/**
 * Waits until each of `conns` had its 101 and its welcome written (one write with the memory
 * engine: the socket writes the 101 in front of its first frame).
 */
async function welcomed(conns: MemoryConn[]): Promise<void> {
  for (let turns = 0; conns.some((c) => !c.framed); turns++) {
    if (turns > 1000) throw new Error("no welcome after 1000 turns: is the room's join stuck?");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
