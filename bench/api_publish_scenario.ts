/**
 * The `api-publish` scenario (Fanout only: the naive baseline has no server API). N members join
 * one room over WebSocket; a publisher sends M messages into it, first as HTTP requests to
 * `POST /api/rooms/{room}/messages` (keep-alive `fetch`, one request per message), then, in a
 * second phase of the same run, the same number from one WebSocket client in JSON mode (with
 * acks). Each phase is a closed loop: at most K messages in flight, a message leaving the window
 * once it is acknowledged (the 201, or the socket's `ack`) and every member has it. Both phases
 * send the same message: `{"data":{"m":"#<phase>.<seq>.<µs>|xxx…"},"ref":"#<phase>.<seq>.<µs>|"}`,
 * whose marker the members' frame scanners find in the delivered `data`, and the socket's in the
 * `ack` (which echoes the `ref`; a sender never gets its own message back).
 *
 * @module
 */

import { allWelcomed, connectMany, Histogram, sleep } from "./clients.ts";
import { LoadClient, nowUs } from "./load_client.ts";
import { cpuSeconds, machineBusySeconds, type ServerHandle } from "./servers.ts";

/** Parameters of one run. */
export interface ApiPublishParams {
  /** Members: WebSocket clients in the room that receive every message. */
  clients: number;
  /** Messages each phase sends (the socket phase sends as many as the HTTP phase did). */
  messages: number;
  /** Messages in flight at once. */
  inflight: number;
  /** Time limit of each phase, in seconds: a phase stops sending once it is reached. */
  seconds: number;
}

/** Figures of one phase (HTTP or socket). */
export interface PublishFigures {
  /** Messages acknowledged per second over the phase (requests/s for HTTP). */
  perSec: number;
  sent: number;
  acked: number;
  /** Requests that failed (HTTP status other than 201, or a network error). */
  errors: number;
  /** Publish → acknowledgement (the response, or the `ack` frame), in ms. */
  ackP50: number;
  ackP90: number;
  ackP99: number;
  /** Publish → receipt by a member, in ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  deliveriesPerSec: number;
  expected: number;
  /** Distinct deliveries received (duplicates are counted apart). */
  received: number;
  lost: number;
  duplicates: number;
  /** CPU of the server, the load generator and everything else, in % of one core. */
  serverCpu: number;
  /** Server CPU time per message sent, in µs. */
  serverUsPerMessage: number;
  genCpu: number;
  otherCpu: number;
  /** The phase's length in seconds (first send to last message done, or the time limit). */
  seconds: number;
  failedConnections: number;
}

/** Figures of one run: the HTTP phase and the socket phase. */
export interface ApiPublishResult {
  http: PublishFigures;
  socket: PublishFigures;
}

/** The key the benchmark's Fanout is started with (`API_KEYS`). */
export const BENCH_API_KEY = "bench-api-key-0123456789abcdef";

/** What Fanout needs for this scenario: the API on, and its per-key rate limit out of the way. */
export const API_ENV: Record<string, string> = {
  API_KEYS: BENCH_API_KEY,
  API_RATE_LIMIT: "1000000",
};

const ROOM = "bench";
/** Phase indices, the marker's first field: warm-ups are sent and discarded. */
const HTTP_WARM = 0, HTTP = 1, SOCKET_WARM = 2, SOCKET = 3;
/** Time allowed after a phase for late deliveries before they count as lost. */
const DRAIN_MS = 5000;

function marker(phase: number, seq: number, sentUs: number): string {
  return `#${phase}.${seq}.${sentUs}|`;
}

function body(mark: string): string {
  // The same 60-character text the fanout scenarios send, as structured data; the ref is the
  // marker alone, so that the socket's ack carries it back.
  return `{"data":{"m":"${mark}${"x".repeat(Math.max(0, 60 - mark.length))}"},"ref":"${mark}"}`;
}

