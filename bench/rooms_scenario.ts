/**
 * The `rooms` scenario (Fanout only: the naive baseline has no rooms protocol). The same room
 * memberships held two ways, each phase on its own fresh server:
 *
 * - `many`: C connections in R rooms each, the handshake's room then R-1 `subscribe`s;
 * - `single`: C×R connections in one room each, covering the same rooms with the same members
 *   per room (client i's j-th membership becomes a connection of its own).
 *
 * Connections join as clients would, at most 100 at a time in either phase: a connection holds
 * its slot from its handshake until its welcome (`single`), or until its R-1 `subscribe`s, sent
 * together once welcomed, are all answered (`many`). Each phase then reads the server's RSS (and
 * V8 heap in use) 1.5 s after the last membership was answered, and runs a closed-loop
 * fan-out like `fanout`'s: S senders (clients 0 to S-1) publish round-robin into their R
 * rooms, at most K messages in flight each, for T seconds. In `many` a sender names the room in
 * its one connection's `message`; in `single` it sends on its connection to that room. A message
 * is in flight until every other member of its room has it; each receiving connection checks
 * every sender's sequence numbers for duplicates.
 *
 * Rooms hold about 100 members: R blocks of B rooms, client i in room (i + j·⌊i/B⌋) mod B of
 * block j ({@linkcode roomsLayout}), so two clients share from none to all R of their rooms.
 * Client x < B is in rooms x, B + x, 2B + x…: with S = B senders (the default: 10 senders, 10
 * rooms per block) every room has exactly one sender, and every membership receives.
 *
 * @module
 */

import { connectMany, Histogram, sleep } from "./clients.ts";
import { type LoadClient, nowUs } from "./load_client.ts";
import {
  cpuSeconds,
  machineBusySeconds,
  metric,
  metricSum,
  rssBytes,
  type ServerHandle,
} from "./servers.ts";

/** Parameters of one phase. */
export interface RoomsParams {
  /** C: clients of the `many` phase (the `single` phase opens C×R connections). */
  clients: number;
  /** R: rooms per client. */
  rooms: number;
  /** S: senders. */
  senders: number;
  /** K: messages in flight per sender (at most 1024). */
  inflight: number;
  /** T: seconds of sending. */
  seconds: number;
}

/** Which way the memberships are held: R rooms per connection, or one room per connection. */
export type RoomsPhase = "many" | "single";

/** Figures of one phase. */
export interface RoomsResult {
  /** Connections open once joined. */
  connections: number;
  /** Room memberships joined (handshake rooms plus answered `subscribe`s, minus refusals). */
  memberships: number;
  /** Rooms with local connections (`fanout_rooms` of `/metrics`). */
  rooms: number;
  failedConnections: number;
  /** Frames and handshakes the server refused (`fanout_rejected_total`, all reasons). */
  refused: number;
  /** From the first handshake until every membership was answered, in ms (100 joining at once). */
  joinMs: number;
  /** Server CPU time over that span, per membership, in µs. */
  joinServerUsPerMembership: number;
  rssBefore: number;
  /** Server RSS 1.5 s after every membership was answered, in bytes. */
  rssAfter: number;
  /** RSS growth per connection and per membership, in bytes. */
  rssPerConnection: number;
  rssPerMembership: number;
  /** Fanout's V8 heap in use (`process_heap_used_bytes`, garbage included), in bytes. */
  heapAfter: number;
  /** Its growth per membership, in bytes. */
  heapPerMembership: number;
  deliveriesPerSec: number;
  sent: number;
  expected: number;
  /** Distinct deliveries received (duplicates are counted apart). */
  received: number;
  lost: number;
  duplicates: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Deliveries per data frame received during the fan-out (acks to the senders included). */
  perFrame: number;
  /** CPU of the server, the load generator and everything else, in % of one core. */
  serverCpu: number;
  serverNsPerDelivery: number;
  genCpu: number;
  otherCpu: number;
}

/** Where every client's memberships are. */
export interface RoomsLayout {
  /** Rooms in all: R blocks of `perBlock`. */
  count: number;
  perBlock: number;
  /** The room (0 to `count` - 1) of client `i`'s `j`-th membership (0 ≤ j < R). */
  roomOf(i: number, j: number): number;
}

/** Members a room has, about, in the layout. */
const ROOM_MEMBERS = 100;
/** Sender index of the markers in `subscribe` refs: `subscribed` echoes them. */
const SUBSCRIBED = 1_000_000;
const RING = 1024;
/** Time allowed for all the joins, then for late deliveries after the senders stop. */
const JOIN_MS = 120_000, DRAIN_MS = 10_000;

/**
 * The rooms of C clients in R rooms each: R blocks of B rooms (about 100 members each, at least
 * 4 per block and at least 2 members per room), one room of every block per client.
 *
 * @example
 * ```ts
 * const layout = roomsLayout(1000, 5);
 * layout.count; // 50: 5 blocks of 10 rooms of 100 members
 * layout.roomOf(42, 1); // 16: block 1, room (42 + 1·4) mod 10
 * ```
 */
