/**
 * The server-side WebSocket over a fake byte stream and manual timers: sending with one write in
 * flight and the rest coalesced, bufferedAmount through short writes, the close handshake and
 * its deadline when the peer never reads, the peer's close echoed, protocol failures answered
 * with their code, heartbeats, every ping answered (a flood bounded, the newest kept), the
 * `closed` promise, and the frames built in the frame pool's buffers (given back only once
 * written whole, never while a write holds them).
 */

import assert from "node:assert/strict";
import { encodeTextFrame, type InboundBudget, Opcode } from "../../lib/transport/ws_frames.ts";
import {
  MAX_PENDING_PONGS,
  ServerWebSocket,
  type ServerWebSocketOptions,
  type SocketCloseEvent,
} from "../../lib/transport/server_web_socket.ts";
import { FramePool } from "../../lib/transport/frame_pool.ts";
import { FakeConn, tick, until } from "../helpers/fake_conn.ts";
import { ManualTimers } from "../helpers/manual_timers.ts";
import { closeBody, maskedFrame, serverFrames } from "../helpers/masked_frames.ts";

function setup(options: Partial<ServerWebSocketOptions> = {}, open = true) {
  const timers = new ManualTimers();
  const conn = new FakeConn();
  const socket = new ServerWebSocket({
    stream: conn,
    maxMessageBytes: 1000,
    closeTimeoutMs: 2000,
    now: timers.now,
    timers: timers,
    ...options,
  });
  const messages: (string | ArrayBuffer)[] = [];
  const closes: SocketCloseEvent[] = [];
  const errors: string[] = [];
  const fails: [number, string][] = [];
  let opens = 0;
  socket.onopen = () => opens++;
  socket.onmessage = (e) => messages.push(e.data);
  socket.onclose = (e) => closes.push(e);
  socket.onerror = (e) => errors.push(e.message);
  socket.onfail = (code, reason) => fails.push([code, reason]);
  if (open) socket.open();
  const frames = () => serverFrames(conn.bytes());
  return { timers, conn, socket, messages, closes, errors, fails, frames, opens: () => opens };
}

const big = (n: number, c = "x") => c.repeat(n);

Deno.test("ServerWebSocket: connecting until open(); send before it is ignored; open once", async () => {
  const t = setup({}, false);
  assert.equal(t.socket.readyState, 0);
  t.socket.send("too early");
  assert.equal(t.socket.bufferedAmount, 0);
  t.socket.open();
  t.socket.open();
  assert.equal(t.socket.readyState, 1);
  assert.equal(t.opens(), 1);
  t.socket.send("hi");
  await tick();
  assert.deepEqual(t.frames().map((f) => f.text), ["hi"]);
});

Deno.test("ServerWebSocket: text and binary messages are handed on, fragments joined", () => {
  const t = setup();
  t.socket.receive(maskedFrame({ opcode: Opcode.text, payload: "héllo" }));
  t.socket.receive(
    maskedFrame({ opcode: Opcode.binary, payload: new Uint8Array([1, 2]), fin: false }),
  );
  t.socket.receive(maskedFrame({ opcode: Opcode.continuation, payload: new Uint8Array([3]) }));
  t.socket.receive(maskedFrame({ opcode: Opcode.binary, payload: new Uint8Array([9]) }));
  assert.equal(t.messages[0], "héllo");
  assert.ok(t.messages[1] instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(t.messages[1] as ArrayBuffer)], [1, 2, 3]);
  assert.deepEqual([...new Uint8Array(t.messages[2] as ArrayBuffer)], [9]);
});

Deno.test("ServerWebSocket: one write in flight, what is queued meanwhile goes in one write", async () => {
  const t = setup();
  t.conn.holdWrites();
  t.socket.send("a");
  t.socket.send("bb");
  t.socket.sendFrame(encodeTextFrame("ccc"));
  t.socket.send("dddd");
  assert.equal(t.conn.writeCalls, 1, "one write in flight");
  assert.equal(t.socket.bufferedAmount, 3 + 4 + 5 + 6);
  t.conn.releaseWrites();
  await tick();
  assert.equal(t.conn.writeCalls, 2, "the queue coalesced into one write");
  assert.equal(t.conn.heldWrites, 1);
  assert.equal(t.socket.bufferedAmount, 4 + 5 + 6);
  t.conn.releaseWrites();
  await tick();
  assert.equal(t.socket.bufferedAmount, 0);
  assert.deepEqual(t.conn.writes.map((w) => w.length), [3, 15]);
  assert.deepEqual(t.frames().map((f) => f.text), ["a", "bb", "ccc", "dddd"]);
});

