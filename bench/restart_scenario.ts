/**
 * The `restart` scenario (issue 25): one Fanout process on a fresh store fills R rooms to their
 * full history (H messages each, `HISTORY_SIZE` = H, every one acknowledged), a client notes
 * where it stands in one room, the process is killed with SIGKILL (`kill -9`), and a new
 * process starts on the same store. Measured: the start on an empty store, the fill rate, the
 * time from the restart's spawn to the first `/healthz` 200, and to the welcome of a client
 * resuming with `since`+`epoch` (whether it is `recovered` and holds exactly the messages it
 * missed). Run on the memory engine (nothing survives: the reference) and on the KV engine.
 *
 * @module
 */

import { connectMany, sleep } from "./clients.ts";
import { nowUs } from "./load_client.ts";
import { kvStore, rssBytes, type ServerHandle, startServer } from "./servers.ts";

/** Parameters of one restart run. */
export interface RestartParams {
  /** Rooms filled. */
  rooms: number;
  /** Messages per room, and `HISTORY_SIZE`: every room full. */
  messages: number;
  /** Messages in flight per room while filling. */
  inflight: number;
}

/** Figures of one restart run. */
export interface RestartResult {
  /** Spawn to the first `/healthz` 200 on an empty store, ms. */
  startEmptyMs: number;
  /** Messages stored (acknowledged) per second while filling. */
  fillPerSec: number;
  /** Messages acknowledged by the fill (R × H when nothing failed). */
  filled: number;
  /** Bytes of the KV file (with its write-ahead log) at the kill; NaN for memory. */
  storeBytes: number;
  /** Spawn after `kill -9` to the first `/healthz` 200, ms. */
  healthzMs: number;
  /** Spawn after `kill -9` to the resuming client's welcome, ms. */
  recoverMs: number;
  /** The resuming client's welcome said `recovered: true` (1) or not (0). */
  recovered: number;
  /** Messages the resuming client missed (what its welcome must hold when recovered). */
  missed: number;
  /** Messages its welcome held with exactly the missed offsets, in order (0 when not). */
  missedReceived: number;
  /** Server RSS after the resume, bytes. */
  rssAfter: number;
}

const HEALTHZ_POLL_MS = 5;

/** The server's environment for a run: every room full, nothing trimmed or refused. */
function restartEnv(p: RestartParams): Record<string, string> {
  return {
    HISTORY_SIZE: String(p.messages),
    // Memory: the history of every room held (the KV engine's own budget is KV_HISTORY_MB).
    MEMORY_LIMIT_MB: "4096",
    MAX_ROOMS: String(Math.max(1000, 2 * p.rooms)),
  };
}

/** Spawns a server and times it until `/healthz` answers 200. */
async function startTimed(
  env: Record<string, string>,
): Promise<{ server: ServerHandle; healthzMs: number; t0: number }> {
  const t0 = performance.now();
  const server = await startServer("fanout", { cpu: "0", env, pollMs: HEALTHZ_POLL_MS });
  while (true) {
    const status = await fetch(`http://127.0.0.1:${server.port}/healthz`)
      .then(async (r) => (await r.body?.cancel(), r.status), () => 0);
    if (status === 200) break;
    if (performance.now() - t0 > 60_000) {
      await server.kill();
      throw new Error(`/healthz did not answer 200 within 60 s (last: ${status})`);
    }
    await sleep(HEALTHZ_POLL_MS);
  }
  return { server, healthzMs: performance.now() - t0, t0 };
}

/** The first frame (the welcome) of a JSON-mode connection to `path`. */
function welcomeOf(port: number, path: string): Promise<Record<string, unknown>> {
  const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, "fanout.v1");
  const timer = setTimeout(() => (ws.close(), reject(new Error(`no welcome on ${path}`))), 30_000);
  ws.onmessage = (e) => {
    clearTimeout(timer);
    const first = String(e.data).split("\n")[0];
    ws.close();
    resolve(JSON.parse(first));
  };
  ws.onerror = () => (clearTimeout(timer), reject(new Error(`connection failed on ${path}`)));
  return promise;
}

