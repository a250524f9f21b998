/**
 * `deno task bench:js`: the fan-out's own cost per delivery, in one process over fake
 * connections: Fanout's whole server (`listen` with its HTTP server, WebSocket transport, hub and
 * memory engine) takes `clients` fake connections into one room, then `senders` of them write
 * `perTurn` JSON messages each per event-loop turn (masked frames, fed as one read), and every
 * write goes to a counter. No socket and no kernel: what is measured is JavaScript, V8 and the
 * collector, per delivery (server CPU of the whole process, frames built beforehand). Runs to
 * runs on this machine differ by about ±5 %, far less than the socket benchmark's; with
 * `--against <checkout>` it alternates runs of this checkout and another one (each in a process
 * of its own, on core 0 when `taskset` is there) and prints both, which resolves 2-3 %.
 *
 * Flags: `--against <dir>`, `--rounds` (3), `--clients` (100), `--senders` (10), `--per-turn`
 * (5), `--turns` (2000 per pass), `--passes` (5; the first two are not counted).
 *
 * @example
 * ```sh
 * deno task bench:js
 * git worktree add /tmp/before HEAD~1 && deno task bench:js --against /tmp/before
 * ```
 *
 * @module
 */

import process from "node:process";
import { canPin, FANOUT_ENV } from "./servers.ts";
import { clientTextFrame } from "./load_client.ts";
import { median } from "./report.ts";
import { startFlags } from "../scripts/start_flags.ts";

/** Sizes of one run. */
export interface InprocParams {
  clients: number;
  senders: number;
  perTurn: number;
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

type DenoServer = typeof import("../lib/server/deno_server.ts");
type ConfigModule = typeof import("../lib/shared/config.ts");

const enc = new TextEncoder();

/** A connection the test feeds: reads wait for `feed`, writes are counted and dropped. */
class FakeConn {
  readonly remoteAddr = { transport: "tcp" as const, hostname: "127.0.0.1", port: 40000 };
  bytes = 0;
  #inbox: Uint8Array[] = [];
  #pending: { buf: Uint8Array; resolve: (n: number | null) => void } | null = null;
  #closed = false;

  constructor(request: Uint8Array) {
    this.#inbox.push(request);
  }