Deno.test("ServerWebSocket: coalescing stops at 64 KiB; a larger frame goes alone", async () => {
  const t = setup();
  t.conn.holdWrites();
  t.socket.send("first");
  const k40 = big(40 * 1024);
  t.socket.send(k40); // 40 KiB + 4
  t.socket.send(k40);
  t.socket.send("s"); // fits after the second 40 KiB frame
  t.socket.send(big(70 * 1024)); // alone
  t.socket.send("t");
  while (t.conn.heldWrites > 0) {
    t.conn.releaseWrites();
    await tick();
  }
  const sizes = t.conn.writes.map((w) => w.length);
  const f40 = 4 + 40 * 1024;
  assert.deepEqual(sizes, [7, f40, f40 + 3, 10 + 70 * 1024, 3]);
  assert.deepEqual(t.frames().map((f) => f.text!.length), [
    5,
    40 * 1024,
    40 * 1024,
    1,
    70 * 1024,
    1,
  ]);
  assert.equal(t.socket.bufferedAmount, 0);
});

Deno.test("ServerWebSocket: bufferedAmount counts queued and in-flight bytes through short writes", async () => {
  const t = setup();
  t.conn.holdWrites();
  t.socket.send("hello world"); // 13 bytes
  assert.equal(t.socket.bufferedAmount, 13);
  t.conn.releaseWrites(5); // the kernel takes 5
  await tick();
  assert.equal(t.conn.heldWrites, 1, "the rest is written again");
  assert.equal(t.socket.bufferedAmount, 8);
  t.socket.send("x"); // 3 more, queued behind the rest
  assert.equal(t.socket.bufferedAmount, 11);
  t.conn.releaseWrites(7);
  await tick();
  assert.equal(t.socket.bufferedAmount, 1 + 3);
  t.conn.releaseWrites(1);
  await tick();
  assert.equal(t.socket.bufferedAmount, 3);
  t.conn.releaseWrites();
  await tick();
  assert.equal(t.socket.bufferedAmount, 0);
  assert.deepEqual(t.frames().map((f) => f.text), ["hello world", "x"]);

  // Writes of at most 2 bytes each: everything still arrives intact.
  const s = setup();
  s.conn.shortWrites(2);
  s.socket.send("abcdefg");
  s.socket.send("hij");
  for (let i = 0; i < 20 && s.socket.bufferedAmount > 0; i++) await tick();
  assert.equal(s.socket.bufferedAmount, 0);
  assert.ok(s.conn.writes.every((w) => w.length <= 2));
  assert.deepEqual(s.frames().map((f) => f.text), ["abcdefg", "hij"]);
});

Deno.test("ServerWebSocket: close() follows what is queued; the peer's close answer ends it cleanly", async () => {
  const t = setup();
  t.socket.send("last words");
  t.socket.close(4001, "bye");
  assert.equal(t.socket.readyState, 2);
  t.socket.send("ignored after close");
  await tick();
  const frames = t.frames();
  assert.deepEqual(frames.map((f) => f.opcode), [Opcode.text, Opcode.close]);
  assert.equal(frames[1].code, 4001);
  assert.equal(frames[1].text, "bye");
  assert.equal(t.conn.closed, false, "waits for the peer's answer");
  t.socket.receive(maskedFrame({ opcode: Opcode.close, payload: closeBody(4001) }));
  assert.equal(t.conn.closed, true);
  assert.deepEqual(t.closes, [{ code: 4001, reason: "bye", wasClean: true }]);
  assert.equal(t.timers.pending, 0, "the close deadline is cleared");
  assert.deepEqual(await t.socket.closed, { code: 4001, reason: "bye", wasClean: true });
});

Deno.test("ServerWebSocket: close() and a peer that never reads: dropped after closeTimeoutMs, onclose once", async () => {
  const t = setup({ closeTimeoutMs: 2000 });
  t.conn.holdWrites(); // the peer reads nothing
  t.socket.send(big(5000));
  t.socket.close(1000, "done");
  await tick();
  t.timers.advance(1999);
  assert.equal(t.conn.closed, false);
  assert.equal(t.closes.length, 0);
  t.timers.advance(1);
  assert.equal(t.conn.closed, true, "the stream is dropped");
  assert.equal(t.socket.readyState, 3);
  assert.equal(t.socket.bufferedAmount, 0);
  await tick(); // the cancelled write rejects: no error, no second close
  t.timers.advance(10_000);
  t.socket.receive(maskedFrame({ opcode: Opcode.close, payload: closeBody(1000) }));
  t.socket.ended();
  t.socket.close();
  assert.deepEqual(t.closes, [{ code: 1000, reason: "done", wasClean: false }]);
  assert.deepEqual(t.errors, []);
  assert.equal(t.conn.closeCalls, 1);
  assert.deepEqual(await t.socket.closed, t.closes[0]);
});

Deno.test("ServerWebSocket: close() when the peer reads but never answers: dropped at the deadline", async () => {
  const t = setup({ closeTimeoutMs: 500 });
  t.socket.close();
  await tick();
  assert.equal(t.frames()[0].code, 1000);
  t.timers.advance(499);
  assert.equal(t.conn.closed, false);
  t.timers.advance(1);
  assert.equal(t.conn.closed, true);
  assert.deepEqual(t.closes, [{ code: 1000, reason: "", wasClean: false }]);
});

