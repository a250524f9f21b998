import assert from "node:assert/strict";
import {
  DEFAULT_KV,
  denoKvPeers,
  exitOnSignals,
  listen,
  loadConfigOrExit,
  openDenoKv,
  printUrls,
} from "../../lib/server/deno_server.ts";
import { createLogger } from "../../lib/shared/log.ts";
import { loadConfig } from "../../lib/shared/config.ts";
import type { Fanout } from "../../lib/server/fanout.ts";
import { freePort } from "../helpers/server.ts";
import { MemoryEngine } from "../../lib/engine/memory/memory_engine.ts";

Deno.test("loadConfigOrExit: a bad variable gives one line naming it and exit 1", () => {
  const printed: string[] = [];
  const exit = (code: number): never => {
    throw new Error(`exit ${code}`);
  };
  assert.throws(() => loadConfigOrExit({ PORT: "abc" }, exit, (l) => printed.push(l)), /exit 1/);
  assert.deepEqual(printed, [
    'fanout: cannot start: PORT must be an integer from 0 to 65535, got "abc"',
  ]);
  assert.equal(loadConfigOrExit({ PORT: "9000" }, exit).port, 9000);
});

Deno.test("printUrls: a sentence for people, one server.listening event in json", () => {
  const lines: string[] = [];
  const url = new URL("http://localhost:8000/");
  printUrls(url, "pretty", (l) => lines.push(l));
  // Every argument print gets is printed (console.log prints them all).
  const print = (...args: unknown[]) => void lines.push(args.join(" "));
  printUrls(new URL("https://chat.example/"), "json", print, () => 0);
  assert.equal(
    lines[0],
    "Fanout listening on http://localhost:8000/  (WebSocket: ws://localhost:8000/ws)",
  );
  assert.deepEqual(JSON.parse(lines[1]), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    event: "server.listening",
    http: "https://chat.example/",
    ws: "wss://chat.example/ws",
  });
});

Deno.test("exitOnSignals: a signal stops the server once; further signals are ignored", async () => {
  const handlers = new Map<string, () => void>();
  const lines: string[] = [];
  const exits: number[] = [];
  let shutdowns = 0;
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  exitOnSignals(() => (shutdowns++, stopped), 1000, {
    logger: createLogger({ format: "json", write: (l) => lines.push(l) }),
    exit: (code) => void exits.push(code),
    addSignalListener: (signal, handler) => handlers.set(signal, handler),
  });
  assert.deepEqual([...handlers.keys()], ["SIGINT", "SIGTERM"]);
  // A signal sent to the whole process group (`timeout`, `deno task`) arrives more than once.
  handlers.get("SIGTERM")!();
  handlers.get("SIGTERM")!();
  handlers.get("SIGINT")!();
  resolve();
  await stopped;
  await Promise.resolve();
  assert.equal(shutdowns, 1);
  assert.deepEqual(exits, [0]);
  const events = lines.map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => [e.event, e.signal]), [
    ["server.stopping", "SIGTERM"],
    ["server.stopped", undefined],
  ]);
});

Deno.test("openDenoKv: another worker's SQLite lock is waited out; a lock that stays, or anything else, fails", async () => {
  const waits: number[] = [];
  const sleep = (ms: number) => (waits.push(ms), Promise.resolve());
  const locked = () => Promise.reject(new Error("database is locked"));
  let tries = 0;
  const kv = await openDenoKv(":memory:", {
    open: (path) => ++tries <= 2 ? locked() : Deno.openKv(path),
    sleep,
  });
  try {
    assert.equal(tries, 3);
    assert.deepEqual(waits, [5, 10]);
    assert.notEqual((await kv.get(["meta", "opened"])).value, null);
  } finally {
    kv.close();
  }
  waits.length = 0;
  await assert.rejects(
    openDenoKv("x.sqlite3", { open: locked, sleep }),
    /KV_PATH "x.sqlite3": cannot be used as a Deno KV store: database is locked/,
  );
  assert.equal(waits.length, 39, "40 tries in all");
  assert.equal(waits.reduce((a, b) => a + b, 0), 5 + 10 + 20 + 40 + 80 + 34 * 100);
  waits.length = 0;
  await assert.rejects(
    openDenoKv("y.sqlite3", {
      open: () => Promise.reject(new Error("file is not a database")),
      sleep,
    }),
    /KV_PATH "y.sqlite3": cannot be used as a Deno KV store: file is not a database/,
  );
  assert.deepEqual(waits, [], "anything else fails at once");
});

Deno.test("KV_PATH=:default: opens Deno.openKv() without a path (Deploy's managed KV) and one channel for it", async () => {
  const paths: (string | undefined)[] = [];
  const kv = await openDenoKv(DEFAULT_KV, {
    open: (path) => (paths.push(path), Deno.openKv(":memory:")),
  });
  kv.close();
  assert.deepEqual(paths, [undefined], "no path, and no folder made for it");
  const a = denoKvPeers(DEFAULT_KV)!;
  const b = denoKvPeers(DEFAULT_KV)!;
  const other = denoKvPeers("data/other.sqlite3")!;
  try {
    const heard: unknown[] = [];
    const got = new Promise<void>((resolve) => b.listen((m) => (heard.push(m), resolve())));
    other.listen((m) => heard.push(["wrong channel", m]));
    a.post({ kind: "hello", from: "w1" });
    await got;
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(heard, [{ kind: "hello", from: "w1" }]);
  } finally {
    for (const c of [a, b, other]) c.close();
  }
  assert.equal(denoKvPeers(":memory:"), null);
});

Deno.test("listen: beforeServing runs with the port bound and nothing accepted; a client that comes meanwhile is served after it", async () => {
  const port = freePort();
  const gate = Promise.withResolvers<void>();
  let given: Fanout | undefined;
  const starting = listen(
    loadConfig({ HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "error" }),
    {
      logger: createLogger({ write: () => {} }),
      beforeServing: (fanout) => {
        given = fanout;
        return gate.promise;
      },
    },
  );
  while (given === undefined) await new Promise((r) => setTimeout(r, 1));
  // The port is bound: the kernel completes the TCP handshake into the backlog.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"));
    const buf = new Uint8Array(4096);
    const reading = conn.read(buf);
    const early = await Promise.race([
      reading.then(() => "answered"),
      new Promise((r) => setTimeout(() => r("waiting"), 100)),
    ]);
    assert.equal(early, "waiting", "nothing is accepted before beforeServing is done");
    gate.resolve();
    const server = await starting;
    try {
      assert.equal(server.fanout, given);
      const n = await reading;
      assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200 /);
    } finally {
      await server.shutdown();
    }
  } finally {
    conn.close();
  }
});

Deno.test("listen: a beforeServing that throws closes the port and the engine, and listen rejects with it", async () => {
  const port = freePort();
  let closed = 0;
  const engine = new MemoryEngine({ historySize: 10, dedupTtlMs: 1000, roomTtlMs: 1000 });
  const close = engine.close.bind(engine);
  engine.close = () => (closed++, close());
  await assert.rejects(
    listen(loadConfig({ HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "error" }), {
      logger: createLogger({ write: () => {} }),
      engine,
      beforeServing: () => Promise.reject(new Error("warm-up broke")),
    }),
    /warm-up broke/,
  );
  assert.equal(closed, 1, "the engine was closed");
  // The port is free again: another server can bind it.
  const again = Deno.listen({ hostname: "127.0.0.1", port });
  again.close();
});
