/**
 * The slow-consumer rule at its boundaries: a backlog of exactly `MAX_BUFFERED_BYTES` is spared;
 * one byte over is watched and closed 4008 after the grace period unless it shrinks; past 4x the
 * limit it is closed at once, and exactly 4x is only watched.
 */

import assert from "node:assert/strict";
import { Connection } from "../../lib/hub/connection.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { Metrics } from "../../lib/hub/metrics.ts";
import { Outbound } from "../../lib/hub/outbound.ts";
import { RateLimiter } from "../../lib/hub/rate_limiter.ts";
import { FakeSocket } from "../helpers/fake_hub.ts";

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