export function roomsLayout(clients: number, rooms: number): RoomsLayout {
  const perBlock = Math.max(
    1,
    Math.min(Math.floor(clients / 2), Math.max(4, Math.ceil(clients / ROOM_MEMBERS))),
  );
  return {
    count: rooms * perBlock,
    perBlock,
    roomOf: (i, j) => j * perBlock + (i + j * Math.floor(i / perBlock)) % perBlock,
  };
}

/**
 * The name of room `room` of the layout.
 *
 * @example
 * ```ts
 * roomName(7); // "bench-7"
 * ```
 */
export function roomName(room: number): string {
  return `bench-${room}`;
}

/**
 * What Fanout needs for this scenario besides the bench's settings: room for R rooms per
 * connection (`MAX_ROOMS_PER_CONNECTION` is raised only past its default, 32).
 *
 * @example
 * ```ts
 * roomsEnv(5); // {}
 * roomsEnv(40); // { MAX_ROOMS_PER_CONNECTION: "40" }
 * ```
 */
export function roomsEnv(rooms: number): Record<string, string> {
  return rooms > 32 ? { MAX_ROOMS_PER_CONNECTION: String(rooms) } : {};
}

function text(sender: number, seq: number): string {
  const head = `#${sender}.${seq}.${nowUs()}|`;
  return head + "x".repeat(Math.max(0, 60 - head.length));
}

function check(p: RoomsParams): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`rooms needs --${name} a whole number in ${min}-${max}, got ${value}`);
    }
  };
  whole("clients", p.clients, 2, 1_000_000);
  whole("rooms", p.rooms, 1, 1000); // MAX_ROOMS_PER_CONNECTION's own bound
  whole("senders", p.senders, 1, p.clients);
  whole("inflight", p.inflight, 1, RING);
}

/**
 * Runs one phase against a fresh Fanout started with {@linkcode roomsEnv}.
 *
 * @example
 * ```ts
 * const p = { clients: 1000, rooms: 5, senders: 10, inflight: 16, seconds: 10 };
 * const server = await startServer("fanout", { cpu: "0", env: roomsEnv(p.rooms) });
 * const r = await runRoomsPhase(server, p, "many");
 * console.log(r.rssPerMembership, r.deliveriesPerSec);
 * await server.stop();
 * ```
 */