Deno.test("ServerWebSocket: the peer's close is echoed with its code, then the stream dropped", async () => {
  const t = setup();
  t.socket.receive(maskedFrame({ opcode: Opcode.close, payload: closeBody(1001, "going away") }));
  assert.equal(t.socket.readyState, 2);
  t.socket.send("not after the close");
  await tick();
  const frames = t.frames();
  assert.equal(frames.length, 1);
  assert.equal(frames[0].opcode, Opcode.close);
  assert.equal(frames[0].code, 1001);
  assert.equal(t.conn.closed, true, "dropped once the echo is written");
  assert.deepEqual(t.closes, [{ code: 1001, reason: "going away", wasClean: true }]);
  assert.equal(t.timers.pending, 0);
});

Deno.test("ServerWebSocket: an empty close is answered 1000 and reported 1005", async () => {
  const t = setup();
  t.socket.receive(maskedFrame({ opcode: Opcode.close }));
  await tick();
  assert.equal(t.frames()[0].code, 1000);
  assert.deepEqual(t.closes, [{ code: 1005, reason: "", wasClean: true }]);
});

Deno.test("ServerWebSocket: the peer's close while it reads nothing: dropped after closeTimeoutMs", async () => {
  const t = setup({ closeTimeoutMs: 300 });
  t.conn.holdWrites();
  t.socket.receive(maskedFrame({ opcode: Opcode.close, payload: closeBody(1000) }));
  await tick();
  assert.equal(t.conn.closed, false);
  t.timers.advance(300);
  assert.equal(t.conn.closed, true);
  assert.equal(t.closes.length, 1);
  assert.equal(t.closes[0].code, 1000);
});

Deno.test("ServerWebSocket: a protocol failure sends a close frame with the code, then drops", async () => {
  const cases: [string, Uint8Array, number][] = [
    ["unmasked", maskedFrame({ opcode: Opcode.text, payload: "hi", mask: null }), 1002],
    ["too big", maskedFrame({ opcode: Opcode.binary, announce: 1001 }), 1009],
    ["bad UTF-8", maskedFrame({ opcode: Opcode.text, payload: new Uint8Array([0xff]) }), 1007],
    ["bad close code", maskedFrame({ opcode: Opcode.close, payload: closeBody(1005) }), 1002],
  ];
  for (const [name, bytes, code] of cases) {
    const t = setup();
    t.socket.receive(bytes);
    assert.equal(t.fails.length, 1, name);
    assert.equal(t.fails[0][0], code, name);
    assert.equal(t.socket.readyState, 2, name);
    await tick();
    const frames = t.frames();
    assert.equal(frames.length, 1, name);
    assert.equal(frames[0].code, code, name);
    assert.equal(frames[0].text, t.fails[0][1], `${name}: the reason goes to the peer`);
    assert.equal(t.conn.closed, true, `${name}: dropped after the close frame`);
    assert.equal(t.closes.length, 1, name);
    assert.equal(t.closes[0].code, code, name);
  }
});

Deno.test("ServerWebSocket: a protocol failure and a peer that never reads: dropped at the deadline", async () => {
  const t = setup({ closeTimeoutMs: 700 });
  t.conn.holdWrites();
  t.socket.receive(maskedFrame({ opcode: 3 }));
  t.timers.advance(699);
  assert.equal(t.conn.closed, false);
  t.timers.advance(1);
  assert.equal(t.conn.closed, true);
  assert.equal(t.closes.length, 1);
  assert.equal(t.closes[0].code, 1002);
  await tick();
  assert.equal(t.closes.length, 1);
});

Deno.test("ServerWebSocket: the shared inbound budget: its largest holder is closed 1013, a closed socket holds nothing", () => {
  const inbound: InboundBudget = { held: 0, max: 800 };
  const a = setup({ inbound });
  const b = setup({ inbound });
  const c = setup({ inbound });
  const part = (n: number) =>
    maskedFrame({ opcode: Opcode.binary, payload: new Uint8Array(n), fin: false });
  a.socket.receive(part(500));
  b.socket.receive(part(300));
  assert.equal(inbound.held, 800);
  c.socket.receive(part(1));
  assert.deepEqual(a.fails.map((f) => f[0]), [1013], "the largest holder goes");
  assert.deepEqual([b.fails, c.fails], [[], []]);
  assert.equal(inbound.held, 301);
  b.socket.ended();
  assert.equal(inbound.held, 1, "a closed socket holds nothing");
  assert.deepEqual(b.closes, [{ code: 1006, reason: "", wasClean: false }]);
});

