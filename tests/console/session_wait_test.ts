/**
 * The console session's bounded waits, on the fake clock: piped input gives up only after
 * `--timeout` without progress; quitting waits a moment for unacknowledged lines.
 */
import assert from "node:assert/strict";
import { welcomeFrame } from "../helpers/fake_socket.ts";
import { fakeSession, finish, settle } from "../helpers/console_fake_session.ts";

Deno.test("session (piped): 300 paced lines take longer than --timeout but keep progressing -> exit 0", async () => {
  const s = fakeSession(false); // --timeout 2
  for (let i = 1; i <= 300; i++) s.input.push({ kind: "line", text: `line ${i}` });
  s.input.push({ kind: "eof" });
  await settle();
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame()); // rate 20/s, burst 40: the client paces itself
  let acked = 0;
  let offset = 0;
  while (acked < 300 && s.clock.time < 60_000) {
    const frames = socket.frames("message");
    for (const frame of frames.slice(acked)) {
      socket.receive({ type: "ack", ref: frame.ref, offset: ++offset, ts: s.clock.time });
    }
    acked = frames.length;
    s.clock.advance(100);
    await settle();
  }
  assert.ok(s.clock.time > 10_000, `the run took ${s.clock.time} ms, several timeouts long`);
  assert.equal(await finish(s), 0, s.err.join("\n"));
  assert.deepEqual(s.err, []);
  assert.equal(s.out.at(-1), "* All 300 line(s) delivered");
});

Deno.test("session (piped): --timeout counts from the last ack, not from the end of input", async () => {
  const s = fakeSession(false);
  for (const text of ["a", "b", "c"]) s.input.push({ kind: "line", text });
  s.input.push({ kind: "eof" });
  await settle();
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame());
  const [a, b] = socket.frames("message");
  s.clock.advance(1500);
  socket.receive({ type: "ack", ref: a.ref, offset: 1, ts: 1 });
  s.clock.advance(1500); // 3 s since the end of input, 1.5 s since the last ack
  socket.receive({ type: "ack", ref: b.ref, offset: 2, ts: 2 });
  s.clock.advance(1999);
  await settle();
  assert.deepEqual(s.err, [], "still waiting");
  s.clock.advance(1);
  assert.equal(await finish(s), 1);
  assert.deepEqual(s.err, ["error: 1 of 3 line(s) not delivered: nothing acknowledged for 2 s"]);
});

Deno.test("session (piped): a line over the size limit is refused at once, named by its line", async () => {
  const s = fakeSession(false);
  s.net.last.open();
  s.net.last.receive(welcomeFrame()); // maxMessageBytes 1000
  s.input.push({ kind: "line", text: "fits" });
  s.input.push({ kind: "line", text: "x".repeat(2000) });
  s.input.push({ kind: "eof" });
  await settle();
  const [fits] = s.net.last.frames("message");
  s.net.last.receive({ type: "ack", ref: fits.ref, offset: 1, ts: 1 });
  assert.equal(await finish(s), 1, "no waiting for the timeout");
  assert.equal(s.clock.time, 10, "only the close wait passed");
  assert.ok(
    s.out.includes(
      "! too_large: message is larger than the limit of 1000 bytes (line 2 not delivered)",
    ),
    s.out.join("\n"),
  );
  assert.deepEqual(s.err, ["error: 1 of 2 line(s) not delivered"]);
});

Deno.test("session (piped): a line with a control character is refused at once, by its line", async () => {
  const s = fakeSession(false);
  s.net.last.open();
  s.net.last.receive(welcomeFrame());
  s.input.push({ kind: "line", text: "tab\tis fine" });
  s.input.push({ kind: "line", text: "ding\u0007" });
  s.input.push({ kind: "eof" });
  await settle();
  const frames = s.net.last.frames("message");
  assert.deepEqual(frames.map((f) => f.text), ["tab\tis fine"], "the refused line is not sent");
  s.net.last.receive({ type: "ack", ref: frames[0].ref, offset: 1, ts: 1 });
  assert.equal(await finish(s), 1);
  assert.ok(
    s.out.includes(
      "! invalid_text: text must not contain control characters other than tab and newline; " +
        "got U+0007 at character 5 (line 2 not delivered)",
    ),
    s.out.join("\n"),
  );
  assert.deepEqual(s.err, ["error: 1 of 2 line(s) not delivered"]);
});

Deno.test("session (interactive): quitting waits for the pending ack, then closes with 1000", async () => {
  const s = fakeSession(true);
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame());
  s.input.push({ kind: "line", text: "hello" });
  s.input.push({ kind: "line", text: "sair" });
  await settle();
  assert.equal(socket.closedWith?.code, undefined, "not closed while the line waits for its ack");
  s.clock.advance(500);
  const [frame] = socket.frames("message");
  socket.receive({ type: "ack", ref: frame.ref, offset: 1, ts: 1 });
  await settle();
  assert.equal(socket.closedWith?.code, 1000);
  socket.finishClose();
  assert.equal(await s.done, 0);
  assert.equal(s.out.filter((line) => line.includes("unacknowledged")).length, 0, s.out.join());
});

Deno.test("session (interactive): a line typed before the welcome is sent before quitting", async () => {
  const s = fakeSession(true);
  s.input.push({ kind: "line", text: "early" });
  s.input.push({ kind: "line", text: "/quit" });
  await settle();
  const socket = s.net.last;
  assert.equal(socket.closedWith?.code, undefined, "still connecting: not given up");
  s.clock.advance(300);
  socket.open();
  socket.receive(welcomeFrame());
  const [frame] = socket.frames("message");
  assert.equal(frame.text, "early");
  socket.receive({ type: "ack", ref: frame.ref, offset: 1, ts: 1 });
  await settle();
  socket.finishClose();
  assert.equal(await s.done, 0);
  assert.equal(socket.closedWith?.code, 1000);
});

Deno.test("session (interactive): the quit wait is bounded and says what was left", async () => {
  const s = fakeSession(true, {}, 2000);
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame());
  s.input.push({ kind: "line", text: "never acked" });
  s.input.push({ kind: "eof" });
  await settle();
  s.clock.advance(1999);
  await settle();
  assert.equal(socket.closedWith?.code, undefined, "not closed yet");
  s.clock.advance(1);
  await settle();
  assert.equal(socket.closedWith?.code, 1000);
  assert.equal(await finish(s), 0);
  assert.equal(s.out.at(-1), "* 1 message(s) still unacknowledged after 2 s; maybe not delivered");
});

Deno.test("session: the first connection failing shows the reason the core gives", async () => {
  const s = fakeSession(true);
  await settle();
  s.net.last.serverClose(
    1006,
    "NetworkError: failed to connect to WebSocket: Invalid status code: 404",
  );
  assert.equal(await finish(s), 1);
  assert.deepEqual(s.err, [
    "error: could not connect to ws://h/ws (Invalid status code: 404, close code 1006); " +
    "is the server running and the URL right?",
  ]);
});

Deno.test("session (--json): a failed connection prints an error event, then exit 1", async () => {
  const s = fakeSession(false, { json: true });
  s.input.push({ kind: "line", text: "x" });
  s.input.push({ kind: "eof" });
  await settle();
  s.net.last.fail();
  assert.equal(await finish(s), 1);
  const events = s.out.map((line) => JSON.parse(line));
  assert.deepEqual(events.slice(1), [
    {
      event: "error",
      code: "connect_failed",
      message: "could not connect to ws://h/ws (nothing answered, close code 1006)",
    },
    { event: "exit", code: 1 },
  ]);
  assert.equal(events[0].event, "sent");
});
