/**
 * The slow-consumer rule at its boundaries: a backlog of exactly `MAX_BUFFERED_BYTES` is spared;
 * one byte over is watched and closed 4008 after the grace period unless it shrinks; past 4x the
 * limit it is closed at once, and exactly 4x is only watched. And a turn's frames for one
 * connection leave in one write to its TCP connection, in plain mode too (one frame per text).
 */

import assert from "node:assert/strict";
import { Connection } from "../../lib/hub/connection.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { Metrics } from "../../lib/hub/metrics.ts";
import { Outbound } from "../../lib/hub/outbound.ts";
import type { RunHolder } from "../../lib/hub/room_run.ts";
import { RateLimiter } from "../../lib/hub/rate_limiter.ts";
import { FakeSocket } from "../helpers/fake_hub.ts";
import { ServerWebSocket } from "../../lib/transport/server_web_socket.ts";
import { FakeConn, tick } from "../helpers/fake_conn.ts";
import { serverFrames } from "../helpers/masked_frames.ts";

const LIMIT = 1000;

function setup() {
  const timers = new Map<number, () => void>();
  let next = 1;
  const closed: Connection[] = [];
  const out = new Outbound({
    flushBytes: 1 << 20,
    maxBufferedBytes: LIMIT,
    metrics: new Metrics(),
    logger: silentLogger,
    onClosed: (conn) => closed.push(conn),
    defer: () => {},
    slowGraceMs: 1000,
    timers: {
      setTimer: (fn) => {
        timers.set(next, fn);
        return next++;
      },
      clearTimer: (h) => void timers.delete(h as number),
    },
  });
  const connect = (buffered: number) => {
    const socket = new FakeSocket();
    const limiter = new RateLimiter({ rate: 1, burst: 1, closeAfter: 1, now: () => 0 });
    const handshake = { room: "r", name: null, client: null, resume: null };
    const conn = new Connection(`c${next++}`, socket, handshake, true, limiter);
    conn.state = "open";
    socket.bufferedAmount = buffered;
    out.queue(conn, '{"type":"pong","t":1}');
    out.flushOne(conn);
    return { conn, socket };
  };
  /** Runs the grace timers armed so far. */
  const grace = () => {
    const due = [...timers.values()];
    timers.clear();
    for (const fn of due) fn();
  };
  return { out, connect, grace, timers, closed };
}

Deno.test("outbound: a backlog of exactly MAX_BUFFERED_BYTES is spared", () => {
  const t = setup();
  const { socket } = t.connect(LIMIT);
  assert.equal(t.timers.size, 0, "not even watched");
  t.grace();
  assert.equal(socket.closeCode, null);
});

Deno.test("outbound: one byte over is watched, then closed 4008 unless it shrank", () => {
  const t = setup();
  const stuck = t.connect(LIMIT + 1);
  const draining = t.connect(LIMIT + 1);
  assert.equal(t.timers.size, 2, "both watched");
  assert.equal(stuck.socket.closeCode, null, "not at once");
  draining.socket.bufferedAmount = LIMIT; // back at the limit by the time it is judged
  t.grace();
  assert.equal(stuck.socket.closeCode, 4008);
  assert.equal(draining.socket.closeCode, null);
  assert.deepEqual(t.closed, [stuck.conn]);
});

Deno.test("outbound: exactly 4x the limit is watched; one byte more is closed at once", () => {
  const t = setup();
  const four = t.connect(4 * LIMIT);
  assert.equal(four.socket.closeCode, null);
  assert.equal(t.timers.size, 1);
  const over = t.connect(4 * LIMIT + 1);
  assert.equal(over.socket.closeCode, 4008);
  assert.equal(t.timers.size, 1, "no timer for the one closed at once");
});

Deno.test("outbound: end writes what is queued, also before the welcome, then closes", () => {
  const t = setup();
  const { conn, socket } = t.connect(0);
  conn.state = "joining"; // the turn's flush skips it; end does not
  socket.sent.length = 0;
  t.out.send(conn, { type: "error", code: "unavailable", message: "no room" });
  t.out.end(conn, 1011, "room unavailable");
  assert.deepEqual(socket.objects(), [{ type: "error", code: "unavailable", message: "no room" }]);
  assert.equal(socket.closeCode, 1011);
  assert.deepEqual(t.closed, [conn]);
});

/** Connections over Fanout's own sockets on fake TCP connections that count their writes. */
function overTcp(json: boolean, count: number, flushBytes = 1 << 20) {
  const out = new Outbound({
    flushBytes,
    maxBufferedBytes: 1 << 20,
    metrics: new Metrics(),
    logger: silentLogger,
    onClosed: () => {},
    defer: () => {},
    slowGraceMs: 1000,
  });
  const peers = Array.from({ length: count }, (_, i) => {
    const tcp = new FakeConn();
    const socket = new ServerWebSocket({ stream: tcp, maxMessageBytes: 1000 });
    socket.open();
    const limiter = new RateLimiter({ rate: 1, burst: 1, closeAfter: 1, now: () => 0 });
    const handshake = { room: "r", name: null, client: null, resume: null };
    const conn = new Connection(`c${i}`, socket, handshake, json, limiter);
    conn.state = "open";
    return { tcp, conn };
  });
  return { out, peers };
}

