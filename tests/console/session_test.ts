import assert from "node:assert/strict";
import { InputQueue } from "../../lib/console/input.ts";
import { runSession } from "../../lib/console/session.ts";
import { fakeClient, welcomeFrame } from "../helpers/fake_socket.ts";
import { fakeSession, finish, options, settle } from "../helpers/console_fake_session.ts";

Deno.test("session (piped): sends every line, waits for the acks, exits 0", async () => {
  const s = fakeSession(false);
  for (const text of ["one", "", "two"]) s.input.push({ kind: "line", text });
  s.input.push({ kind: "eof" });
  await settle();
  const socket = s.net.last;
  socket.open();
  socket.receive(welcomeFrame({ online: 2 }));
  const sent = socket.frames("message");
  assert.deepEqual(sent.map((f) => f.text), ["one", "two"], "empty lines are skipped");
  socket.receive({ type: "ack", ref: sent[0].ref, offset: 1, ts: 1 });
  await settle();
  socket.receive({ type: "ack", ref: sent[1].ref, offset: 2, ts: 2 });
  assert.equal(await finish(s), 0);
  assert.deepEqual(s.out, [
    "Connected to ws://h/ws (room lobby, 2 online)",
    "* All 2 line(s) delivered",
  ]);
  assert.equal(socket.closedWith?.code, 1000);
});

Deno.test("session (piped): lines not acknowledged in time -> exit 1 with the count", async () => {
  const s = fakeSession(false);
  s.input.push({ kind: "line", text: "one" });
  s.input.push({ kind: "line", text: "two" });
  s.input.push({ kind: "eof" });
  await settle();
  s.net.last.open();
  s.net.last.receive(welcomeFrame());
  const [first] = s.net.last.frames("message");
  s.net.last.receive({ type: "ack", ref: first.ref, offset: 1, ts: 1 });
  await settle();
  s.clock.advance(2000);
  assert.equal(await finish(s), 1);
  assert.deepEqual(s.err, ["error: 1 of 2 line(s) not delivered: nothing acknowledged for 2 s"]);
});

Deno.test("session (piped): a line the server refuses counts as not delivered", async () => {
  const s = fakeSession(false);
  s.input.push({ kind: "line", text: "x" });
  s.input.push({ kind: "eof" });
  await settle();
  s.net.last.open();
  s.net.last.receive(welcomeFrame());
  const [frame] = s.net.last.frames("message");
  s.net.last.receive({ type: "error", code: "too_large", message: "too big", ref: frame.ref });
  assert.equal(await finish(s), 1);
  assert.deepEqual(s.err, ["error: 1 of 1 line(s) not delivered"]);
  assert.ok(s.out.includes("! too_large: too big (line 1 not delivered)"), s.out.join("\n"));
});

Deno.test("session: the first connection failing is a clear error and exit 1", async () => {
  for (const interactive of [false, true]) {
    const s = fakeSession(interactive);
    await settle();
    s.net.last.fail();
    assert.equal(await finish(s), 1);
    assert.match(
      s.err[0],
      /^error: could not connect to ws:\/\/h\/ws \(nothing answered, close code 1006\)/,
    );
    assert.equal(s.net.sockets.length, 1, "no retry loop");
  }
});

Deno.test("session (interactive): sair, /quit, exit and Ctrl+D close with 1000 and exit 0", async () => {
  for (const event of ["sair", " /quit ", "exit", null]) {
    const s = fakeSession(true);
    const socket = s.net.last;
    socket.open();
    socket.receive(welcomeFrame());
    s.input.push(event === null ? { kind: "eof" } : { kind: "line", text: event });
    await settle();
    socket.finishClose();
    assert.equal(await s.done, 0, String(event));
    assert.equal(socket.closedWith?.code, 1000);
    assert.equal(socket.frames("message").length, 0, "quit words are not sent");
  }
  const s = fakeSession(true);
  s.input.push({ kind: "interrupt" });
  assert.equal(await finish(s), 130, "Ctrl+C");
});