/** One phase's bookkeeping: what was sent, acknowledged and delivered to whom. */
class Phase {
  readonly delivery = new Histogram();
  readonly ack = new Histogram();
  sent = 0;
  acked = 0;
  errors = 0;
  received = 0;
  duplicates = 0;
  completed = 0;
  inflight = 0;
  stopped = false;
  readonly done: Promise<void>;
  #resolve: () => void;
  /** Members that have each message. */
  #delivered: Uint32Array;
  /** 0 not yet, 1 acknowledged, 2 failed. */
  #ackState: Uint8Array;
  /** One bit per (member, message): seen already. */
  #seen: Uint32Array;

  constructor(
    readonly count: number,
    readonly members: number,
    readonly window: number,
    readonly send: (phase: Phase, seq: number) => void,
  ) {
    if (members * count > 2 ** 32) {
      throw new RangeError(
        `clients × messages must be at most 2^32 to be tracked, got ${members} × ${count}`,
      );
    }
    this.#delivered = new Uint32Array(count);
    this.#ackState = new Uint8Array(count);
    this.#seen = new Uint32Array(Math.ceil(members * count / 32));
    const { promise, resolve } = Promise.withResolvers<void>();
    this.done = promise;
    this.#resolve = resolve;
    if (count === 0) resolve();
  }

  /** Sends while the window has room. */
  pump(): void {
    while (!this.stopped && this.inflight < this.window && this.sent < this.count) {
      this.inflight++;
      this.send(this, this.sent++);
    }
  }