for (const json of [false, true]) {
  const mode = json ? "JSON" : "plain";
  Deno.test(`outbound: a turn's frames for one connection leave in one write (${mode} mode)`, async () => {
    const { out, peers } = overTcp(json, 3);
    const texts = ["one", "two", "three", "four", "five"];
    for (const text of texts) for (const { conn } of peers) out.queue(conn, text);
    out.queue(peers[2].conn, "six"); // a queue that differs from the others
    out.flushAll();
    await tick();
    for (const [i, { tcp }] of peers.entries()) {
      const want = i === 2 ? [...texts, "six"] : texts;
      assert.equal(tcp.writeCalls, 1, `connection ${i}: one write`);
      const got = serverFrames(tcp.bytes()).map((f) => f.text!);
      assert.deepEqual(json ? got.flatMap((f) => f.split("\n")) : got, want);
      assert.equal(got.length, json ? 1 : want.length, json ? "one NDJSON frame" : "a frame each");
    }
  });
}

Deno.test("outbound: a plain turn queued while a write is in flight goes in the next one write", async () => {
  const { out, peers: [{ tcp, conn }] } = overTcp(false, 1);
  tcp.holdWrites();
  out.queue(conn, "first");
  out.flushAll();
  for (const text of ["a", "b", "c"]) out.queue(conn, text);
  out.flushAll();
  for (const text of ["d", "e"]) out.queue(conn, text);
  out.flushAll();
  assert.equal(tcp.writeCalls, 1, "one write in flight, the rest waits");
  tcp.takeAll();
  await tick();
  assert.equal(tcp.writeCalls, 2, "everything that waited goes in one more write");
  assert.deepEqual(serverFrames(tcp.bytes()).map((f) => f.text), [
    "first",
    "a",
    "b",
    "c",
    "d",
    "e",
  ]);
});

/** Counts every frame the sockets of `peers` encode (one text, texts, or pieces). */
function countEncodings(peers: { conn: Connection }[]): { count: number } {
  const encodings = { count: 0 };
  for (const { conn } of peers) {
    const socket = conn.socket as ServerWebSocket;
    const encodeText = socket.encodeText.bind(socket);
    const encodeTexts = socket.encodeTexts.bind(socket);
    const encodeTextPieces = socket.encodeTextPieces.bind(socket);
    socket.encodeText = (text) => (encodings.count++, encodeText(text));
    socket.encodeTexts = (texts) => (encodings.count++, encodeTexts(texts));
    socket.encodeTextPieces = (pieces) => (encodings.count++, encodeTextPieces(pieces));
    // A sender's frame of pieces, built by the socket itself (in a pooled buffer).
    const sendTextPieces = socket.sendTextPieces.bind(socket);
    socket.sendTextPieces = (pieces) => (encodings.count++, sendTextPieces(pieces));
  }
  return encodings;
}

for (const json of [false, true]) {
  const mode = json ? "JSON" : "plain";
  Deno.test(`outbound: recipients between senders in a pass share one encoding (${mode} mode)`, async () => {
    // Receivers queue the same texts; senders 1 and 3 have an ack of their own instead. Met in
    // the order 0..5, the receivers' frame is built once, not again after every sender.
    const { out, peers } = overTcp(json, 6);
    const encodings = countEncodings(peers);
    const senders = new Set([1, 3]);
    for (const text of ["one", "two"]) {
      for (const [i, { conn }] of peers.entries()) {
        out.queue(conn, senders.has(i) ? `ack ${i}` : text);
      }
    }
    out.flushAll();
    await tick();
    assert.equal(encodings.count, 3, "the receivers' frame, then one per sender");
    for (const [i, { tcp }] of peers.entries()) {
      const got = serverFrames(tcp.bytes()).map((f) => f.text!);
      const want = senders.has(i) ? [`ack ${i}`, `ack ${i}`] : ["one", "two"];
      assert.deepEqual(json ? got.flatMap((f) => f.split("\n")) : got, want, `connection ${i}`);
    }
  });
}

