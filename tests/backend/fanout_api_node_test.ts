/**
 * The backend client runs unchanged under Node: a small `.mjs` script imports
 * `lib/backend/fanout_api.js` by file URL and calls every method against a fake server (Deno.serve
 * on a loopback port answering the API's JSON) with Node's own fetch; the same script runs under
 * Deno too. Needs `node` (skipped loudly outside CI when it is missing, fails in CI).
 */

import assert from "node:assert/strict";
import { envOr, requireBinary, testWithPermissions } from "../helpers/requires.ts";

const KEY = "smoke-key-1";
const MODULE = new URL("../../lib/backend/fanout_api.js", import.meta.url).href;

const NODE = requireBinary("node", [
  ...new Set([
    ...envOr("PATH", "").split(":").filter((dir) => dir !== "").map((dir) => `${dir}/node`),
    "/usr/bin/node",
    "/usr/local/bin/node",
  ]),
]);

interface Seen {
  method: string;
  url: string;
  authorization: string | null;
  contentType: string | null;
  body: unknown;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers });
}

const stored = { room: "lobby", epoch: "e1", offset: 1, id: "e1-1", ts: 1000 };
const message = {
  type: "message",
  room: "lobby",
  offset: 1,
  id: "e1-1",
  from: "api",
  client: null,
  name: "billing",
  data: { order: 7, tags: ["paid"] },
  ts: 1000,
};

/** The fake server: the spec'd answers for the calls of the script, recording each request. */
function startFakeApi(): { url: string; seen: Seen[]; close(): Promise<void> } {
  const seen: Seen[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      const text = await req.text();
      seen.push({
        method: req.method,
        url: `${url.pathname}${url.search}`,
        authorization: req.headers.get("authorization"),
        contentType: req.headers.get("content-type"),
        body: text === "" ? null : JSON.parse(text),
      });
      if (req.headers.get("authorization") !== `Bearer ${KEY}`) {
        return json(401, { error: { code: "unauthorized", message: "that key is not accepted" } });
      }
      switch (`${req.method} ${url.pathname}`) {
        case "POST /api/rooms/lobby/messages":
          return json(201, stored);
        case "POST /api/rooms/busy/messages":
          return json(429, { error: { code: "rate_limited", message: "slow down" } }, {
            "retry-after": "3",
          });
        case "POST /api/broadcast":
          return json(200, {
            results: [
              { ...stored, status: 201 },
              { room: "b", status: 503, error: { code: "unavailable", message: "engine down" } },
            ],
          });
        case "GET /api/rooms/lobby/history":
          return json(200, {
            room: "lobby",
            epoch: "e1",
            offset: 1,
            recovered: true,
            messages: [message],
          });
        case "GET /api/rooms/lobby/presence":
          return json(200, {
            room: "lobby",
            online: 1,
            members: [{
              id: "c1-1",
              user: "u_1",
              name: "Ann",
              info: { team: "ops" },
              client: null,
            }],
          });
        case "GET /api/rooms/proxy/presence":
          return new Response("<h1>Bad Gateway</h1>", {
            status: 502,
            headers: { "content-type": "text/html" },
          });
        case "GET /api/rooms/slow/history": {
          // The headers at once, then a body that never ends (until the client gives up).
          const body = new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"room":'));
              req.signal.addEventListener("abort", () => controller.close());
            },
          });
          return new Response(body, { headers: { "content-type": "application/json" } });
        }
        case "GET /api/rooms":
          return json(200, {
            rooms: [{ room: "lobby", online: 1, offset: 1, epoch: "e1" }],
            next: "lobby",
          });
        case "POST /api/disconnect":
          return json(200, { closed: 2 });
      }
      return json(404, { error: { code: "not_found", message: `no ${url.pathname}` } });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => server.shutdown(),
  };
}

/** A loopback URL where nothing listens. */
function closedUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

/** The script both runtimes run: every method, then every kind of error, as one JSON line. */
function script(base: string, closed: string): string {
  return `import { FanoutApi, FanoutApiError } from ${JSON.stringify(MODULE)};

const api = new FanoutApi({ url: ${JSON.stringify(base)}, key: ${
    JSON.stringify(KEY)
  }, timeoutMs: 1000 });
async function failure(call) {
  try {
    await call();
    return "resolved";
  } catch (e) {
    const { name, status, code, message, retryAfterSeconds } = e;
    return { apiError: e instanceof FanoutApiError, error: e instanceof Error, name, status, code, message, retryAfterSeconds };
  }
}
const out = {
  publish: await api.publish("lobby", { text: "hi", data: { n: null }, ref: "r-1" }),
  broadcast: await api.broadcast(["lobby", "b"], { data: null }),
  history: await api.history("lobby", { since: 0, epoch: "e1", limit: 10 }),
  presence: await api.presence("lobby", { limit: 5 }),
  rooms: await api.rooms({ limit: 1, after: "a b" }),
  disconnect: await api.disconnect({ user: "u_1", reconnect: false, reason: "bye" }),
  rateLimited: await failure(() => api.publish("busy", { text: "x" })),
  unauthorized: await failure(() => new FanoutApi({ url: ${
    JSON.stringify(base)
  }, key: "wrong-key" }).rooms()),
  proxy: await failure(() => api.presence("proxy")),
  timeout: await failure(() => new FanoutApi({ url: ${JSON.stringify(base)}, key: ${
    JSON.stringify(KEY)
  }, timeoutMs: 200 }).history("slow")),
  network: await failure(() => new FanoutApi({ url: ${JSON.stringify(closed)}, key: ${
    JSON.stringify(KEY)
  } }).rooms()),
  invalidRoom: await failure(() => api.publish("Bad Room", { text: "x" })),
};
console.log(JSON.stringify(out));
`;
}