/** Fills every room to `messages`, `inflight` at a time per room; returns the acks counted. */
async function fill(server: ServerHandle, p: RestartParams): Promise<number> {
  const sent = new Uint32Array(p.rooms);
  const acked = new Uint32Array(p.rooms);
  let total = 0;
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const filler = "y".repeat(40);
  const send = (r: number) => {
    const seq = sent[r]++;
    opened.byIndex[r]?.sendText(
      `{"type":"message","text":"fill ${seq} ${filler}","ref":"!${r}.${seq}.${nowUs()}|"}`,
    );
  };
  const pump = (r: number) => {
    while (sent[r] < p.messages && sent[r] - acked[r] < p.inflight) send(r);
  };
  const opened = await connectMany(server, {
    count: p.rooms,
    room: (i) => `room${i}`,
    bufferBytes: 16 * 1024,
    onAck: (r) => () => {
      acked[r]++;
      if (++total === p.rooms * p.messages) resolve();
      pump(r);
    },
  });
  if (opened.failed > 0) throw new Error(`restart fill: ${opened.failed} connections failed`);
  await Promise.all(opened.clients.map((c) => c.firstFrame));
  for (let r = 0; r < p.rooms; r++) pump(r);
  const stalled = new Promise<void>((r) => {
    let last = -1;
    const timer = setInterval(() => {
      if (total === last) (clearInterval(timer), r());
      last = total;
    }, 10_000);
    done.then(() => (clearInterval(timer), r()));
  });
  await Promise.race([done, stalled]);
  for (const c of opened.clients) c.close();
  return total;
}

function storeSize(path: string | null): number {
  if (path === null) return NaN;
  let bytes = 0;
  for (const suffix of ["", "-wal"]) {
    try {
      bytes += Deno.statSync(path + suffix).size;
    } catch {
      // No such side file.
    }
  }
  return bytes;
}

/**
 * Runs the scenario on one engine.
 *
 * @example
 * ```ts
 * const r = await runRestart("kv", { rooms: 1000, messages: 1000, inflight: 32 });
 * console.log(r.healthzMs, r.recovered);
 * ```
 */
export async function runRestart(
  engine: "memory" | "kv",
  p: RestartParams,
): Promise<RestartResult> {
  const kv = engine === "kv" ? kvStore() : null;
  const env = { ...restartEnv(p), ...kv?.env };
  const root = new URL("../", import.meta.url).pathname;
  let server: ServerHandle | null = null;
  try {
    const first = await startTimed(env);
    server = first.server;
    const t = performance.now();
    const filled = await fill(server, p);
    const fillPerSec = filled / ((performance.now() - t) / 1000);
    const before = await welcomeOf(server.port, "/ws?room=room0");
    const epoch = String(before.epoch);
    const offset = Number(before.offset);
    const missed = Math.min(100, offset);
    const since = offset - missed;
    await server.kill();
    server = null;
    const storeBytes = storeSize(kv ? root + kv.path : null);

    const again = await startTimed(env);
    server = again.server;
    const welcome = await welcomeOf(
      server.port,
      `/ws?room=room0&since=${since}&epoch=${encodeURIComponent(epoch)}`,
    );
    const recoverMs = performance.now() - again.t0;
    const history = (welcome.history ?? []) as { offset: number }[];
    const exact = welcome.recovered === true && history.length === missed &&
      history.every((m, i) => m.offset === since + 1 + i);
    return {
      startEmptyMs: first.healthzMs,
      fillPerSec,
      filled,
      storeBytes,
      healthzMs: again.healthzMs,
      recoverMs,
      recovered: welcome.recovered === true ? 1 : 0,
      missed,
      missedReceived: exact ? history.length : 0,
      rssAfter: rssBytes(server.pid),
    };
  } finally {
    await server?.stop();
    await kv?.remove();
  }
}
