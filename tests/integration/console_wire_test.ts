/**
 * The real console client as a subprocess, checked on the wire: long piped input paced by the
 * rate limit, the close code it sends, a lost ack resent exactly once, and `--json` output.
 */
import assert from "node:assert/strict";
import { ConsoleProcess, runClient } from "../helpers/console_process.ts";
import { startWsRelay } from "../helpers/console_relay.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const texts = (peer: TestClient) => peer.ofType("message").map((m: { text: string }) => m.text);

testWithPermissions(
  "console (wire): 300 piped lines outlast --timeout while acks keep coming -> exit 0",
  async () => {
    // 100 frames/s with a burst of 10: the client paces itself to about 90/s, so 300 lines take
    // over 3 s, twice the --timeout, while an ack arrives every ~11 ms.
    const srv = await startTestServer({ RATE_LIMIT: "100", RATE_BURST: "10" });
    const { client: peer } = await TestClient.join(srv.wsUrl({ room: "bulk", name: "peer" }));
    try {
      const input = Array.from({ length: 300 }, (_, i) => `line ${i + 1}\n`).join("");
      const url = srv.wsUrl().split("?")[0];
      const started = Date.now();
      const { code, proc } = await runClient(
        ["--url", url, "--room", "bulk", "--timeout", "1.5"],
        input,
      );
      const tookMs = Date.now() - started;
      assert.equal(code, 0, proc.stderr);
      assert.equal(proc.stderr, "");
      assert.equal(proc.lines.at(-1), "* All 300 line(s) delivered");
      assert.ok(tookMs > 1500, `took ${tookMs} ms: longer than --timeout, as intended`);
      await peer.next((f) => f.type === "message" && f.text === "line 300", 5000);
      await peer.quietFor(100);
      assert.deepEqual(texts(peer), Array.from({ length: 300 }, (_, i) => `line ${i + 1}`));
    } finally {
      await peer.close();
      await srv.stop();
    }
  },
);

testWithPermissions("console (wire): leaving sends close code 1000 on the wire", async () => {
  const srv = await startTestServer();
  const relay = startWsRelay(srv.server.port);
  try {
    const { code, proc } = await runClient(["--url", relay.url, "--room", "bye"], "hi\nsair\n");
    assert.equal(code, 0, proc.stderr);
    assert.deepEqual(relay.closeCodes, [1000], "one close frame, code 1000");
  } finally {
    await relay.close();
    await srv.stop();
  }
});

testWithPermissions(
  "console (wire): a line whose ack was lost is resent after reconnect and delivered once",
  async () => {
    const srv = await startTestServer();
    const relay = startWsRelay(srv.server.port);
    const { client: peer } = await TestClient.join(srv.wsUrl({ room: "lost", name: "peer" }));
    const proc = new ConsoleProcess(["--url", relay.url, "--room", "lost", "--name", "bot"]);
    try {
      await proc.waitFor(/^Connected to /);
      relay.cutAfterNextMessage();
      await proc.write("only once\n");
      await relay.cut; // the server stored it and acked; the ack was thrown away
      await proc.waitFor(/^\* Connection lost \(1006[:)].*; reconnecting in/);
      await proc.waitFor(/^\* Resending 1 unacknowledged message\(s\)$/);
      await proc.endInput();
      assert.equal(await proc.exit(), 0, proc.stderr);
      assert.equal(proc.stderr, "");
      assert.equal(proc.lines.at(-1), "* All 1 line(s) delivered");
      assert.equal(relay.connections, 2);
      await peer.quietFor(200);
      assert.deepEqual(texts(peer), ["only once"]);
    } finally {
      await proc.stop();
      await peer.close();
      await relay.close();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "console (wire): --json prints one documented JSON event per line",
  async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    try {
      const { code, proc } = await runClient(["--url", url, "--room", "js", "--json"], "a\nb\n");
      assert.equal(code, 0, proc.stderr);
      assert.equal(proc.stderr, "");
      const events = proc.lines.map((line) => JSON.parse(line));
      const documented = [
        "sent",
        "welcome",
        "message",
        "ack",
        "presence",
        "state",
        "gap",
        "error",
        "done",
        "exit",
      ];
      for (const event of events) {
        assert.ok(documented.includes(event.event), `undocumented event ${JSON.stringify(event)}`);
      }
      const names = events.map((e) => e.event).filter((name) => name !== "presence");
      assert.deepEqual(names.filter((n) => n === "sent"), ["sent", "sent"]);
      assert.deepEqual(names.slice(-2), ["done", "exit"]);
      const welcome = events.find((e) => e.event === "welcome");
      assert.equal(welcome.room, "js");
      assert.equal(welcome.url, url);
      const acks = events.filter((e) => e.event === "ack");
      assert.deepEqual(acks.map((a) => a.text), ["a", "b"]);
      assert.deepEqual(events.at(-2), { event: "done", sent: 2, delivered: 2, undelivered: 0 });
      assert.deepEqual(events.at(-1), { event: "exit", code: 0 });
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions(
  "console (wire): --json with a failed connection prints an error event, then exit 1",
  async () => {
    const srv = await startTestServer();
    const url = srv.httpUrl("/no-socket-here").replace("http:", "ws:");
    await srv.stop(); // nothing listens there any more
    const { code, proc } = await runClient(["--url", url, "--json"], "x\n");
    assert.equal(code, 1);
    const events = proc.lines.map((line) => JSON.parse(line));
    const error = events.find((e) => e.event === "error");
    assert.equal(error?.code, "connect_failed", JSON.stringify(events));
    assert.match(error.message, /^could not connect to ws:\/\/127\.0\.0\.1:\d+\/no-socket-here \(/);
    assert.deepEqual(events.at(-1), { event: "exit", code: 1 });
    assert.match(proc.stderr, /^error: could not connect to .*\n$/);
  },
);

testWithPermissions(
  "console (wire): a piped line over the server's size limit is reported by line, not waited for",
  async () => {
    const srv = await startTestServer({ MAX_MESSAGE_BYTES: "128" });
    const { client: peer } = await TestClient.join(srv.wsUrl({ room: "big", name: "peer" }));
    try {
      const url = srv.wsUrl().split("?")[0];
      // Queued before the first welcome, so only the welcome's limit can refuse it. With a
      // 60 s timeout, waiting for it would outlast exit()'s 15 s kill and fail the exit code.
      const { code, proc } = await runClient(
        ["--url", url, "--room", "big", "--timeout", "60"],
        `fits\n${"x".repeat(200)}\nalso fits\n`,
      );
      assert.equal(code, 1, proc.stderr);
      assert.equal(proc.stderr, "error: 1 of 3 line(s) not delivered\n");
      assert.ok(
        proc.lines.some((line) => /^! too_large: .* \(line 2 not delivered\)$/.test(line)),
        proc.lines.join("\n"),
      );
      await peer.next((f) => f.type === "message" && f.text === "also fits");
      await peer.quietFor(100);
      assert.deepEqual(texts(peer), ["fits", "also fits"]);
    } finally {
      await peer.close();
      await srv.stop();
    }
  },
);