/** What the script must print, whatever the runtime. */
function expected(closed: string) {
  const apiError = (fields: Record<string, unknown>) => ({
    apiError: true,
    error: true,
    name: "FanoutApiError",
    ...fields,
  });
  return {
    publish: stored,
    broadcast: {
      results: [
        { ...stored, status: 201 },
        { room: "b", status: 503, error: { code: "unavailable", message: "engine down" } },
      ],
    },
    history: { room: "lobby", epoch: "e1", offset: 1, recovered: true, messages: [message] },
    presence: {
      room: "lobby",
      online: 1,
      members: [{ id: "c1-1", user: "u_1", name: "Ann", info: { team: "ops" }, client: null }],
    },
    rooms: { rooms: [{ room: "lobby", online: 1, offset: 1, epoch: "e1" }], next: "lobby" },
    disconnect: { closed: 2 },
    rateLimited: apiError({
      status: 429,
      code: "rate_limited",
      message: "slow down",
      retryAfterSeconds: 3,
    }),
    unauthorized: apiError({
      status: 401,
      code: "unauthorized",
      message: "that key is not accepted",
    }),
    proxy: apiError({
      status: 502,
      code: "http_502",
      message:
        "GET /api/rooms/proxy/presence answered 502 without Fanout's error JSON (content-type text/html)",
    }),
    timeout: apiError({
      status: 0,
      code: "timeout",
      message: "GET /api/rooms/slow/history took longer than 200 ms",
    }),
    network: apiError({
      status: 0,
      code: "network",
      message: `GET /api/rooms to ${closed} failed`,
    }),
    invalidRoom: apiError({
      status: 0,
      code: "invalid_room",
      message: 'room must be 1-64 characters of a-z, 0-9, _ and -, got "Bad Room"',
    }),
  };
}

/** The requests the script made, in order (the fake server's record). */
const REQUESTS = [
  ["POST", "/api/rooms/lobby/messages", { text: "hi", data: { n: null }, ref: "r-1" }],
  ["POST", "/api/broadcast", { data: null, rooms: ["lobby", "b"] }],
  ["GET", "/api/rooms/lobby/history?since=0&epoch=e1&limit=10", null],
  ["GET", "/api/rooms/lobby/presence?limit=5", null],
  ["GET", "/api/rooms?limit=1&after=a%20b", null],
  ["POST", "/api/disconnect", { user: "u_1", reconnect: false, reason: "bye" }],
  ["POST", "/api/rooms/busy/messages", { text: "x" }],
  ["GET", "/api/rooms/proxy/presence", null],
  ["GET", "/api/rooms/slow/history", null],
];

/** Runs the script with `command`, checks its output and the requests the fake server saw. */
async function runScript(command: string, args: string[]): Promise<void> {
  const api = startFakeApi();
  const dir = await Deno.makeTempDir({ prefix: "fanout_api_smoke_" });
  try {
    const closed = closedUrl();
    const path = `${dir}/smoke.mjs`;
    await Deno.writeTextFile(path, script(api.url, closed));
    const run = await new Deno.Command(command, {
      args: [...args, path],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${stdout}\nstderr: ${stderr}`);
    assert.equal(stderr, "", "no warning either (e.g. Node's module type detection)");
    assert.equal(stdout.includes(KEY), false, "the key never appears in the output");
    const out = JSON.parse(stdout);
    // The network error's reason is the runtime's own words; the start of it is the client's.
    const network = out.network.message as string;
    assert.ok(network.startsWith(`GET /api/rooms to ${closed} failed: `), network);
    out.network.message = network.slice(0, network.indexOf(" failed") + " failed".length);
    assert.deepEqual(out, expected(closed));

    const seen = api.seen.filter((r) => r.authorization === `Bearer ${KEY}`);
    assert.deepEqual(seen.map((r) => [r.method, r.url, r.body]), REQUESTS);
    for (const r of seen) {
      assert.equal(r.contentType, r.method === "POST" ? "application/json" : null, r.url);
    }
    assert.deepEqual(
      api.seen.filter((r) => r.authorization !== `Bearer ${KEY}`).map((r) => r.authorization),
      ["Bearer wrong-key"],
    );
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "backend client under Node: every method and every kind of error with Node's fetch",
  ignore: NODE.ignore,
  fn: () => runScript(NODE.path, []),
});

testWithPermissions(
  "backend client under Deno: the same script with Deno's fetch, as a backend would import it",
  () => runScript(Deno.execPath(), ["run", "--no-config", "--no-lock", "--allow-net=127.0.0.1"]),
);
