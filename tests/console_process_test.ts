/**
 * The real console client as a subprocess (`deno run -P=client client.ts`) against real servers
 * running in this test process.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { listen } from "../lib/deno_server.ts";
import { silentLogger } from "../lib/log.ts";
import { freePort, startTestServer } from "./helpers/server.ts";
import { TestClient } from "./helpers/ws_client.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A running console client with its output collected line by line. */
class ConsoleProcess {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #reading: Promise<void>;
  #wake: (() => void) | null = null;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=client", "client.ts", ...args],
      cwd: ROOT,
      env: { TZ: "UTC", NO_COLOR: "1", ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    const out = this.#collect(this.child.stdout, (text) => {
      const parts = text.split("\n");
      this.lines.push(...parts.filter((line) => line !== ""));
    });
    const err = this.#collect(this.child.stderr, (text) => this.stderr += text);
    this.#reading = Promise.all([out, err]).then(() => {});
  }

  async #collect(
    stream: ReadableStream<Uint8Array<ArrayBuffer>>,
    take: (text: string) => void,
  ): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const end = rest.lastIndexOf("\n");
      if (end >= 0) {
        take(rest.slice(0, end + 1));
        rest = rest.slice(end + 1);
      }
      this.#wake?.();
    }
    if (rest) take(rest);
    this.#wake?.();
  }

  /** Writes `text` to the client's stdin. */
  async write(text: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  /** Closes stdin (end of input). */
  async endInput(): Promise<void> {
    await this.#stdin.close();
  }

  /** Waits for an output line matching `re` (at or after line `from`); returns its index. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 8000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const index = this.lines.findIndex((line, i) => i >= from && re.test(line));
      if (index >= 0) return index;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no line matching ${re}; stdout: ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, Math.min(left, 200));
      });
      clearTimeout(timer);
    }
  }

  /** Waits for the exit (killing the process after `timeoutMs`) and all output. */
  async exit(timeoutMs = 15_000): Promise<number> {
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const status = await this.child.status;
    clearTimeout(timer);
    await this.#stdin.close().catch(() => {});
    await this.#reading;
    return status.code;
  }

  /** Kills the client if it still runs, then waits for its exit (cleanup after a failure). */
  async stop(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.exit();
  }

  /** stderr without Deno's own warnings. */
  get errors(): string {
    return this.stderr.split("\n").filter((l) => l && !l.includes("Warning")).join("\n");
  }
}

/** Runs the client to completion with `input` on stdin. */
async function run(args: string[], input = ""): Promise<{ code: number; proc: ConsoleProcess }> {
  const proc = new ConsoleProcess(args);
  try {
    await proc.write(input);
    await proc.endInput();
  } catch {
    // The client may exit before reading its input (bad options): nothing to deliver then.
  }
  return { code: await proc.exit(), proc };
}

Deno.test("console: piped lines reach another client exactly once, then exit 0", async () => {
  const srv = await startTestServer();
  const { client: peer } = await TestClient.join(srv.wsUrl({ room: "pipe", name: "peer" }));
  try {
    const url = srv.wsUrl().split("?")[0];
    const { code, proc } = await run(
      ["--url", url, "--room", "pipe", "--name", "bot"],
      "one\ntwo\n\nthree\n",
    );
    assert.equal(code, 0, proc.errors);
    assert.equal(proc.lines[0], `Connected to ${url} (room pipe, 2 online)`);
    assert.equal(proc.lines.at(-1), "* All 3 line(s) delivered");
    await peer.next((f) => f.type === "message" && f.text === "three");
    await peer.quietFor(150);
    const got = peer.ofType("message").map((m: { text: string; name: string }) => [m.name, m.text]);
    assert.deepEqual(got, [["bot", "one"], ["bot", "two"], ["bot", "three"]]);
  } finally {
    await peer.close();
    await srv.stop();
  }
});

Deno.test("console: incoming messages print as [HH:MM:SS] name: text; sair exits 0", async () => {
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
    assert.equal(await proc.exit(), 0, proc.errors);
    assert.equal(proc.errors, "");
  } finally {
    await peer?.close();
    await proc.stop();
    await srv.stop();
  }
});

Deno.test("console: survives a server restart on the same port, nothing lost or doubled", async () => {
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
    assert.equal(await proc.exit(), 0, proc.errors);
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
});

Deno.test("console: a wrong URL is a clear error and exit 1", async () => {
  const refused = await run(["--url", `ws://127.0.0.1:${freePort()}/ws`], "hi\n");
  assert.equal(refused.code, 1);
  assert.match(
    refused.proc.errors,
    /^error: could not connect to ws:\/\/127\.0\.0\.1:\d+\/ws \(nothing answered/,
  );
  const scheme = await run(["--url", "ftp://example.test/ws"], "hi\n");
  assert.equal(scheme.code, 1);
  assert.equal(
    scheme.proc.errors,
    'error: url must use ws:// or wss://, got "ftp://example.test/ws"',
  );
});

Deno.test("console: bad options exit 2 with one line; --help exits 0", async () => {
  const bad = await run(["--room"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.proc.errors, "error: --room needs a value; see --help");
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.proc.lines.join("\n"), /--url <ws-url>[\s\S]*--json[\s\S]*Exit codes/);
});