  /** Member `member` received message `seq`, sent at `sentUs`, at `now`. */
  deliver(member: number, seq: number, sentUs: number, now: number): void {
    if (seq >= this.count) return;
    const bit = member * this.count + seq;
    const word = bit >>> 5, mask = 1 << (bit & 31);
    if (this.#seen[word] & mask) {
      this.duplicates++;
      return;
    }
    this.#seen[word] |= mask;
    this.received++;
    this.delivery.add(now - sentUs);
    if (++this.#delivered[seq] === this.members && this.#ackState[seq] === 1) this.#complete();
  }

  /** Message `seq` was acknowledged at `now`. */
  acknowledge(seq: number, sentUs: number, now: number): void {
    if (seq >= this.count || this.#ackState[seq] !== 0) return;
    this.#ackState[seq] = 1;
    this.acked++;
    this.ack.add(now - sentUs);
    if (this.#delivered[seq] === this.members) this.#complete();
  }

  /** Message `seq` could not be published: it leaves the window, its deliveries count as lost. */
  fail(seq: number): void {
    if (this.#ackState[seq] !== 0) return;
    this.#ackState[seq] = 2;
    this.errors++;
    this.#complete();
  }

  #complete(): void {
    this.inflight--;
    if (++this.completed === this.count) this.#resolve();
    else this.pump();
  }
}

/**
 * Runs the scenario against a started Fanout (with {@linkcode API_ENV} in its environment).
 *
 * @example
 * ```ts
 * const server = await startServer("fanout", { cpu: "0", env: API_ENV });
 * const r = await runApiPublish(server, { clients: 100, messages: 20000, inflight: 16, seconds: 30 });
 * console.log(r.http.perSec, r.socket.perSec);
 * await server.stop();
 * ```
 */
export async function runApiPublish(
  server: ServerHandle,
  p: ApiPublishParams,
): Promise<ApiPublishResult> {
  if (server.protocol === undefined) {
    throw new Error("api-publish needs Fanout: the naive baseline has no server API");
  }
  if (!Number.isInteger(p.messages) || !Number.isInteger(p.clients)) {
    throw new RangeError(
      `api-publish needs whole numbers of messages and clients, got ${p.messages} and ${p.clients}`,
    );
  }
  const phases: (Phase | undefined)[] = [];
  const opened = await connectMany(server, {
    count: p.clients,
    bufferBytes: 64 * 1024,
    onMarker: (member) => (from, seq, sentUs, now) =>
      phases[from]?.deliver(member, seq, sentUs, now),
  });
  const members = opened.clients;
  const sockets: LoadClient[] = [...members];
  const client = Deno.createHttpClient({});
  const url = `http://127.0.0.1:${server.port}/api/rooms/${ROOM}/messages`;
  const headers = {
    "authorization": `Bearer ${BENCH_API_KEY}`,
    "content-type": "application/json",
  };
  const httpSend = (index: number) => (phase: Phase, seq: number) => {
    const sentUs = nowUs();
    fetch(url, { method: "POST", headers, body: body(marker(index, seq, sentUs)), client })
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.status === 201) phase.acknowledge(seq, sentUs, nowUs());
        else phase.fail(seq);
      })
      .catch(() => phase.fail(seq));
  };
  const run = async (index: number, count: number, send: (phase: Phase, seq: number) => void) => {
    const phase = phases[index] = new Phase(count, members.length, p.inflight, send);
    const cpu0 = cpuSeconds("self"), srv0 = cpuSeconds(server.pid), all0 = machineBusySeconds();
    const t0 = performance.now();
    phase.pump();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([phase.done, new Promise((r) => timer = setTimeout(r, p.seconds * 1000))]);
    clearTimeout(timer);
    phase.stopped = true;
    const wall = (performance.now() - t0) / 1000;
    const inWindow = phase.received;
    const genCpu = (cpuSeconds("self") - cpu0) / wall * 100;
    const serverCpu = (cpuSeconds(server.pid) - srv0) / wall * 100;
    const otherCpu = Math.max(0, (machineBusySeconds() - all0) / wall * 100 - genCpu - serverCpu);
    const expected = phase.sent * members.length;
    const end = performance.now() + DRAIN_MS;
    while (phase.received < expected && performance.now() < end) await sleep(50);
    await sleep(200); // late duplicates
    return {
      perSec: phase.acked / wall,
      sent: phase.sent,
      acked: phase.acked,
      errors: phase.errors,
      ackP50: phase.ack.quantile(0.5),
      ackP90: phase.ack.quantile(0.9),
      ackP99: phase.ack.quantile(0.99),
      p50: phase.delivery.quantile(0.5),
      p90: phase.delivery.quantile(0.9),
      p99: phase.delivery.quantile(0.99),
      max: phase.delivery.maxUs / 1000,
      deliveriesPerSec: inWindow / wall,
      expected,
      received: phase.received,
      lost: expected - phase.received,
      duplicates: phase.duplicates,
      serverCpu,
      serverUsPerMessage: serverCpu / 100 * wall / Math.max(1, phase.sent) * 1e6,
      genCpu,
      otherCpu,
      seconds: wall,
      failedConnections: opened.failed,
    };
  };
  const warm = Math.min(1000, Math.ceil(p.messages / 10));
  try {
    await allWelcomed(members, 30_000);
    await sleep(800); // let presence settle
    await run(HTTP_WARM, warm, httpSend(HTTP_WARM));
    const http = await run(HTTP, p.messages, httpSend(HTTP));
    // The publishing socket joins now, so that the room has the same N members in both phases
    // (a sender never gets its own messages). Its welcome's history holds HTTP markers: the
    // ack sink takes only its own phases'.
    const publisher = await LoadClient.connect({
      host: "127.0.0.1",
      port: server.port,
      path: `/ws?room=${ROOM}`,
      protocol: server.protocol,
      bufferBytes: 64 * 1024,
      // An error frame that refuses a message also carries its ref: it would count as an ack
      // here, but the message would then never reach the members and count as lost.
      onMarker: (from, seq, sentUs, now) => {
        if (from === SOCKET_WARM || from === SOCKET) phases[from]?.acknowledge(seq, sentUs, now);
      },
    });
    sockets.push(publisher);
    await allWelcomed([publisher], 10_000);
    await sleep(300); // its presence reaches the members
    const socketSend = (index: number) => (_phase: Phase, seq: number) => {
      const frame = `{"type":"message",${body(marker(index, seq, nowUs())).slice(1)}`;
      publisher.sendText(frame);
    };
    await run(SOCKET_WARM, warm, socketSend(SOCKET_WARM));
    const socket = await run(SOCKET, http.sent, socketSend(SOCKET));
    return { http, socket };
  } finally {
    client.close();
    for (const c of sockets) c.close();
  }
}
