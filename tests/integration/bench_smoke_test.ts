/**
 * Smoke test of `deno task bench`: the whole suite in `--quick` mode (tiny numbers) against
 * both servers (`api-publish` against Fanout alone, over HTTP and from a socket; `rooms` against
 * Fanout alone, many rooms per connection and one; `restart` on the memory and KV engines),
 * `--engine kv` (Fanout on KV beside Fanout on memory), asserting zero loss and duplicates, every
 * ack counted and sane output, never timings; the `rooms` layout; and the load generator's frame
 * parser on every read boundary.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseFlags, scenarioParams } from "../../bench/flags.ts";
import { FrameScanner } from "../../bench/frame_scanner.ts";
import { runInproc } from "../../bench/inproc_fanout.ts";
import { runInprocConnect } from "../../bench/inproc_connect.ts";
import { clientTextFrame, LoadClient } from "../../bench/load_client.ts";
import { median } from "../../bench/report.ts";
import { roomsEnv, roomsLayout } from "../../bench/rooms_scenario.ts";
import { threadCpuSince, threadCpuTimes } from "../../bench/servers.ts";
import { maskedFrame, Op } from "../helpers/masked_frames.ts";
import { testWithPermissions } from "../helpers/requires.ts";

/**
 * Per scenario, per column (baseline and fanout; http and socket for api-publish; many and single
 * for rooms), per round.
 */
type Rows = Record<string, Record<string, Record<string, number>[]>>;

