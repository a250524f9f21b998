/**
 * The handshake half of the bad-input matrix: hostile query values and headers get their exact
 * HTTP status and a reason naming the field, before any upgrade, and the room notices nothing.
 */

import assert from "node:assert/strict";
import { RawWs } from "../helpers/raw_ws.ts";
import { LOOPBACK_CLIENTS, startTestServer } from "../helpers/server.ts";
import { createFanout } from "../../lib/server/fanout.ts";
import { loadConfig } from "../../lib/shared/config.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

interface HandshakeCase {
  name: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** The `Host` header (default `127.0.0.1:<port>`). */
  host?: string;
  /** Offered subprotocols (default `fanout.v1`). */
  protocols?: string[];
  upgrade?: boolean;
  status: number;
  reason: RegExp;
}

const CASES: HandshakeCase[] = [
  { name: "plain GET", upgrade: false, status: 426, reason: /speaks WebSocket/ },
  { name: "room with a space", query: { room: "Bad Room" }, status: 400, reason: /room must be/ },
  { name: "room in capitals", query: { room: "LOBBY" }, status: 400, reason: /room must be/ },
  { name: "empty room", query: { room: "" }, status: 400, reason: /room must be/ },
  {
    name: "room of 65 chars",
    query: { room: "r".repeat(65) },
    status: 400,
    reason: /room must be/,
  },
  { name: "room with a slash", query: { room: "../etc" }, status: 400, reason: /room must be/ },
  { name: "blank name", query: { name: "   " }, status: 400, reason: /name must be 1-32/ },
  {
    name: "name of 33 chars",
    query: { name: "n".repeat(33) },
    status: 400,
    reason: /name must be 1-32/,
  },
  { name: "name with BEL", query: { name: "bell\u0007" }, status: 400, reason: /control or bidi/ },
  { name: "name with NUL", query: { name: "a\u0000b" }, status: 400, reason: /control or bidi/ },
  { name: "name with newline", query: { name: "a\nb" }, status: 400, reason: /control or bidi/ },
  {
    name: "name with RLO override",
    query: { name: "ann\u202Egpj.exe" },
    status: 400,
    reason: /control or bidi/,
  },
  {
    name: "name with LRI isolate",
    query: { name: "\u2066x" },
    status: 400,
    reason: /control or bidi/,
  },
  {
    name: "name with RLM mark",
    query: { name: "x\u200F" },
    status: 400,
    reason: /control or bidi/,
  },
  {
    name: "name with ALM mark",
    query: { name: "x\u061Cy" },
    status: 400,
    reason: /control or bidi/,
  },
  { name: "name with DEL", query: { name: "x\u007F" }, status: 400, reason: /control or bidi/ },
  {
    name: "short client id",
    query: { client: "short" },
    status: 400,
    reason: /client must be 8-64/,
  },
  {
    name: "client id with !",
    query: { client: "abcdefgh!" },
    status: 400,
    reason: /client must be/,
  },
  { name: "since without epoch", query: { since: "3" }, status: 400, reason: /since and epoch/ },
  { name: "epoch without since", query: { epoch: "e1" }, status: 400, reason: /since and epoch/ },
  {
    name: "negative since",
    query: { since: "-1", epoch: "e1" },
    status: 400,
    reason: /since must be/,
  },
  {
    name: "since in exponent form",
    query: { since: "1e3", epoch: "e1" },
    status: 400,
    reason: /since must be/,
  },
  {
    name: "huge since",
    query: { since: "9".repeat(30), epoch: "e1" },
    status: 400,
    reason: /since must be/,
  },
  {
    name: "epoch with a space",
    query: { since: "1", epoch: "e 1" },
    status: 400,
    reason: /epoch must be/,
  },
  {
    name: "Upgrade without Connection: Upgrade",
    upgrade: false,
    headers: { Upgrade: "websocket", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
    status: 400,
    reason: /invalid WebSocket handshake: 'connection' header must contain 'Upgrade'/,
  },
  {
    name: "Upgrade without Sec-WebSocket-Key",
    upgrade: false,
    headers: { Upgrade: "websocket", Connection: "Upgrade" },
    status: 400,
    reason: /invalid WebSocket handshake: 'sec-websocket-key' header must be set/,
  },
  {
    name: "foreign Origin",
    headers: { Origin: "http://evil.example" },
    status: 403,
    reason: /origin http:\/\/evil.example is not allowed: set PUBLIC_URL .*, or ALLOWED_ORIGINS/,
  },
  {
    name: "DNS rebinding: Host and Origin both the attacker's domain",
    host: "evil.test:8000",
    headers: { Origin: "http://evil.test:8000" },
    status: 403,
    reason: /origin http:\/\/evil.test:8000 is not allowed: set PUBLIC_URL/,
  },
  {
    name: "https Origin to an http server",
    host: "127.0.0.1:8000",
    headers: { Origin: "https://127.0.0.1:8000" },
    status: 403,
    reason: /origin https:\/\/127.0.0.1:8000 is not allowed/,
  },
  {
    name: "Origin of 2000 characters",
    headers: { Origin: `http://${"a".repeat(2000)}.test` },
    status: 403,
    reason: /origin http:\/\/a{93}… is not allowed/,
  },
  {
    name: "Origin null",
    headers: { Origin: "null" },
    status: 403,
    reason: /origin null is not allowed/,
  },
  {
    name: "same host on another port",
    headers: { Origin: "http://127.0.0.1:1" },
    status: 403,
    reason: /not allowed/,
  },
  {
    name: "Sec-WebSocket-Protocol over 16 KiB",
    protocols: ["fanout.v1", "x".repeat(16 * 1024 - 10)],
    status: 400,
    reason: /Sec-WebSocket-Protocol must be at most 16384 characters, got 16385/,
  },
  {
    name: "request head over MAX_HEADER_BYTES",
    headers: { "X-Filler": "x".repeat(70_000) },
    status: 431,
    reason: /request head is larger than 65536 bytes/,
  },
];

testWithPermissions(
  "bad handshake: each hostile query or header gets its status and reason",
  async () => {
    // Heads up to 64 KiB, so that the 16 KiB cap on the subprotocol header is what answers.
    const srv = await startTestServer({ MAX_HEADER_BYTES: "65536" });
    const { client: witness } = await TestClient.join(srv.wsUrl({ room: "lobby" }));
    try {
      for (const c of CASES) {
        const query = new URLSearchParams(c.query ?? {});
        const hs = await RawWs.connect(srv.server.port, `/ws?${query}`, {
          headers: c.headers,
          host: c.host,
          upgrade: c.upgrade,
          protocols: c.protocols ?? ["fanout.v1"],
        });
        hs.ws?.abort();
        assert.equal(hs.status, c.status, `case "${c.name}": ${hs.body}`);
        assert.match(hs.body, c.reason, `case "${c.name}"`);
        assert.ok(hs.body.length < 300, `case "${c.name}": the reason is one short line`);
      }
      // Positive controls: a subprotocol header of exactly 16 KiB is read (and JSON mode chosen)...
      const atCap = await RawWs.connect(srv.server.port, "/ws?room=elsewhere", {
        protocols: ["fanout.v1", "x".repeat(16 * 1024 - 11)],
      });
      atCap.ws?.abort();
      assert.equal(atCap.status, 101, atCap.body);
      assert.equal(atCap.headers.get("sec-websocket-protocol"), "fanout.v1");
      // ...pages on localhost names and IP literals, served by this server, may connect...
      for (const host of ["localhost:8000", "app.localhost:8000", "10.0.0.5:8000", "[::1]:8000"]) {
        const local = await RawWs.connect(srv.server.port, "/ws?room=elsewhere", {
          host,
          headers: { Origin: `http://${host}` },
          protocols: ["fanout.v1"],
        });
        local.ws?.abort();
        assert.equal(local.status, 101, `Origin http://${host}: ${local.body}`);
      }
      // ...and accents, emoji and a resume are fine.
      const ok = await TestClient.join(
        srv.wsUrl({ name: "Zoë 😀", client: "client-123", since: "0", epoch: "old-epoch" }),
      );
      assert.equal(ok.welcome.recovered, false);
      await witness.next((f) => f.type === "presence" && f.joined?.name === "Zoë 😀");
      await ok.client.close();
      await witness.next((f) => f.type === "presence" && f.left?.id === ok.welcome.id);
      const ids = new Set([witness.frames[0].id, ok.welcome.id]);
      for (const f of witness.frames.filter((f) => f.type === "presence")) {
        const who = f.joined?.id ?? f.left?.id;
        assert.ok(ids.has(who), `a refused handshake was announced: ${JSON.stringify(f)}`);
        assert.equal(f.joins ?? 0, 0, "no coalesced joins either");
      }
      const stats = await (await fetch(srv.httpUrl("/api/stats"))).json();
      assert.equal(stats.connections, 1);
      console.log(`bad-handshake matrix: ${CASES.length} cases`);
    } finally {
      await witness.close();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "bad handshake: past MAX_CONNECTIONS the handshake gets 503, a witness sees nothing, and a freed slot is reused",
  async () => {
    const srv = await startTestServer({ MAX_CONNECTIONS: "3" });
    const clients: TestClient[] = [];
    try {
      for (let i = 0; i < 3; i++) clients.push((await TestClient.join(srv.wsUrl())).client);
      const [speaker, witness] = clients;
      await witness.next((f) => f.type === "presence" && f.online === 3);
      await witness.quietFor(50); // presence of the first joins is over
      const mark = witness.frames.length;
      for (let i = 0; i < 5; i++) {
        const hs = await RawWs.connect(srv.server.port, "/ws", { protocols: ["fanout.v1"] });
        hs.ws?.abort();
        assert.equal(hs.status, 503);
        assert.match(hs.body, /server is full \(3 connections\)/);
        assert.equal(hs.headers.get("retry-after"), "5");
      }
      // Others are unaffected: they still talk, and the witness saw nothing else (no presence).
      speaker.send({ type: "message", text: "still here" });
      await witness.next((f) => f.type === "message" && f.text === "still here");
      await witness.quietFor(100);
      assert.deepEqual(
        witness.frames.slice(mark).map((f) => [f.type, f.text]),
        [["message", "still here"]],
        "refused handshakes reach nobody",
      );
      await clients.pop()!.close();
      let again: TestClient | null = null;
      for (let i = 0; i < 50 && !again; i++) {
        again = await TestClient.join(srv.wsUrl()).then((j) => j.client, () => null);
        if (!again) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(again, "a freed slot can be used again");
      clients.push(again);
      const metrics = await (await fetch(srv.httpUrl("/metrics"))).text();
      assert.match(metrics, /^fanout_rejected_total\{reason="handshake_full"\} [5-9]$/m);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await srv.stop();
    }
  },
);

testWithPermissions(
  "bad handshake: with PUBLIC_URL only its origins and ALLOWED_ORIGINS connect; the witness sees nothing of the rest",
  async () => {
    const srv = await startTestServer({
      PUBLIC_URL: "https://chat.example.com/",
      ALLOWED_ORIGINS: "http://tools.example:8080",
    });
    const { client: witness } = await TestClient.join(srv.wsUrl({ room: "lobby" }));
    const refused: [string, string][] = [
      ["http://chat.example.com", "chat.example.com"], // the public host, another scheme
      ["https://chat.example.com:8443", "chat.example.com:8443"],
      ["https://evil.test", "evil.test"],
      [`http://127.0.0.1:${srv.server.port}`, `127.0.0.1:${srv.server.port}`], // no fallback now
      ["null", "chat.example.com"],
    ];
    try {
      await witness.quietFor(50);
      const mark = witness.frames.length;
      for (const [origin, host] of refused) {
        const hs = await RawWs.connect(srv.server.port, "/ws", {
          host,
          headers: { Origin: origin },
          protocols: ["fanout.v1"],
        });
        hs.ws?.abort();
        assert.equal(hs.status, 403, `Origin ${origin}: ${hs.body}`);
        assert.match(hs.body, /is not allowed: set PUBLIC_URL to this server's public origin/);
      }
      // Behind a TLS proxy the Host is whatever the proxy sends: only the Origin counts.
      for (const origin of ["https://chat.example.com", "http://tools.example:8080"]) {
        const hs = await RawWs.connect(srv.server.port, "/ws?room=elsewhere", {
          host: "10.0.0.5:8000",
          headers: { Origin: origin },
          protocols: ["fanout.v1"],
        });
        hs.ws?.abort();
        assert.equal(hs.status, 101, `Origin ${origin}: ${hs.body}`);
      }
      await witness.quietFor(100);
      assert.deepEqual(witness.frames.slice(mark), [], "refused handshakes reach nobody");
      const metrics = await (await fetch(srv.httpUrl("/metrics"))).text();
      assert.match(metrics, /^fanout_rejected_total\{reason="handshake_origin"\} 5$/m);
    } finally {
      await witness.close();
      await srv.stop();
    }
  },
);

/** Sends `head` on a new TCP connection and reads the answer's head (a HEAD's has no body). */
async function rawExchange(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head));
    let text = "";
    const buf = new Uint8Array(4096);
    for (let n; !text.includes("\r\n\r\n") && (n = await conn.read(buf)) !== null;) {
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the server.
    }
  }
}

const UPGRADE_HEADERS = "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
  "Sec-WebSocket-Protocol: fanout.v1\r\n";

testWithPermissions(
  "bad handshake: a HEAD /ws with upgrade headers is a 405 and holds nothing (it used to hold a socket for ever)",
  async () => {
    const srv = await startTestServer({
      MAX_CONNECTIONS_PER_IP: "3",
      HANDSHAKE_RATE_PER_IP: "100",
    });
    try {
      for (let i = 0; i < 6; i++) {
        const answer = await rawExchange(
          srv.server.port,
          `HEAD /ws?room=lobby HTTP/1.1\r\nHost: 127.0.0.1\r\n${UPGRADE_HEADERS}Connection: close\r\n\r\n`,
        );
        assert.match(answer, /^HTTP\/1\.1 405 /, answer);
        assert.match(answer, /\r\nallow: GET\r\n/i, answer);
      }
      const stats = await (await fetch(srv.httpUrl("/api/stats"))).json();
      assert.equal(stats.connections, 0, "no socket held by the HEADs");
      // The address's 3 connections are all free: 3 real clients get in.
      const joined = [];
      for (let i = 0; i < 3; i++) joined.push((await TestClient.join(srv.wsUrl())).client);
      for (const c of joined) await c.close();
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions(
  "bad handshake: through the route table (deno serve's path), a HEAD /ws is a 405 before any upgrade",
  async () => {
    const upgrades: string[] = [];
    const fanout = createFanout(loadConfig({ ...LOOPBACK_CLIENTS }), {
      upgrade: (req) => {
        upgrades.push(req.method);
        throw new Error("no upgrade expected");
      },
      logger: silentLogger,
    });
    const headers = Object.fromEntries(
      UPGRADE_HEADERS.trim().split("\r\n").map((l) => l.split(": ") as [string, string]),
    );
    const res = await fanout.fetch(
      new Request("http://127.0.0.1:8000/ws?room=lobby", { method: "HEAD", headers }),
      { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 } },
    );
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET");
    assert.deepEqual(upgrades, []);
    assert.equal(fanout.deps.hub.size, 0);
    await fanout.deps.engine.close();
  },
);