Deno.test("ServerWebSocket: heartbeat pings at half the idle time, once, and closes 1001 at idle", async () => {
  const t = setup();
  t.socket.heartbeat(10_000);
  t.timers.advance(4999);
  t.socket.heartbeat(10_000);
  await tick();
  assert.equal(t.conn.writes.length, 0, "no ping before half the idle time");
  t.timers.advance(1);
  t.socket.heartbeat(10_000);
  t.timers.advance(2000);
  t.socket.heartbeat(10_000); // already pinged: no second ping
  await tick();
  assert.deepEqual(t.frames().map((f) => [f.opcode, f.payload.length]), [[Opcode.ping, 0]]);
  t.timers.advance(2999);
  t.socket.heartbeat(10_000);
  assert.equal(t.socket.readyState, 1, "9999 ms of silence: still open");
  t.timers.advance(1);
  t.socket.heartbeat(10_000);
  assert.equal(t.socket.readyState, 2);
  await tick();
  const close = t.frames().at(-1)!;
  assert.equal(close.code, 1001);
  assert.equal(close.text, "no answer to ping");
  t.timers.advance(2000); // no answer to the close either
  assert.equal(t.conn.closed, true);
  assert.deepEqual(t.closes, [{ code: 1001, reason: "no answer to ping", wasClean: false }]);
});

Deno.test("ServerWebSocket: any byte from the peer resets the heartbeat and allows a new ping", async () => {
  const t = setup();
  t.timers.advance(6000);
  t.socket.heartbeat(10_000); // ping 1
  t.socket.receive(maskedFrame({ opcode: Opcode.pong }));
  t.timers.advance(4999);
  t.socket.heartbeat(10_000);
  await tick();
  assert.equal(t.frames().length, 1, "silence counts from the pong");
  t.timers.advance(1);
  t.socket.heartbeat(10_000); // ping 2
  t.timers.advance(4000);
  t.socket.receive(new Uint8Array([0x81])); // one byte of a frame is a sign of life too
  t.timers.advance(9999);
  t.socket.heartbeat(10_000);
  await tick();
  assert.equal(t.socket.readyState, 1);
  assert.deepEqual(t.frames().map((f) => f.opcode), [Opcode.ping, Opcode.ping, Opcode.ping]);
});

Deno.test("ServerWebSocket: heartbeat does nothing unless open", async () => {
  const t = setup({}, false);
  t.timers.advance(100_000);
  t.socket.heartbeat(1000);
  assert.equal(t.socket.readyState, 0);
  t.socket.open();
  t.socket.close();
  t.timers.advance(500);
  t.socket.heartbeat(1000);
  await tick();
  assert.deepEqual(t.frames().map((f) => f.opcode), [Opcode.close]);
});

Deno.test("ServerWebSocket: pings are answered with their payload", async () => {
  const t = setup();
  t.socket.receive(maskedFrame({ opcode: Opcode.ping, payload: "are you there" }));
  await tick();
  t.socket.receive(maskedFrame({ opcode: Opcode.ping, payload: "still?" }));
  await tick();
  const pongs = t.frames().filter((f) => f.opcode === Opcode.pong);
  assert.deepEqual(pongs.map((f) => new TextDecoder().decode(f.payload)), [
    "are you there",
    "still?",
  ]);
});

const pongTexts = (t: ReturnType<typeof setup>) =>
  t.frames().filter((f) => f.opcode === Opcode.pong).map((f) =>
    new TextDecoder().decode(f.payload)
  );

Deno.test("ServerWebSocket: ten pings at once get ten pongs, in order (Autobahn 2.10)", async () => {
  const t = setup();
  const pings = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  const bytes = pings.map((p) => maskedFrame({ opcode: Opcode.ping, payload: p }));
  t.socket.receive(bytes.reduce((a, b) => new Uint8Array([...a, ...b])));
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(pongTexts(t), pings);
});

Deno.test("ServerWebSocket: ten pings sent a byte at a time get ten pongs (Autobahn 2.11)", async () => {
  const t = setup();
  const pings = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  for (const ping of pings) {
    for (const byte of maskedFrame({ opcode: Opcode.ping, payload: ping })) {
      t.socket.receive(new Uint8Array([byte]));
    }
  }
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(pongTexts(t), pings);
});

Deno.test("ServerWebSocket: a ping flood from a peer that does not read: the most recent pongs wait, at most MAX_PENDING_PONGS", async () => {
  const t = setup();
  t.conn.holdWrites();
  t.socket.send("busy"); // a write in flight
  for (let i = 0; i < 1000; i++) {
    t.socket.receive(maskedFrame({ opcode: Opcode.ping, payload: String(i).padStart(3, "0") }));
  }
  assert.equal(MAX_PENDING_PONGS, 16);
  assert.equal(t.socket.bufferedAmount, 6 + MAX_PENDING_PONGS * (2 + 3), "bounded");
  t.conn.takeAll();
  for (let i = 0; i < 5; i++) await tick();
  const newest = Array.from({ length: MAX_PENDING_PONGS }, (_, i) => String(984 + i));
  assert.deepEqual(pongTexts(t), newest, "the last ping is answered, the oldest dropped");
  assert.equal(t.socket.bufferedAmount, 0);
});