testWithPermissions("bench flags: defaults, overrides and errors", () => {
  const quick = parseFlags(["--quick", "--scenario", "fanout", "--clients=7"]);
  assert.deepEqual(quick.scenarios, ["fanout"]);
  assert.equal(scenarioParams("fanout", quick).clients, 7);
  assert.equal(scenarioParams("fanout", quick).senders, 2);
  assert.equal(scenarioParams("fanout", parseFlags([])).clients, 1000);
  assert.throws(() => parseFlags(["--scenario", "nope"]), /--scenario must be one of/);
  assert.throws(() => parseFlags(["--clients", "x"]), /--clients needs a non-negative number/);
  assert.throws(() => parseFlags(["--bogus"]), /unknown flag "--bogus"/);
  assert.equal(scenarioParams("fanout-100", parseFlags([])).clients, 100);
  assert.equal(scenarioParams("fanout-100", parseFlags([])).rate, 0);
  assert.equal(parseFlags(["--serve"]).serve, true);
  assert.equal(parseFlags(["--plain"]).plain, true);
  assert.equal(parseFlags([]).plain, false);
  assert.throws(() => parseFlags(["--serve", "--parallel"]), /--parallel and --serve both/);
  assert.deepEqual(parseFlags(["--peer", " bun  s.ts "]).peer, ["bun", "s.ts"]);
  assert.equal(parseFlags([]).peer, undefined);
  assert.throws(() => parseFlags(["--peer", " "]), /--peer needs a command/);
  assert.equal(parseFlags(["--peer", "node s.mjs", "--plain"]).plain, true, "the peer vs plain");
  assert.equal(median([3, 1, NaN, 2]), 2);
  const api = parseFlags(["--scenario", "api-publish", "--messages", "50"]);
  assert.deepEqual(api.scenarios, ["api-publish"]);
  assert.equal(scenarioParams("api-publish", api).messages, 50);
  assert.equal(scenarioParams("api-publish", api).clients, 100);
  assert.equal(scenarioParams("api-publish", parseFlags([])).messages, 20_000);
  assert.ok(parseFlags([]).scenarios.includes("api-publish"), "all includes api-publish");
  assert.ok(parseFlags(["--scenario", "all"]).scenarios.includes("rooms"), "all includes rooms");
  assert.equal(scenarioParams("rooms", parseFlags([])).clients, 1000);
  assert.equal(scenarioParams("rooms", parseFlags([])).rooms, 5);
  assert.equal(scenarioParams("rooms", parseFlags(["--quick"])).rooms, 3);
  assert.equal(scenarioParams("rooms", parseFlags(["--rooms", "8"])).rooms, 8);
  assert.equal(scenarioParams("fanout", parseFlags([])).rooms, 1);
  assert.throws(() => parseFlags(["--rooms", "-1"]), /--rooms needs a non-negative number/);
  assert.equal(parseFlags([]).engine, "memory");
  assert.equal(parseFlags(["--engine", "kv"]).engine, "kv");
  assert.throws(
    () => parseFlags(["--engine", "disk"]),
    /--engine must be memory or kv, got "disk"/,
  );
  assert.throws(() => parseFlags(["--engine", "kv", "--plain"]), /--engine kv compares/);
  assert.equal(parseFlags(["--against", "/tmp/before"]).against, "/tmp/before");
  assert.equal(parseFlags([]).against, undefined);
  assert.throws(() => parseFlags(["--against", " "]), /--against needs a checkout's directory/);
  for (const other of [["--plain"], ["--serve"], ["--peer", "bun s.ts"], ["--engine", "kv"]]) {
    assert.throws(
      () => parseFlags(["--against", "/tmp/before", ...other]),
      /--against compares two checkouts of main.ts/,
      other.join(" "),
    );
  }
  assert.ok(parseFlags([]).scenarios.includes("restart"), "all includes restart");
  assert.equal(scenarioParams("restart", parseFlags([])).rooms, 1000);
  assert.equal(scenarioParams("restart", parseFlags([])).messages, 1000);
  assert.deepEqual(roomsEnv(32), {});
  assert.deepEqual(roomsEnv(33), { MAX_ROOMS_PER_CONNECTION: "33" });
});

testWithPermissions("bench rooms layout: R distinct rooms per client, rooms of about 100", () => {
  for (
    const [clients, rooms, count, smallest, largest] of [
      [1000, 5, 50, 100, 100], // the default: 5 blocks of 10 rooms
      [20, 3, 12, 5, 5], // --quick: 3 blocks of 4
      [5000, 2, 100, 100, 100],
      [7, 2, 6, 2, 3], // rooms of at least 2 members, whatever the size
      [2, 4, 4, 2, 2],
    ]
  ) {
    const layout = roomsLayout(clients, rooms);
    assert.equal(layout.count, count, `${clients} × ${rooms}`);
    const size = new Array(layout.count).fill(0);
    for (let i = 0; i < clients; i++) {
      const mine = Array.from({ length: rooms }, (_, j) => layout.roomOf(i, j));
      assert.equal(new Set(mine).size, rooms, `client ${i} of ${clients} × ${rooms}: ${mine}`);
      for (const room of mine) size[room]++;
    }
    assert.equal(Math.min(...size), smallest, `${clients} × ${rooms}: ${size}`);
    assert.equal(Math.max(...size), largest, `${clients} × ${rooms}: ${size}`);
  }
  // Clients share some of their rooms, not all or none alike.
  const layout = roomsLayout(1000, 5);
  const shared = (a: number, b: number) =>
    [0, 1, 2, 3, 4].filter((j) => layout.roomOf(a, j) === layout.roomOf(b, j)).length;
  assert.deepEqual([shared(0, 10), shared(0, 1), shared(0, 100)], [1, 0, 5]);
  // The default 10 senders (clients 0-9) are in every room once between them.
  const sent = Array.from(
    { length: 10 },
    (_, x) => [0, 1, 2, 3, 4].map((j) => layout.roomOf(x, j)),
  );
  assert.deepEqual(sent.flat().sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
});

/** Runs `deno task bench` with `args` (from the project's root); its stdout, asserting success. */
async function runBench(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/run.ts", ...args],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `bench failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

testWithPermissions({
  name:
    "bench --quick: every scenario runs (on both servers; api-publish over HTTP and a socket; " +
    "rooms many per connection and one) with no loss and no duplicates",
  async fn() {
    const json = await Deno.makeTempFile({ suffix: ".json" });
    try {
      const stdout = await runBench(["--quick", "--json", json]);
      for (
        const heading of [
          "### fanout (",
          "### fanout-100 (",
          "### fanout-rate (",
          "### idle (",
          "### join-storm (",
          "### api-publish (",
          "### rooms (",
        ]
      ) {
        assert.ok(stdout.includes(heading), `missing table ${heading} in:\n${stdout}`);
      }
      assert.match(stdout, /\| deliveries\/s \| [\d,]+ \| [\d,]+ \| [\d.]+× \|/);
      const rows: Rows = JSON.parse(await Deno.readTextFile(json));
      for (const scenario of ["fanout", "fanout-100", "fanout-rate"]) {
        for (const kind of ["baseline", "fanout"] as const) {
          const r = rows[scenario][kind][0];
          const where = `${scenario}/${kind}: ${JSON.stringify(r)}`;
          assert.ok(r.sent > 0, where);
          assert.equal(r.expected, r.sent * (scenario === "fanout" ? 19 : 9), where);
          assert.equal(r.received, r.expected, where);
          assert.equal(r.lost, 0, where);
          assert.equal(r.duplicates, 0, where);
          assert.equal(r.failedConnections, 0, where);
          assert.ok(r.genCpu >= 0 && r.serverCpu >= 0, where);
          // Fanout acknowledges every message (its ack latency is measured); the baseline none.
          assert.equal(r.acked, kind === "fanout" ? r.sent : 0, where);
          if (kind === "fanout") assert.ok(r.ackP99 >= r.ackP50 && r.ackP50 >= 0, where);
        }
      }
      const restart = stdout.slice(stdout.indexOf("### restart ("));
      assert.match(restart, /\| figure \| memory \| KV \| KV \/ memory \|/);
      for (const engine of ["memory", "kv"] as const) {
        const r = rows.restart[engine][0];
        const where = `restart/${engine}: ${JSON.stringify(r)}`;
        assert.equal(r.filled, 5 * 20, where); // --quick: 5 rooms of 20 messages
        assert.equal(r.missed, 20, where);
        assert.ok(r.healthzMs > 0 && r.recoverMs >= r.healthzMs, where);
        // Only the KV engine brings the room back: the memory engine starts a new epoch.
        assert.equal(r.recovered, engine === "kv" ? 1 : 0, where);
        assert.equal(r.missedReceived, engine === "kv" ? 20 : 0, where);
      }
      for (const kind of ["baseline", "fanout"] as const) {
        assert.equal(rows.idle[kind][0].connections, 50);
        assert.equal(rows.idle[kind][0].failed, 0);
        assert.ok(rows.idle[kind][0].rssAfter > 0);
        assert.equal(rows.connect[kind][0].failedAll, 0);
        assert.ok(rows.connect[kind][0].perSecWarm > 0, JSON.stringify(rows.connect[kind][0]));
        // The server's thread CPU (schedstat) was read: neither NaN nor 0 per connection.
        const us = rows.connect[kind][0].serverUsPerConnectionWarm;
        assert.ok(us > 0 && us < 100_000, `server CPU per connection: ${us} µs`);
        // Its main thread's part and the other threads' add up to it (one pass, the same reads).
        const first = rows.connect[kind][0];
        assert.ok(first.serverMainUsPerConnection > 0, JSON.stringify(first));
        assert.ok(first.serverOtherUsPerConnection >= 0, JSON.stringify(first));
        assert.ok(
          Math.abs(
            first.serverMainUsPerConnection + first.serverOtherUsPerConnection -
              first.serverUsPerConnection,
          ) < 1e-6,
          JSON.stringify(first),
        );
        assert.equal(rows["join-storm"][kind][0].connections, 50);
      }
      const api = stdout.slice(stdout.indexOf("### api-publish ("));
      assert.match(api, /the naive baseline has no server API/);
      assert.match(
        api,
        /\| figure \| WebSocket \(JSON, acks\) \| HTTP POST \| HTTP \/ WebSocket \|/,
      );
      for (
        const label of [
          "messages/s (HTTP: requests/s)",
          "ack/response p50 (ms)",
          "ack/response p90 (ms)",
          "ack/response p99 (ms)",
          "delivery p50 (ms)",
          "delivery p90 (ms)",
          "delivery p99 (ms)",
          "deliveries/s",
          "lost",
          "duplicates",
          "server CPU (% of a core)",
        ]
      ) {
        assert.ok(api.includes(`| ${label} | `), `missing row ${label} in:\n${api}`);
      }
      assert.deepEqual(Object.keys(rows["api-publish"]).sort(), ["http", "socket"]);
      for (const kind of ["http", "socket"] as const) {
        const r = rows["api-publish"][kind][0];
        const where = `api-publish/${kind}: ${JSON.stringify(r)}`;
        assert.equal(r.sent, 200, where); // --quick: 200 messages per phase, 10 members
        assert.equal(r.acked, 200, where);
        assert.equal(r.errors, 0, where);
        assert.equal(r.expected, 200 * 10, where);
        assert.equal(r.received, r.expected, where);
        assert.equal(r.lost, 0, where);
        assert.equal(r.duplicates, 0, where);
        assert.equal(r.failedConnections, 0, where);
        for (const key of ["perSec", "ackP50", "ackP99", "p50", "p99", "deliveriesPerSec"]) {
          assert.ok(Number.isFinite(r[key]) && r[key] >= 0, `${key} of ${where}`);
        }
      }
      const rooms = stdout.slice(stdout.indexOf("### rooms ("));
      assert.match(rooms, /the naive baseline has no rooms protocol/);
      assert.match(
        rooms,
        /\| figure \| 3 rooms per connection \| 1 room per connection \| 1 room \/ 3 rooms \|/,
      );
      for (
        const label of [
          "connections",
          "room memberships",
          "server RSS with all joined (bytes)",
          "server RSS per connection (bytes)",
          "server RSS per room membership (bytes)",
          "server JS heap in use per room membership (bytes)",
          "deliveries/s",
          "p50 latency (ms)",
          "p99 latency (ms)",
          "lost",
          "duplicates",
          "server CPU per delivery (ns)",
          "refused frames and handshakes (server)",
        ]
      ) {
        assert.ok(rooms.includes(`| ${label} | `), `missing row ${label} in:\n${rooms}`);
      }
      assert.deepEqual(Object.keys(rows.rooms).sort(), ["many", "single"]);
      for (const [phase, connections] of [["many", 20], ["single", 60]] as const) {
        const r = rows.rooms[phase][0];
        const where = `rooms/${phase}: ${JSON.stringify(r)}`;
        assert.equal(r.connections, connections, where); // --quick: 20 clients × 3 rooms
        assert.equal(r.memberships, 60, where);
        assert.equal(r.rooms, 12, where); // 3 blocks of 4 rooms of 5 members
        assert.equal(r.failedConnections, 0, where);
        assert.equal(r.refused, 0, where);
        assert.ok(r.sent > 0, where);
        assert.equal(r.expected, r.sent * 4, where); // each message to the 4 others of its room
        assert.equal(r.received, r.expected, where);
        assert.equal(r.lost, 0, where);
        assert.equal(r.duplicates, 0, where);
        for (
          const key of [
            "rssAfter",
            "rssPerMembership",
            "heapAfter",
            "deliveriesPerSec",
            "p50",
            "p99",
          ]
        ) {
          assert.ok(Number.isFinite(r[key]), `${key} of ${where}`);
        }
        assert.ok(r.rssAfter > 0, where);
      }
      const storm = rows["join-storm"].fanout[0];
      assert.ok(storm.presenceFrames >= 1, `no presence frames: ${JSON.stringify(storm)}`);
      assert.ok(storm.presenceFrames <= 5 * 50, `presence is not O(N): ${JSON.stringify(storm)}`);
    } finally {
      await Deno.remove(json);
    }
  },
});

testWithPermissions({
  name:
    "bench --quick --engine kv: Fanout on KV beside Fanout on memory, every ack counted (fanout-rate)",
  async fn() {
    const json = await Deno.makeTempFile({ suffix: ".json" });
    try {
      const stdout = await runBench([
        "--quick",
        "--engine",
        "kv",
        "--scenario",
        "fanout-rate",
        "--json",
        json,
      ]);
      assert.match(stdout, /\| figure \| Fanout memory \| Fanout KV \| KV \/ memory \|/);
      assert.match(stdout, /\| ack p99 \(ms\) \| [\d.]+ \| [\d.]+ \| [\d.]+× \|/);
      const rows: Rows = JSON.parse(await Deno.readTextFile(json));
      for (const scenario of ["fanout-rate"]) {
        for (const kind of ["baseline", "fanout"] as const) {
          const r = rows[scenario][kind][0];
          const where = `${scenario}/${kind} (baseline: memory, fanout: KV): ${JSON.stringify(r)}`;
          assert.ok(r.sent > 0, where);
          assert.equal(r.received, r.expected, where);
          assert.equal(r.lost + r.duplicates + r.failedConnections, 0, where);
          assert.equal(r.acked, r.sent, where);
        }
      }
    } finally {
      await Deno.remove(json);
    }
  },
});

/** Server frame bytes: FIN + opcode, 7/16/64-bit length, unmasked payload. */
function serverFrame(opcode: number, payload: string): Uint8Array {
  return maskedFrame({ opcode, payload, mask: null });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

testWithPermissions(
  "bench frame scanner: counts every marker once, whatever the read boundaries",
  () => {
    const line = (s: number, q: number) =>
      `{"type":"message","room":"r","offset":${q},"text":"#${s}.${q}.${1000 + q}|xxxx","ts":1}`;
    const ndjson = Array.from({ length: 40 }, (_, q) => line(q % 3, q)).join("\n"); // 16-bit length
    const stream = concat([
      serverFrame(1, '{"type":"welcome","history":[]}'),
      serverFrame(1, ndjson),
      serverFrame(9, "hi"), // ping between data frames
      serverFrame(1, "#7.40.5000|plain text"), // plain mode
      serverFrame(1, "#7.41.x|not a marker"),
      serverFrame(1, "#7.1"), // truncated at the frame end: not a marker
      serverFrame(1, "2.3|"), // …and the next frame does not complete it
      serverFrame(2, ""),
    ]);
    for (const step of [1, 2, 3, 7, 64, 1000, stream.length]) {
      const seen: string[] = [];
      const controls: string[] = [];
      const scanner = new FrameScanner({
        onMarker: (s, q, t, now) => seen.push(`${s}.${q}.${t}@${now}`),
        onControl: (op, payload) => controls.push(`${op}:${String.fromCharCode(...payload)}`),
      });
      for (let at = 0; at < stream.length; at += step) {
        scanner.push(stream.subarray(at, at + step), 9);
      }
      const expected = [
        ...Array.from({ length: 40 }, (_, q) => `${q % 3}.${q}.${1000 + q}@9`),
        "7.40.5000@9",
      ];
      assert.deepEqual(seen, expected, `read size ${step}`);
      assert.equal(scanner.markers, 41);
      assert.equal(scanner.frames, 7, `read size ${step}`);
      assert.deepEqual(controls, ["9:hi"]);
    }
  },
);

testWithPermissions(
  "bench frame scanner: markers after multi-byte characters are read from the right places",
  () => {
    // Characters of two, three and four bytes before each marker: a string index is then not
    // the byte's, and the digits must still be those of the marker.
    const names = ["é", "€", "😀", "ü€😀", ""];
    const lines = Array.from(
      { length: 25 },
      (_, q) => `{"name":"${names[q % 5]}","text":"#${q % 4}.${q}.${700 + q}|${names[q % 3]}"}`,
    );
    const stream = serverFrame(1, lines.join("\n"));
    for (const step of [1, 2, 3, 5, 64, stream.length]) {
      const seen: string[] = [];
      const scanner = new FrameScanner({ onMarker: (s, q, t) => seen.push(`${s}.${q}.${t}`) });
      for (let at = 0; at < stream.length; at += step) {
        scanner.push(stream.subarray(at, at + step), 1);
      }
      const want = Array.from({ length: 25 }, (_, q) => `${q % 4}.${q}.${700 + q}`);
      assert.deepEqual(seen, want, `read size ${step}`);
    }
  },
);

testWithPermissions(
  "bench frame scanner: ack markers only for a scanner that asks, apart from deliveries",
  () => {
    const stream = concat([
      serverFrame(1, '{"type":"ack","ref":"!3.17.900|","offset":1,"ts":1}'),
      serverFrame(1, '{"type":"message","text":"#1.2.30|x"}\n{"type":"ack","ref":"!3.18.950|"}'),
    ]);
    for (const step of [1, 5, stream.length]) {
      const acks: string[] = [];
      const seen: string[] = [];
      const scanner = new FrameScanner({
        onMarker: (s, q, t) => seen.push(`${s}.${q}.${t}`),
        onAck: (s, q, t, now) => acks.push(`${s}.${q}.${t}@${now}`),
      });
      for (let at = 0; at < stream.length; at += step) {
        scanner.push(stream.subarray(at, at + step), 7);
      }
      assert.deepEqual(acks, ["3.17.900@7", "3.18.950@7"], `read size ${step}`);
      assert.deepEqual(seen, ["1.2.30"]);
      assert.equal(scanner.markers, 1, "acks are not deliveries");
      const plain = new FrameScanner({ onMarker: (s, q, t) => seen.push(`${s}.${q}.${t}`) });
      plain.push(stream, 7);
      assert.equal(plain.markers, 1, "without onAck, ack refs are not scanned");
    }
  },
);

testWithPermissions(
  "bench frame scanner: deliveries and acks interleaved in NDJSON frames come out in order",
  () => {
    // A sender's frame: others' messages with its acks between, a stray `!` in a text too.
    const lines: string[] = [];
    const want: string[] = [];
    for (let q = 0; q < 60; q++) {
      if (q % 4 === 3) {
        lines.push(`{"type":"ack","ref":"!2.${q}.${500 + q}|","offset":${q},"ts":1}`);
        want.push(`ack 2.${q}.${500 + q}`);
      } else {
        lines.push(`{"type":"message","text":"#${q % 5}.${q}.${900 + q}| wow!"}`);
        want.push(`msg ${q % 5}.${q}.${900 + q}`);
      }
    }
    const stream = concat([
      serverFrame(1, lines.slice(0, 25).join("\n")),
      serverFrame(1, lines.slice(25).join("\n")),
    ]);
    for (const step of [1, 7, 64, stream.length]) {
      const got: string[] = [];
      const scanner = new FrameScanner({
        onMarker: (s, q, t) => got.push(`msg ${s}.${q}.${t}`),
        onAck: (s, q, t) => got.push(`ack ${s}.${q}.${t}`),
      });
      for (let at = 0; at < stream.length; at += step) {
        scanner.push(stream.subarray(at, at + step), 1);
      }
      assert.deepEqual(got, want, `read size ${step}`);
    }
  },
);

testWithPermissions({
  name: "bench client: a 101 and a first frame in one read, cut heads, and a refusal",
  async fn() {
    // A raw server writing each connection its script: the 101 and a frame together, the same
    // head cut in three writes, and a 429.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    const frame = [0x81, 5, ...new TextEncoder().encode("hello")];
    const scripts = [
      [[...new TextEncoder().encode(head), ...frame]],
      [[...new TextEncoder().encode(head.slice(0, 20))], [
        ...new TextEncoder().encode(head.slice(20, head.length - 1)),
      ], [...new TextEncoder().encode(head.slice(-1)), ...frame]],
      [[...new TextEncoder().encode(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n",
      )]],
    ];
    const served = (async () => {
      for (const script of scripts) {
        const conn = await listener.accept();
        await conn.read(new Uint8Array(4096));
        for (const part of script) {
          await conn.write(new Uint8Array(part));
          await new Promise((r) => setTimeout(r, 20));
        }
        if (script === scripts[2]) conn.close();
        else setTimeout(() => conn.close(), 200);
      }
    })();
    const port = (listener.addr as Deno.NetAddr).port;
    const options = { host: "127.0.0.1", port, path: "/ws" };
    for (let i = 0; i < 2; i++) {
      const client = await LoadClient.connect(options);
      await client.firstFrame;
      assert.equal(client.frames, 1, `script ${i}: the frame after the head`);
      client.close();
    }
    await assert.rejects(
      () => LoadClient.connect(options),
      /handshake refused: HTTP\/1\.1 429 Too Many Requests$/,
    );
    await served;
    listener.close();
  },
});

testWithPermissions("bench client frames are masked text frames with the payload intact", () => {
  const frame = clientTextFrame("x".repeat(200));
  assert.equal(frame[0], 0x81);
  assert.equal(frame[1], 0x80 | 126);
  assert.equal((frame[2] << 8) | frame[3], 200);
  assert.deepEqual([...frame.subarray(4, 8)], [0, 0, 0, 0]);
  assert.equal(new TextDecoder().decode(frame.subarray(8)), "x".repeat(200));
  for (const len of [0, 5, 125, 126, 65535, 65536, 70_000]) {
    const text = "é".repeat(len >> 1) + "y".repeat(len & 1);
    const want = maskedFrame({ opcode: Op.text, payload: text, mask: [0, 0, 0, 0] });
    assert.deepEqual(clientTextFrame(text), want, `${len} bytes`);
  }
});

testWithPermissions({
  name: "bench --quick --against: another checkout's Fanout takes the baseline's place",
  async fn() {
    // This very checkout as the other one: both columns are Fanout, welcomes and acks included.
    const here = new URL("../../", import.meta.url).pathname;
    const stdout = await runBench(["--quick", "--scenario", "fanout-rate", "--against", here]);
    assert.ok(stdout.includes(`; baseline: Fanout at ${here})`), stdout);
    assert.match(stdout, /\| figure \| Fanout there \| Fanout here \| here \/ there \|/);
    assert.match(stdout, /\| lost \| 0 \| 0 \|/);
    // Acks on both sides: the other column is Fanout in JSON mode too, not the naive server.
    assert.doesNotMatch(stdout, /\| ack p50 \(ms\) \| – \|/);
    const err = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "bench/run.ts",
        "--quick",
        "--scenario",
        "idle",
        "--against",
        "/nonexistent",
      ],
      cwd: here,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(err.success, false);
    assert.match(
      new TextDecoder().decode(err.stderr),
      /no main.ts in \/nonexistent\/: not a checkout/,
    );
  },
});

testWithPermissions({
  name: "bench --quick --peer: another server's command takes the baseline's place",
  async fn() {
    // The naive baseline started as a peer command: the path a Bun or Node peer takes.
    const peer = `${Deno.execPath()} run --allow-net --allow-env bench/baseline_naive.ts`;
    const stdout = await runBench(["--quick", "--scenario", "fanout-rate", "--peer", peer]);
    assert.ok(stdout.includes(`; baseline: ${peer})`), stdout);
    assert.match(stdout, /\| lost \| 0 \| 0 \|/);
  },
});

testWithPermissions(
  "bench frame scanner: without a marker hook it counts frames and does not look for markers",
  () => {
    const stream = concat([
      serverFrame(1, '{"type":"welcome","members":[]}'),
      serverFrame(1, '{"type":"message","text":"#1.2.30|x"}'),
    ]);
    let frames = 0;
    const scanner = new FrameScanner({ onDataFrame: (n) => frames = n });
    scanner.push(stream, 1);
    assert.equal(scanner.frames, 2);
    assert.equal(frames, 2);
    assert.equal(scanner.markers, 0, "not scanned");
  },
);

testWithPermissions(
  "bench:js: every message reaches every other member, as one JSON line each",
  async () => {
    // Sizes where a pass whose refs repeated the previous pass's would show (see below).
    const clients = 12, senders = 2, perTurn = 1, turns = 20, passes = 3;
    const r = await runInproc(new URL("../../", import.meta.url).href, {
      clients,
      senders,
      perTurn,
      turns,
      passes,
    });
    // Counted passes are the third on: turns × senders × perTurn messages to clients - 1 each.
    assert.equal(r.deliveries, turns * senders * perTurn * (clients - 1));
    // A delivery is a ~200-byte message line; acks and frame headers add a little. A pass whose
    // refs repeated (duplicates, acked and not broadcast) would write a tenth of it.
    assert.ok(r.bytesPerDelivery > 190 && r.bytesPerDelivery < 260, `${r.bytesPerDelivery} B`);
    assert.ok(r.cpuNsPerDelivery > 0 && Number.isFinite(r.cpuNsPerDelivery));
    // Plain mode: a frame per 60-byte text (2 bytes of header), no ack.
    const plain = await runInproc(new URL("../../", import.meta.url).href, {
      clients,
      senders,
      perTurn,
      turns,
      passes,
      plain: true,
    });
    assert.equal(plain.deliveries, r.deliveries);
    assert.equal(plain.bytesPerDelivery, 62, `${plain.bytesPerDelivery} B`);
  },
);

testWithPermissions(
  "bench:js connect: every connection is welcomed, counted once per counted pass",
  async () => {
    // Four passes: the first three are not counted.
    const r = await runInprocConnect(new URL("../../", import.meta.url).href, {
      connections: 30,
      window: 7,
      passes: 4,
    });
    assert.equal(r.connections, 30);
    // The 101 (about 130 bytes) and a welcome that lists up to 31 members (about 45 bytes each).
    assert.ok(
      r.bytesPerConnection > 1000 && r.bytesPerConnection < 3000,
      `${r.bytesPerConnection}`,
    );
    assert.ok(r.joinUs > 0 && Number.isFinite(r.joinUs), `${r.joinUs}`);
    assert.ok(r.leaveUs > 0 && Number.isFinite(r.leaveUs), `${r.leaveUs}`);
  },
);

testWithPermissions(
  "bench threadCpuSince: thread by thread, a thread gone takes only its own time",
  () => {
    const before = new Map([[10, 5e9], [11, 2e9], [12, 9e9]]);
    // Thread 12 ended (its 9 s of life must not be subtracted), 13 started.
    const after = new Map([[10, 5.5e9], [11, 2.25e9], [13, 0.125e9]]);
    assert.deepEqual(threadCpuSince(10, before, after), { all: 0.875, main: 0.5 });
    assert.deepEqual(threadCpuSince(10, null, after), { all: NaN, main: NaN });
    const own = threadCpuTimes(Deno.pid);
    if (own !== null) {
      assert.ok(own.has(Deno.pid), "the main thread is listed under the process's id");
      let x = 0;
      for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
      // Under `deno test` this code may run on another thread than the process's first one.
      const spent = threadCpuSince(Deno.pid, own, threadCpuTimes(Deno.pid));
      assert.ok(spent.all > 0 && spent.all >= spent.main, JSON.stringify({ spent, x }));
    }
  },
);