Deno.test("session (interactive): prints messages, presence, reconnects and gaps", async () => {
  const s = fakeSession(true);
  const first = s.net.last;
  first.open();
  first.receive(welcomeFrame({ id: "me", epoch: "e1", offset: 3 }));
  first.receive({ type: "presence", online: 1, joined: { id: "me", name: null } });
  first.receive({ type: "presence", online: 2, joined: { id: "c2", name: "Bob" } });
  first.receive({
    type: "message",
    room: "lobby",
    offset: 4,
    id: "e1-4",
    from: "c2",
    client: "other1234",
    name: "Bob",
    text: "hi",
    ts: Date.UTC(2026, 0, 1, 12, 0, 1),
  });
  s.input.push({ kind: "line", text: "hello" });
  await settle();
  first.serverClose(1012, "server restarting");
  s.input.push({ kind: "line", text: "while away" });
  await settle();
  s.clock.advance(500);
  const second = s.net.last;
  second.open();
  second.receive(welcomeFrame({ id: "me2", epoch: "e2", offset: 0 }));
  s.input.push({ kind: "line", text: "sair" });
  await settle();
  s.clock.advance(2000); // no acks: quitting waits 2 s for them, then leaves
  await settle();
  second.finishClose();
  assert.equal(await s.done, 0);
  assert.deepEqual(s.out, [
    "Connected to ws://h/ws (room lobby, 1 online)",
    "* Bob joined (2 online)",
    "[12:00:01] Bob: hi",
    "[00:00:00] you: hello",
    "* Connection lost (1012: server restarting); reconnecting in 0.5 s (attempt 1)",
    "[00:00:00] you: while away (queued: not connected)",
    "* Reconnecting to ws://h/ws (attempt 1)",
    "* Reconnected (room lobby, 1 online)",
    "* Resending 2 unacknowledged message(s)",
    "* Some messages may be missing: the server restarted and lost the room's history",
    "* 2 message(s) still unacknowledged after 2 s; maybe not delivered",
  ]);
  assert.deepEqual(second.frames("message").map((f) => f.text), ["hello", "while away"]);
});

Deno.test("session (--json): one JSON object per line, ending with exit", async () => {
  const s = fakeSession(false, { json: true });
  s.input.push({ kind: "line", text: "x" });
  s.input.push({ kind: "eof" });
  await settle();
  s.net.last.open();
  s.net.last.receive(welcomeFrame());
  const [frame] = s.net.last.frames("message");
  s.net.last.receive({ type: "ack", ref: frame.ref, offset: 1, ts: 5 });
  assert.equal(await finish(s), 0);
  const events = s.out.map((line) => JSON.parse(line));
  assert.deepEqual(events.map((e) => e.event), ["sent", "welcome", "ack", "done", "exit"]);
  assert.deepEqual(events.at(-2), { event: "done", sent: 1, delivered: 1, undelivered: 0 });
});

Deno.test("session (piped): SIGINT while waiting for acks leaves at once with 130", async () => {
  const t = fakeClient();
  const input = new InputQueue();
  const interrupted = Promise.withResolvers<void>();
  const out: string[] = [];
  const done = runSession({
    client: t.client,
    options,
    input,
    print: (line) => out.push(line),
    printError: (line) => out.push(line),
    interactive: false,
    style: { color: false },
    timers: t.clock,
    interrupted: interrupted.promise,
    closeWaitMs: 10,
  });
  input.push({ kind: "line", text: "never acked" });
  input.push({ kind: "eof" });
  await settle();
  t.net.last.open();
  t.net.last.receive(welcomeFrame());
  await settle();
  interrupted.resolve();
  await settle();
  t.clock.advance(10);
  assert.equal(await done, 130);
  assert.equal(t.net.last.closedWith?.code, 1000);
});