Deno.test("ServerWebSocket: pongs go ahead of queued data, in the next write", async () => {
  const t = setup();
  t.conn.holdWrites();
  for (let i = 0; i < 6; i++) t.socket.send(big(40 * 1024)); // one in flight, five queued
  t.socket.receive(maskedFrame({ opcode: Opcode.ping, payload: "p1" }));
  t.socket.receive(maskedFrame({ opcode: Opcode.ping, payload: "p2" }));
  assert.equal(t.socket.bufferedAmount, 6 * (4 + 40 * 1024) + 2 * 4);
  t.conn.takeAll();
  for (let i = 0; i < 10; i++) await tick();
  const kinds = t.frames().map((f) => f.opcode === Opcode.pong ? "pong" : "text");
  assert.deepEqual(kinds, ["text", "pong", "pong", "text", "text", "text", "text", "text"]);
  assert.deepEqual(t.conn.writes[1].length, 2 * 4 + 4 + 40 * 1024, "pongs and a frame, one write");
  assert.deepEqual(pongTexts(t), ["p1", "p2"]);
  // Once written, a new ping is answered again.
  t.socket.receive(maskedFrame({ opcode: Opcode.ping, payload: "p3" }));
  await tick();
  assert.deepEqual(pongTexts(t), ["p1", "p2", "p3"]);
});

Deno.test("ServerWebSocket: a pong waiting when we close goes before the close frame", async () => {
  const t = setup();
  t.conn.holdWrites();
  t.socket.send("busy");
  t.socket.receive(maskedFrame({ opcode: Opcode.ping, payload: "late" }));
  t.socket.close(1000, "bye");
  t.conn.takeAll();
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(t.frames().map((f) => f.opcode), [Opcode.text, Opcode.pong, Opcode.close]);
});

Deno.test("ServerWebSocket: no pong once closing", async () => {
  const t = setup();
  t.socket.close();
  t.socket.receive(maskedFrame({ opcode: Opcode.ping, payload: "late" }));
  await tick();
  assert.deepEqual(t.frames().map((f) => f.opcode), [Opcode.close]);
});

Deno.test("ServerWebSocket: messages after our close are not handed on", () => {
  const t = setup();
  t.socket.close();
  t.socket.receive(maskedFrame({ opcode: Opcode.text, payload: "late" }));
  t.socket.receive(maskedFrame({ opcode: Opcode.binary, payload: "late" }));
  assert.deepEqual(t.messages, []);
});

Deno.test("ServerWebSocket: a failing write reports an error and closes 1006", async () => {
  const t = setup();
  t.conn.failWrites(new Error("broken pipe"));
  t.socket.send("x");
  await tick();
  assert.deepEqual(t.errors, ["Error: broken pipe"]);
  assert.deepEqual(t.closes, [{ code: 1006, reason: "", wasClean: false }]);
  assert.equal(t.conn.closed, true);
});

Deno.test("ServerWebSocket: a failing write while closing keeps our code, reports no error", async () => {
  const t = setup();
  t.conn.failWrites();
  t.socket.close(4000, "bye");
  await tick();
  assert.deepEqual(t.errors, []);
  assert.deepEqual(t.closes, [{ code: 4000, reason: "bye", wasClean: false }]);
});

Deno.test("ServerWebSocket: the end of the stream closes 1006; a read error is reported first", async () => {
  const eof = setup();
  eof.socket.ended();
  assert.deepEqual(eof.closes, [{ code: 1006, reason: "", wasClean: false }]);
  assert.deepEqual(eof.errors, []);

  const reset = setup();
  reset.socket.ended("connection reset");
  assert.deepEqual(reset.errors, ["connection reset"]);
  assert.deepEqual(reset.closes, [{ code: 1006, reason: "", wasClean: false }]);
  reset.socket.ended("again");
  assert.equal(reset.closes.length, 1);

  // While closing, the end of the stream keeps the code of the close.
  const closing = setup();
  closing.socket.close(4003, "bye");
  await tick();
  closing.socket.ended();
  assert.deepEqual(closing.closes, [{ code: 4003, reason: "bye", wasClean: false }]);
  assert.equal(closing.timers.pending, 0);
});

Deno.test("ServerWebSocket: close() before open ends at once without a frame", async () => {
  const t = setup({}, false);
  t.socket.close(1011, "not now");
  await tick();
  assert.equal(t.conn.writes.length, 0);
  assert.equal(t.conn.closed, true);
  assert.equal(t.socket.readyState, 3);
  assert.equal(t.closes.length, 1);
  assert.equal(t.closes[0].code, 1011);
  t.socket.open();
  assert.equal(t.socket.readyState, 3, "a closed socket does not reopen");
});