for (const json of [false, true]) {
  const mode = json ? "JSON" : "plain";
  Deno.test(`outbound: room runs give every member its texts in order, with its own frames between (${mode} mode)`, async () => {
    // A seeded random mix of room deliveries (each skipping some members, as a sender is), frames
    // of one connection (acks, presence), passes and early flushes (FLUSH_BYTES of 60), checked
    // against the plain list of what each connection was given.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const { out, peers } = overTcp(json, 5, 60);
    const rooms: RunHolder[] = [{ jsonRun: null, plainRun: null }, {
      jsonRun: null,
      plainRun: null,
    }];
    const members = [[0, 1, 2, 3], [2, 3, 4]];
    const want: string[][] = peers.map(() => []);
    let n = 0;
    for (let step = 0; step < 400; step++) {
      const r = random();
      if (r < 0.6) {
        const room = Math.floor(random() * 2);
        // Room 1's texts are not all ASCII: its ranges are not ranges of bytes.
        const text = room === 1 && random() < 0.3 ? `mü${n++}` : `m${n++}`;
        const run = out.run(rooms[room], json);
        const at = run.texts.push(text) - 1;
        for (const i of members[room]) {
          if (random() < 0.2) continue; // the sender, or a member whose welcome covered it
          out.queueRun(peers[i].conn, run, at);
          want[i].push(text);
        }
      } else if (r < 0.85) {
        const i = Math.floor(random() * peers.length);
        const text = `own${n++}`;
        out.queue(peers[i].conn, text);
        want[i].push(text);
      } else out.flushAll();
    }
    out.flushAll();
    await tick();
    for (const [i, { tcp }] of peers.entries()) {
      const got = serverFrames(tcp.bytes()).map((f) => f.text!);
      assert.deepEqual(json ? got.flatMap((f) => f.split("\n")) : got, want[i], `connection ${i}`);
    }
  });
}

Deno.test("outbound: members that got all of a run's texts share one frame of it", async () => {
  const { out, peers } = overTcp(true, 4);
  const room: RunHolder = { jsonRun: null, plainRun: null };
  const encodings = countEncodings(peers);
  for (const [sender, text] of [[0, "a"], [1, "b"], [2, "c"]] as const) {
    const run = out.run(room, true);
    const at = run.texts.push(text) - 1;
    for (const [i, { conn }] of peers.entries()) if (i !== sender) out.queueRun(conn, run, at);
  }
  out.flushAll();
  await tick();
  assert.equal(
    encodings.count,
    4,
    "the three senders' frames, and one for the member that got all",
  );
  assert.equal(room.jsonRun, null, "the pass let the run go");
  const got = peers.map(({ tcp }) => serverFrames(tcp.bytes()).map((f) => f.text!));
  assert.deepEqual(got, [["b\nc"], ["a\nc"], ["a\nb"], ["a\nb\nc"]]);
});

Deno.test("outbound: plain mode encodes a run's texts once; senders' frames are cut from it", async () => {
  const { out, peers } = overTcp(false, 4);
  const room: RunHolder = { jsonRun: null, plainRun: null };
  const encodings = countEncodings(peers);
  let runEncodings = 0;
  for (const { conn } of peers) {
    const socket = conn.socket as ServerWebSocket;
    const encodeTextsAt = socket.encodeTextsAt.bind(socket);
    socket.encodeTextsAt = (texts) => (runEncodings++, encodeTextsAt(texts));
  }
  // Sender 0 sends "a", 1 "b" (and gets an error frame of its own between), 2 "ü" (not ASCII).
  for (const [sender, text] of [[0, "a"], [1, "b"], [2, "ü"]] as const) {
    const run = out.run(room, false);
    const at = run.texts.push(text) - 1;
    for (const [i, { conn }] of peers.entries()) if (i !== sender) out.queueRun(conn, run, at);
    if (sender === 1) out.queue(peers[1].conn, "error: own");
  }
  out.flushAll();
  await tick();
  assert.equal(runEncodings, 1, "the run's frames, once for every member");
  // Connection 1's queue holds single texts only (a one-text range is queued as its text).
  assert.equal(encodings.count, 1, "no text encoded again but connection 1's");
  const got = peers.map(({ tcp }) => serverFrames(tcp.bytes()).map((f) => f.text!));
  assert.deepEqual(got, [["b", "ü"], ["a", "error: own", "ü"], ["a", "b"], ["a", "b", "ü"]]);
});

Deno.test("outbound: a queue that starts with a welcome is the socket's own pieced frame, never the frame cache's", async () => {
  const { out, peers } = overTcp(true, 3);
  let pieced = 0, encoded = 0;
  for (const { conn } of peers) {
    const socket = conn.socket as ServerWebSocket;
    const sendTextPieces = socket.sendTextPieces.bind(socket);
    const encodeText = socket.encodeText.bind(socket);
    socket.sendTextPieces = (pieces) => (pieced++, sendTextPieces(pieces));
    socket.encodeText = (text) => (encoded++, encodeText(text));
  }
  // Connection 0 is welcomed (its welcome first, then a presence frame); 1 and 2 get that
  // presence frame alone and share one encoding of it.
  const welcome = '{"type":"welcome","id":"c0","room":"r","members":[]}';
  const presence = '{"type":"presence","joined":{"id":"c0"}}';
  out.putFirst(peers[0].conn, welcome);
  for (const { conn } of peers) out.queue(conn, presence);
  out.flushAll();
  await tick();
  const got = peers.map(({ tcp }) => serverFrames(tcp.bytes()).map((f) => f.text!));
  assert.deepEqual(got, [[`${welcome}\n${presence}`], [presence], [presence]]);
  assert.equal(pieced, 1, "the welcome's frame, built by its socket");
  assert.equal(encoded, 1, "the others' frame, encoded once for both");
});