export async function runRoomsPhase(
  server: ServerHandle,
  p: RoomsParams,
  phase: RoomsPhase,
): Promise<RoomsResult> {
  if (server.protocol === undefined) {
    throw new Error("rooms needs Fanout: the naive baseline has no rooms protocol");
  }
  check(p);
  const { clients: c, rooms: r, senders: s, inflight: k } = p;
  const layout = roomsLayout(c, r);
  const many = phase === "many";
  const count = many ? c : c * r;
  /** The client and membership a connection stands for. */
  const clientOf = (conn: number) => many ? conn : Math.floor(conn / r);
  const slotOf = (conn: number) => many ? 0 : conn % r;

  const hist = new Histogram();
  const last = new Float64Array(count * s).fill(-1);
  const counts = new Uint32Array(s * RING);
  const need = new Uint32Array(s * RING);
  const inflight = new Uint32Array(s);
  const nextSeq = new Float64Array(s);
  let received = 0, duplicates = 0, expected = 0, answered = 0, sending = false;
  /** Per connection: `subscribe`s not answered yet, and what to call once none is left. */
  const unanswered = new Uint16Array(count);
  const allAnswered: (() => void)[] = [];
  /** Per sender: where its messages go, round-robin (set once connected). */
  const routes: { conn: LoadClient; room: number; head: string }[][] = [];
  const send = (x: number) => {
    const seq = nextSeq[x]++;
    const route = routes[x][seq % routes[x].length];
    const ci = x * RING + (seq & (RING - 1));
    need[ci] = size[route.room] - 1;
    expected += need[ci];
    route.conn.sendText(`${route.head}${text(x, seq)}"}`);
    inflight[x]++;
  };
  const pump = (x: number) => {
    while (sending && routes[x].length > 0 && inflight[x] < k) send(x);
  };
  const sink = (conn: number) => (from: number, seq: number, sentUs: number, now: number) => {
    if (from === SUBSCRIBED) {
      answered++;
      if (unanswered[conn] > 0 && --unanswered[conn] === 0) allAnswered[conn]?.();
      return;
    }
    if (from >= s) return;
    const li = conn * s + from;
    if (seq <= last[li]) {
      duplicates++;
      return;
    }
    last[li] = seq;
    received++;
    hist.add(now - sentUs);
    const ci = from * RING + (seq & (RING - 1));
    if (++counts[ci] === need[ci]) {
      counts[ci] = 0;
      inflight[from]--;
      pump(from);
    }
  };

  await sleep(500);
  const rssBefore = rssBytes(server.pid);
  const heapBefore = await metric(server, "process_heap_used_bytes");
  const t0 = performance.now(), join0 = cpuSeconds(server.pid);
  const deadline = t0 + JOIN_MS;
  const untilDeadline = async (done: Promise<void>) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((r) => timer = setTimeout(r, deadline - performance.now()));
    await Promise.race([done, late]);
    clearTimeout(timer);
  };
  // A connection joins as a client would: its welcome, then (`many`) its R-1 `subscribe`s at once
  // and their answers. At most 100 connections are joining at a time in either phase.
  const join = async (conn: number, ws: LoadClient) => {
    await untilDeadline(ws.firstFrame);
    if (!many || r === 1) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    allAnswered[conn] = resolve;
    unanswered[conn] = r - 1;
    for (let j = 1; j < r; j++) {
      const room = roomName(layout.roomOf(conn, j));
      ws.sendText(`{"type":"subscribe","room":"${room}","ref":"#${SUBSCRIBED}.${conn}.${j}|"}`);
    }
    await untilDeadline(promise);
  };
  const opened = await connectMany(server, {
    count,
    concurrency: 100,
    bufferBytes: 64 * 1024,
    room: (conn) => roomName(layout.roomOf(clientOf(conn), slotOf(conn))),
    onMarker: sink,
    onOpen: join,
  });
  const joinMs = performance.now() - t0;
  const joinCpu = cpuSeconds(server.pid) - join0;
  const live = opened.clients;
  // Members per room, of the connections that opened (subscribes are assumed answered: a
  // refusal shows in `refused` and as lost deliveries).
  const size = new Uint32Array(layout.count);
  for (let conn = 0; conn < count; conn++) {
    if (opened.byIndex[conn] === undefined) continue;
    if (many) { for (let j = 0; j < r; j++) size[layout.roomOf(conn, j)]++; }
    else size[layout.roomOf(clientOf(conn), slotOf(conn))]++;
  }
  for (let x = 0; x < s; x++) {
    const i = x; // clients 0 to B-1 share no room: the senders' traffic covers S·R rooms
    routes[x] = [];
    for (let j = 0; j < r; j++) {
      const room = layout.roomOf(i, j);
      const conn = opened.byIndex[many ? i : i * r + j];
      if (conn === undefined || size[room] < 2) continue;
      const head = many
        ? `{"type":"message","room":"${roomName(room)}","text":"`
        : `{"type":"message","text":"`;
      routes[x].push({ conn, room, head });
    }
  }
  try {
    await sleep(1500); // presence batches, GC settle
    const rssAfter = rssBytes(server.pid);
    const heapAfter = await metric(server, "process_heap_used_bytes");
    const refused = await metricSum(server, "fanout_rejected_total");
    const rooms = await metric(server, "fanout_rooms");
    // Under `--parallel` `/metrics` is not read (NaN): every answer then counts as a membership.
    const memberships = many
      ? live.length + answered - (Number.isFinite(refused) ? refused : 0)
      : live.length;

    const frames = () => live.reduce((a, ws) => a + ws.frames, 0);
    const frames0 = frames();
    const gen0 = cpuSeconds("self"), srv0 = cpuSeconds(server.pid), all0 = machineBusySeconds();
    const t1 = performance.now();
    sending = true;
    for (let x = 0; x < s; x++) pump(x);
    await sleep(p.seconds * 1000);
    sending = false;
    const wall = (performance.now() - t1) / 1000;
    const inWindow = received;
    const genCpu = (cpuSeconds("self") - gen0) / wall * 100;
    const serverCpu = (cpuSeconds(server.pid) - srv0) / wall * 100;
    const otherCpu = Math.max(0, (machineBusySeconds() - all0) / wall * 100 - genCpu - serverCpu);
    const end = performance.now() + DRAIN_MS;
    while (received < expected && performance.now() < end) await sleep(50);
    await sleep(200); // late duplicates
    return {
      connections: live.filter((ws) => !ws.closed).length,
      memberships,
      rooms,
      failedConnections: opened.failed + live.filter((ws) => ws.closed).length,
      refused,
      joinMs,
      joinServerUsPerMembership: joinCpu * 1e6 / Math.max(1, memberships),
      rssBefore,
      rssAfter,
      rssPerConnection: (rssAfter - rssBefore) / Math.max(1, live.length),
      rssPerMembership: (rssAfter - rssBefore) / Math.max(1, memberships),
      heapAfter,
      heapPerMembership: (heapAfter - heapBefore) / Math.max(1, memberships),
      deliveriesPerSec: inWindow / wall,
      sent: nextSeq.reduce((a, b) => a + b, 0),
      expected,
      received,
      lost: Math.max(0, expected - received),
      duplicates,
      p50: hist.quantile(0.5),
      p90: hist.quantile(0.9),
      p99: hist.quantile(0.99),
      max: hist.maxUs / 1000,
      perFrame: received / Math.max(1, frames() - frames0),
      serverCpu,
      serverNsPerDelivery: serverCpu / 100 / (inWindow / wall) * 1e9,
      genCpu,
      otherCpu,
    };
  } finally {
    for (const ws of live) ws.close();
  }
}