Deno.test("ServerWebSocket: closed settles even when onclose throws; the stream closed once", async () => {
  const t = setup();
  t.socket.onclose = () => {
    throw new Error("handler bug");
  };
  assert.throws(() => t.socket.ended(), /handler bug/);
  const event = await t.socket.closed;
  assert.deepEqual(event, { code: 1006, reason: "", wasClean: false });
  assert.equal(t.conn.closeCalls, 1);
});

Deno.test("ServerWebSocket: a stream that throws on close still ends the socket", () => {
  const t = setup();
  t.conn.close(); // already closed: FakeConn.close throws the second time
  t.socket.ended();
  assert.equal(t.socket.readyState, 3);
  assert.equal(t.closes.length, 1);
});

/** A fake stream that can end its direction only, as `Deno.Conn.closeWrite` does. */
class HalfClosingConn extends FakeConn {
  finSent = 0;
  closeWrite(): Promise<void> {
    this.finSent++;
    return Promise.resolve();
  }
}

Deno.test("ServerWebSocket: after a clean close our FIN goes first; the peer's end of stream releases the connection", async () => {
  const conn = new HalfClosingConn();
  const t = setup({ stream: conn });
  t.socket.receive(maskedFrame({ opcode: Opcode.close, payload: closeBody(1000) }));
  await tick();
  assert.equal(t.socket.readyState, 3, "the echo is written: closed");
  assert.equal(conn.finSent, 1, "our direction is ended");
  assert.equal(conn.closed, false, "no cancelled read: the peer ends the stream");
  t.socket.ended(); // the read loop saw the peer's FIN
  assert.equal(conn.closed, true);
  assert.deepEqual(t.closes, [{ code: 1000, reason: "", wasClean: true }]);
});

Deno.test("ServerWebSocket: a peer that never ends the stream after a clean close is dropped at the close timeout", async () => {
  const conn = new HalfClosingConn();
  const t = setup({ stream: conn, closeTimeoutMs: 2000 });
  t.socket.close(1000, "bye");
  await tick();
  t.socket.receive(maskedFrame({ opcode: Opcode.close, payload: closeBody(1000) }));
  assert.deepEqual([conn.finSent, conn.closed], [1, false]);
  t.timers.advance(1999);
  assert.equal(conn.closed, false);
  t.timers.advance(1);
  assert.equal(conn.closed, true, "dropped after CLOSE_TIMEOUT_MS");
  t.socket.ended();
  assert.equal(conn.closeCalls, 1, "closed once");
});

Deno.test("ServerWebSocket: listen hands every event to one shared listener with its target, not to on*", () => {
  const seen: string[] = [];
  const listener = {
    message: (id: string, data: string | ArrayBuffer) =>
      seen.push(`${id} message ${typeof data === "string" ? data : new Uint8Array(data).join()}`),
    close: (id: string, event: SocketCloseEvent) => seen.push(`${id} close ${event.code}`),
    error: (id: string, message: string) => seen.push(`${id} error ${message}`),
    fail: (id: string, code: number) => seen.push(`${id} fail ${code}`),
  };
  const a = setup();
  const b = setup();
  a.socket.listen(listener, "a");
  b.socket.listen(listener, "b");
  a.socket.receive(maskedFrame({ opcode: Opcode.text, payload: "hi" }));
  b.socket.receive(maskedFrame({ opcode: Opcode.binary, payload: new Uint8Array([1, 2]) }));
  a.socket.receive(maskedFrame({ opcode: Opcode.text, payload: "x".repeat(1001) })); // too big
  b.socket.ended("connection reset");
  assert.deepEqual(seen, [
    "a message hi",
    "b message 1,2",
    "a fail 1009",
    "b error connection reset",
    "b close 1006",
  ]);
  a.timers.advance(2000); // the close handshake times out
  assert.equal(seen.at(-1), "a close 1009");
  for (const t of [a, b]) {
    assert.deepEqual([t.messages, t.closes, t.errors, t.fails], [[], [], [], []], "no on* calls");
  }
});

/** A run's bytes (about 4.5 KB) and a sender's own line between two parts of it. */
function senderPieces(tag: string): (string | Uint8Array)[] {
  const run = new TextEncoder().encode(big(4500, tag));
  return [run.subarray(0, 2000), `{"type":"ack","ref":"${tag}"}`, run.subarray(2000)];
}
const piecesText = (tag: string) =>
  `${big(2000, tag)}\n{"type":"ack","ref":"${tag}"}\n${big(2500, tag)}`;

