/**
 * The real console client as a subprocess (the command of `deno task client`) against real
 * servers running in this test process. stderr is compared exactly: nothing but the client's own
 * lines may appear there.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../lib/shared/config.ts";
import { listen } from "../../lib/server/deno_server.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { freePort, startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { ConsoleProcess, runClient as run } from "../helpers/console_process.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions(
  "console: piped lines reach another client exactly once, then exit 0",
  async () => {
    const srv = await startTestServer();
    const { client: peer } = await TestClient.join(srv.wsUrl({ room: "pipe", name: "peer" }));
    try {
      const url = srv.wsUrl().split("?")[0];
      const { code, proc } = await run(
        ["--url", url, "--room", "pipe", "--name", "bot"],
        "one\ntwo\n\nthree\n",
      );
      assert.equal(code, 0, proc.stderr);
      assert.equal(proc.stderr, "");
      assert.equal(proc.lines[0], `Connected to ${url} (room pipe, 2 online)`);
      assert.equal(proc.lines.at(-1), "* All 3 line(s) delivered");
      await peer.next((f) => f.type === "message" && f.text === "three");
      await peer.quietFor(150);
      const got = peer.ofType("message").map((
        m: { text: string; name: string },
      ) => [m.name, m.text]);
      assert.deepEqual(got, [["bot", "one"], ["bot", "two"], ["bot", "three"]]);
    } finally {
      await peer.close();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "console: piped CRLF lines (a Windows file) are delivered without their \\r",
  async () => {
    const srv = await startTestServer();
    const { client: peer } = await TestClient.join(srv.wsUrl({ room: "crlf" }));
    try {
      const url = srv.wsUrl().split("?")[0];
      const { code, proc } = await run(["--url", url, "--room", "crlf"], "one\r\ntwo\r\n\r\nthree");
      assert.equal(code, 0, proc.stderr);
      assert.equal(proc.lines.at(-1), "* All 3 line(s) delivered");
      await peer.next((f) => f.type === "message" && f.text === "three");
      assert.deepEqual(peer.ofType("message").map((m: { text: string }) => m.text), [
        "one",
        "two",
        "three",
      ]);
    } finally {
      await peer.close();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "console: incoming messages print as [HH:MM:SS] name: text; sair exits 0",
  async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const proc = new ConsoleProcess(["--url", url, "--room", "print"]);
    let peer: TestClient | undefined;
    try {
      await proc.waitFor(/^Connected to .* \(room print, 1 online\)$/);
      ({ client: peer } = await TestClient.join(srv.wsUrl({ room: "print", name: "Bob" })));
      // Our own join and Bob's may be coalesced into one presence frame ("2 joined").
      await proc.waitFor(/^\* (Bob|2) joined \(2 online\)$/);
      peer.send({ type: "message", text: "hello\tthere", ref: "r1" });
      const ack = await peer.next((f) => f.type === "ack");
      const time = new Date(ack.ts).toISOString().slice(11, 19);
      await proc.waitFor(new RegExp(`^\\[${time}\\] Bob: hello there$`));
      await peer.close();
      await proc.waitFor(/^\* Bob left \(1 online\)$/);
      await proc.write("sair\n");
      assert.equal(await proc.exit(), 0, proc.stderr);
      assert.equal(proc.stderr, "", "nothing on stderr, not even a Deno warning");
    } finally {
      await peer?.close();
      await proc.stop();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "console: survives a server restart on the same port, nothing lost or doubled",
  async () => {
    const port = freePort();
    const config = loadConfig({
      PORT: String(port),
      HOST: "127.0.0.1",
      SHUTDOWN_GRACE_MS: "300",
      PRESENCE_INTERVAL_MS: "10",
    });
    let server = await listen(config, { logger: silentLogger });
    const url = `ws://127.0.0.1:${port}/ws`;
    const proc = new ConsoleProcess(["--url", url, "--room", "restart", "--timeout", "20"]);
    let peer: TestClient | undefined;
    try {
      await proc.waitFor(/^Connected to /);
      await server.shutdown();
      const lost = await proc.waitFor(
        /^\* Connection lost \(1012: server restarting\); reconnecting in/,
      );
      await proc.write("typed during the outage\n");
      server = await listen(config, { logger: silentLogger });
      ({ client: peer } = await TestClient.join(`${url}?room=restart&name=peer`));
      await proc.waitFor(/^\* Reconnected \(room restart/, lost);
      await proc.waitFor(/^\* Some messages may be missing: the server restarted/, lost);
      await proc.write("after the restart\n");
      await proc.endInput();
      assert.equal(await proc.exit(), 0, proc.stderr);
      await peer.quietFor(150);
      assert.deepEqual(peer.ofType("message").map((m: { text: string }) => m.text), [
        "typed during the outage",
        "after the restart",
      ]);
    } finally {
      await peer?.close();
      await proc.stop();
      await server.shutdown();
    }
  },
);

testWithPermissions("console: a wrong URL is a clear error and exit 1", async () => {
  const refused = await run(["--url", `ws://127.0.0.1:${freePort()}/ws`], "hi\n");
  assert.equal(refused.code, 1);
  assert.match(
    refused.proc.stderr,
    /^error: could not connect to ws:\/\/127\.0\.0\.1:\d+\/ws \(tcp connect error, close code 1006\); is the server running and the URL right\?\n$/,
  );
  const srv = await startTestServer();
  try {
    const notFound = await run(["--url", srv.httpUrl("/nothing-here")], "hi\n");
    assert.equal(notFound.code, 1);
    assert.match(
      notFound.proc.stderr,
      /^error: could not connect to ws:\/\/.*\/nothing-here \(Invalid status code: 404, close code 1006\); [^\n]*\n$/,
    );
    const tls = await run(["--url", srv.wsUrl().split("?")[0].replace("ws:", "wss:")], "hi\n");
    assert.equal(tls.code, 1);
    assert.match(
      tls.proc.stderr,
      /^error: could not connect to wss:\/\/[^ ]+ \([^,]*\w[^,]*, close code 1006\)/,
    );
    assert.ok(!tls.proc.stderr.includes("nothing answered"), tls.proc.stderr);
  } finally {
    await srv.stop();
  }
});

testWithPermissions(
  "console: a URL that is not ws(s)/http(s) is a bad option: exit 2, one line",
  async () => {
    const scheme = await run(["--url", "ftp://example.test/ws"], "hi\n");
    assert.equal(scheme.code, 2);
    assert.equal(
      scheme.proc.stderr,
      'error: --url must use ws://, wss://, http:// or https://, got "ftp://example.test/ws"\n',
    );
    const garbage = await run(["--url", "not a url"], "hi\n");
    assert.equal(garbage.code, 2);
    assert.equal(
      garbage.proc.stderr,
      'error: --url must be an absolute ws://, wss://, http:// or https:// URL, got "not a url"\n',
    );
  },
);

testWithPermissions(
  "console: bad options exit 2 with exactly one line on stderr; --help exits 0",
  async () => {
    const bad = await run(["--room"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.proc.stderr, "error: --room needs a value; see --help\n");
    assert.deepEqual(bad.proc.lines, []);
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.equal(help.proc.stderr, "");
    assert.match(help.proc.lines.join("\n"), /--url <ws-url>[\s\S]*--json[\s\S]*Exit codes/);
  },
);