  read(buf: Uint8Array): Promise<number | null> {
    const next = this.#inbox.shift();
    if (next !== undefined) return Promise.resolve(this.#copy(next, buf));
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#pending = { buf, resolve });
  }

  feed(bytes: Uint8Array): void {
    const pending = this.#pending;
    if (pending === null) return void this.#inbox.push(bytes);
    this.#pending = null;
    pending.resolve(this.#copy(bytes, pending.buf));
  }

  #copy(bytes: Uint8Array, buf: Uint8Array): number {
    const n = Math.min(bytes.length, buf.length);
    buf.set(bytes.subarray(0, n));
    if (n < bytes.length) this.#inbox.unshift(bytes.subarray(n));
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    this.bytes += bytes.length;
    return Promise.resolve(bytes.length);
  }

  close(): void {
    this.#closed = true;
    const pending = this.#pending;
    this.#pending = null;
    pending?.resolve(null);
  }

  setNoDelay(): void {}
}

/** The upgrade request of client `i` (JSON mode, room `bench`). */
function request(i: number): Uint8Array {
  const key = btoa(String(i).padStart(16, "k"));
  return enc.encode(
    "GET /ws?room=bench HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\n" +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      "Sec-WebSocket-Protocol: fanout.v1\r\n\r\n",
  );
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
        frames.push(clientTextFrame(`{"type":"message","text":"${text}","ref":"!${s}.${seq}|"}`));
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

const turnOver = () => new Promise<void>((resolve) => setImmediate(resolve));

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
  const { listen }: DenoServer = await import(new URL("lib/server/deno_server.ts", root).href);
  const { loadConfig }: ConfigModule = await import(new URL("lib/shared/config.ts", root).href);
  const waiting: { resolve: (conn: FakeConn) => void; reject: (err: Error) => void }[] = [];
  const ready: FakeConn[] = [];
  const listener = {
    addr: { hostname: "127.0.0.1", port: 8000 },
    accept: () =>
      ready.length > 0
        ? Promise.resolve(ready.shift()!)
        : new Promise<FakeConn>((resolve, reject) => waiting.push({ resolve, reject })),
    close() {
      for (const w of waiting.splice(0)) w.reject(new Error("listener closed"));
    },
  };
  const server = await listen(loadConfig({ ...FANOUT_ENV, PORT: "8000", LOG_LEVEL: "error" }), {
    listener,
  });
  const conns: FakeConn[] = [];
  for (let i = 0; i < p.clients; i++) {
    const conn = new FakeConn(request(i));
    conns.push(conn);
    const take = waiting.shift();
    if (take) take.resolve(conn);
    else ready.push(conn);
    await turnOver();
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // welcomes and presence
  const unwelcomed = conns.filter((c) => c.bytes < 200).length;
  if (unwelcomed > 0) {
    await server.shutdown();
    throw new Error(
      `${unwelcomed} of ${p.clients} fake connections got no welcome from the checkout at ${root}: ` +
        "its listen() must take the `listener` option",
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

/** The flags of the sizes, with their defaults. */
const SIZES: Record<string, [keyof InprocParams, number]> = {
  "--clients": ["clients", 100],
  "--senders": ["senders", 10],
  "--per-turn": ["perTurn", 5],
  "--turns": ["turns", 2000],
  "--passes": ["passes", 5],
};

/** What the command line asks for; an unknown flag or a bad number throws, naming it. */
function parseArgs(args: string[]): {
  params: InprocParams;
  worker: string;
  against: string;
  rounds: number;
} {
  const params = Object.fromEntries(Object.values(SIZES)) as unknown as InprocParams;
  let worker = "", against = "", rounds = 3;
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new RangeError(`${name} needs a value`);
    if (name === "--worker") worker = value;
    else if (name === "--against") against = value;
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(`${name} needs a positive integer, got "${value}"`);
      }
      if (name === "--rounds") rounds = n;
      else if (name in SIZES) params[SIZES[name][0]] = n;
      else throw new RangeError(`unknown flag "${name}"; see bench/inproc_fanout.ts`);
    }
  }
  return { params, worker, against, rounds };
}

/** Runs `root` in a process of its own (pinned to core 0 when it can be) and returns its result. */
async function runChild(root: string, args: string[]): Promise<InprocResult> {
  const self = new URL(import.meta.url).pathname;
  // Each checkout runs with the V8 flags of its own `deno task start`.
  const v8 = startFlags(new URL(root)).filter((f) => f.startsWith("--v8-flags="));
  const deno = [Deno.execPath(), "run", "-A", ...v8, self];
  const argv = [...deno, "--worker", root, ...args];
  const [program, ...rest] = canPin() ? ["taskset", "-c", "0", ...argv] : argv;
  const out = await new Deno.Command(program, {
    args: rest,
    cwd: new URL(root).pathname,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`the run of ${root} failed (exit ${out.code})`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

if (import.meta.main) {
  const { params, worker, against, rounds } = parseArgs(Deno.args);
  if (worker !== "") {
    console.log(JSON.stringify(await runInproc(worker, params)));
    Deno.exit(0);
  }
  const here = new URL("../", import.meta.url).href;
  const roots = against === ""
    ? [here]
    : [here, new URL(`${against.replace(/\/$/, "")}/`, `file://${Deno.cwd()}/`).href];
  const sizes = Object.entries(SIZES).flatMap(([name, [key]]) => [name, String(params[key])]);
  const results = new Map<string, number[]>(roots.map((r) => [r, []]));
  for (let round = 0; round < rounds; round++) {
    for (const root of roots) {
      const r = await runChild(root, sizes);
      results.get(root)!.push(r.cpuNsPerDelivery);
      const bytes = r.bytesPerDelivery.toFixed(0);
      console.log(
        `${new URL(root).pathname}: ${
          r.cpuNsPerDelivery.toFixed(1)
        } ns per delivery (${bytes} bytes)`,
      );
    }
  }
  for (const [root, xs] of results) {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      `${new URL(root).pathname}: mean ${mean.toFixed(1)} ns per delivery over ${xs.length} runs`,
    );
  }
}