Deno.test("ServerWebSocket: sendTextPieces builds in the frame pool and gives the buffer back once written", async () => {
  const framePool = new FramePool();
  const t = setup({ framePool });
  t.socket.sendTextPieces(senderPieces("a"));
  assert.equal(framePool.heldBytes, 0, "in flight: still the write's");
  await tick();
  assert.equal(framePool.heldBytes, 8192, "written: back in the pool");
  t.socket.sendTextPieces(senderPieces("b"));
  assert.equal(framePool.heldBytes, 0, "taken again for the next frame");
  await tick();
  assert.deepEqual(t.frames().map((f) => f.text), [piecesText("a"), piecesText("b")]);
  assert.equal(t.conn.writes.length, 2);
});

Deno.test("ServerWebSocket: a pooled frame whose write is held keeps its buffer; later frames are built elsewhere", async () => {
  const framePool = new FramePool();
  const t = setup({ framePool });
  const u = setup({ framePool });
  t.conn.holdWrites();
  t.socket.sendTextPieces(senderPieces("a")); // in flight, held
  t.socket.sendTextPieces(senderPieces("b")); // queued behind it: not the pool's
  u.socket.sendTextPieces(senderPieces("c")); // another socket: the pool has nothing free
  await tick();
  assert.equal(framePool.heldBytes, 8192, "only c's buffer came back");
  u.socket.sendTextPieces(senderPieces("d")); // takes c's buffer while a's is still held
  await tick();
  t.conn.releaseWrites(); // a is copied now: its bytes must be a's
  await tick();
  t.conn.releaseWrites(); // then b
  await tick();
  assert.deepEqual(t.frames().map((f) => f.text), [piecesText("a"), piecesText("b")]);
  assert.deepEqual(u.frames().map((f) => f.text), [piecesText("c"), piecesText("d")]);
  assert.equal(framePool.heldBytes, 2 * 8192, "a's and d's buffers, not b's");
});

Deno.test("ServerWebSocket: a pooled frame written in short writes goes back only after its last byte", async () => {
  const framePool = new FramePool();
  const t = setup({ framePool });
  const other = setup({ framePool });
  t.conn.holdWrites();
  t.socket.sendTextPieces(senderPieces("a")); // about 4.5 KB: five writes of at most 1000
  for (let i = 0; i < 4; i++) {
    t.conn.releaseWrites(1000);
    await tick();
    assert.equal(framePool.heldBytes, 0, `after write ${i + 1} of 5`);
    // Another socket's frame built now must not land in the buffer still being written.
    other.socket.sendTextPieces(senderPieces(`${i}`));
    await tick();
    framePool.take(4600); // the other's buffer, back in the pool, taken out of it again
  }
  t.conn.releaseWrites(1000);
  await tick();
  assert.equal(t.socket.bufferedAmount, 0);
  assert.equal(t.conn.writes.length, 5);
  assert.deepEqual(t.frames().map((f) => f.text), [piecesText("a")]);
  assert.equal(framePool.heldBytes, 8192);
  assert.deepEqual(other.frames().map((f) => f.text), ["0", "1", "2", "3"].map(piecesText));
});

Deno.test("ServerWebSocket: a pooled frame whose write fails is not given back", async () => {
  const framePool = new FramePool();
  const t = setup({ framePool });
  t.conn.failWrites();
  t.socket.sendTextPieces(senderPieces("a"));
  await tick();
  assert.deepEqual(t.closes, [{ code: 1006, reason: "", wasClean: false }]);
  assert.equal(framePool.heldBytes, 0);
  t.socket.sendTextPieces(senderPieces("b")); // closed: ignored, nothing taken
  assert.equal(framePool.heldBytes, 0);
});

Deno.test("ServerWebSocket: sendJoinedTextFrames builds a sender's frames in the pool; a lone shared range is never the pool's", async () => {
  const framePool = new FramePool();
  const t = setup({ framePool });
  // A room's run as frames back to back (4 KiB exactly: a buffer the pool would take).
  const run = new Uint8Array(4096);
  const first = encodeTextFrame(big(2000, "r"));
  const second = encodeTextFrame(big(4096 - first.length - 4, "s"));
  run.set(first);
  run.set(second, first.length);
  t.socket.sendJoinedTextFrames([run.subarray(0, first.length), "own", run.subarray(first.length)]);
  await tick();
  assert.equal(framePool.heldBytes, 8192, "the sender's frames, written: back in the pool");
  t.socket.sendJoinedTextFrames([run]); // a member that got all of it: the shared bytes themselves
  await tick();
  assert.equal(framePool.heldBytes, 8192, "the shared run is not taken into the pool");
  assert.deepEqual(t.frames().map((f) => f.text), [
    big(2000, "r"),
    "own",
    big(4096 - first.length - 4, "s"),
    big(2000, "r"),
    big(4096 - first.length - 4, "s"),
  ]);
});

// --- the 101's head, written in front of the first frame --------------------------------------

const HEAD = new TextEncoder().encode("HTTP/1.1 101 Switching Protocols\r\n\r\n");

/** A socket opened with `HEAD`, its deferred functions run by the test (in order). */
function withHead(onopen: (socket: ServerWebSocket, defer: (fn: () => void) => void) => void) {
  const deferred: (() => void)[] = [];
  const defer = (fn: () => void) => void deferred.push(fn);
  const framePool = new FramePool();
  const t = setup({ defer, framePool }, false);
  t.socket.onopen = () => onopen(t.socket, defer);
  t.socket.open(HEAD);
  const runDeferred = () => {
    while (deferred.length > 0) deferred.shift()!();
  };
  /** The first write's head and the frames behind it. */
  const first = () => {
    const w = t.conn.writes[0];
    assert.deepEqual(w.subarray(0, HEAD.length), HEAD, "the write starts with the head");
    return serverFrames(w.subarray(HEAD.length)).map((f) =>
      f.opcode === 1 ? f.text : `op ${f.opcode}`
    );
  };
  return { ...t, framePool, deferred, runDeferred, first };
}

Deno.test("ServerWebSocket: open(head): a frame sent by what onopen deferred goes behind the head, in one write", async () => {
  const t = withHead((socket, defer) => defer(() => socket.send("welcome")));
  assert.equal(t.socket.readyState, 1);
  assert.equal(t.deferred.length, 2, "onopen's send, then the head's own check");
  t.runDeferred();
  await tick();
  assert.equal(t.conn.writes.length, 1, "one write");
  assert.deepEqual(t.first(), ["welcome"]);
  t.socket.send("next");
  await tick();
  assert.equal(t.conn.writes.length, 2);
  assert.deepEqual(serverFrames(t.conn.writes[1]).map((f) => f.text), ["next"], "no head again");
});

Deno.test("ServerWebSocket: open(head): nothing sent in the turn: the head is written alone, frames after it", async () => {
  const t = withHead(() => {});
  assert.equal(t.conn.writes.length, 0, "not before the deferred check");
  t.runDeferred();
  await tick();
  assert.deepEqual(t.conn.writes.map((w) => [...w]), [[...HEAD]]);
  t.socket.send("later");
  await tick();
  assert.deepEqual(serverFrames(t.conn.writes[1]).map((f) => f.text), ["later"]);
});

Deno.test("ServerWebSocket: open(head): a pooled frame is copied behind the head; both buffers go back", async () => {
  const t = withHead((socket, defer) => defer(() => socket.sendTextPieces(senderPieces("w"))));
  t.conn.holdWrites();
  t.runDeferred();
  assert.equal(t.framePool.heldBytes, 8192, "the built frame went back at once, never written");
  t.conn.releaseWrites();
  await tick();
  assert.equal(t.framePool.heldBytes, 2 * 8192, "the head's write went back once written");
  assert.deepEqual(t.first(), [piecesText("w")]);
  assert.equal(t.conn.writes.length, 1);
});

Deno.test("ServerWebSocket: open(head): a pong, or a close, before any frame goes behind the head", async () => {
  const p = withHead(() => {});
  p.socket.receive(maskedFrame({ opcode: Opcode.ping, payload: "p" }));
  p.runDeferred();
  await tick();
  assert.deepEqual(p.first(), [`op ${Opcode.pong}`]);
  assert.equal(p.conn.writes.length, 1);
  const c = withHead((socket) => socket.close(4000, "refused"));
  c.runDeferred();
  await tick();
  assert.deepEqual(c.first(), [`op ${Opcode.close}`]);
  assert.equal(c.conn.writes.length, 1);
});

Deno.test("ServerWebSocket: open(head): a connection gone before the head was written writes nothing", async () => {
  const t = withHead(() => {});
  t.socket.ended("connection reset");
  t.runDeferred();
  await tick();
  assert.equal(t.conn.writes.length, 0);
  assert.deepEqual(t.closes.map((e) => e.code), [1006]);
});

Deno.test("ServerWebSocket: open(head) by default: the turn's sockets are checked together, after what their onopen deferred", async () => {
  const sockets = [0, 1, 2].map(() => setup({}, false));
  // The first sends once the turn's callbacks are done (as the hub's flush does); the others not.
  sockets[0].socket.onopen = () => setImmediate(() => sockets[0].socket.send("welcome"));
  for (const t of sockets) t.socket.open(HEAD);
  assert.ok(sockets.every((t) => t.conn.writes.length === 0), "nothing before the turn ends");
  // Polled, not one timer's tick: a timer may fire before the turn's immediates on a busy machine.
  await until(() => sockets.every((t) => t.conn.writes.length > 0), "every socket's first write");
  await tick();
  assert.equal(sockets[0].conn.writes.length, 1);
  assert.deepEqual(
    serverFrames(sockets[0].conn.writes[0].subarray(HEAD.length)).map((f) => f.text),
    [
      "welcome",
    ],
  );
  for (const t of sockets.slice(1)) assert.deepEqual(t.conn.writes.map((w) => [...w]), [[...HEAD]]);
});
