/**
 * The bad-input matrix: each hostile input over a real TCP socket to a real server, with the exact
 * error code, close code or HTTP status it must get, whether the connection survives (it can still
 * send a message that others receive), and that the other clients of the room see nothing of it.
 */

import assert from "node:assert/strict";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { type Frame, TestClient } from "../helpers/ws_client.ts";
import { type FrameCase, LIMITS, msg } from "./bad_input_case.ts";
import { JSON_CASES } from "./bad_input_json_cases.ts";
import { PLAIN_CASES } from "./bad_input_plain_cases.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const CASES: FrameCase[] = [...JSON_CASES, ...PLAIN_CASES];

/** Reads until a non-presence frame (JSON), a plain text, a close or the end of the stream. */
async function answer(ws: RawWs, plain: boolean): Promise<Frame> {
  while (true) {
    const m = await ws.read(5000);
    if (m.kind !== "text") return m;
    if (plain) return m;
    for (const line of m.text.split("\n")) {
      const f = JSON.parse(line);
      if (f.type !== "presence") return f;
    }
  }
}

async function joinRaw(srv: TestServer, plain: boolean): Promise<RawWs> {
  const hs = await RawWs.connect(srv.server.port, "/ws?room=matrix", {
    protocols: plain ? [] : ["fanout.v1"],
  });
  assert.equal(hs.status, 101);
  if (!plain) await hs.ws!.until((f) => f.type === "welcome");
  return hs.ws!;
}

async function connections(srv: TestServer): Promise<number> {
  return (await (await fetch(srv.httpUrl("/api/stats"))).json()).connections;
}

async function waitForConnections(srv: TestServer, n: number): Promise<void> {
  for (let i = 0; i < 100 && (await connections(srv)) !== n; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await connections(srv), n, "connections went back to the witnesses only");
}

testWithPermissions(
  "bad input: every hostile frame gets its exact answer; others see nothing",
  async () => {
    const srv = await startTestServer(LIMITS);
    const witness = await TestClient.join(srv.wsUrl({ room: "matrix" }));
    const plainWitness = await TestClient.connect(srv.wsUrl({ room: "matrix" }), { json: false });
    const allowed = new Set<string>();
    try {
      for (const c of CASES) {
        const ws = await joinRaw(srv, c.plain ?? false);
        try {
          for (const f of c.frames) await ws.sendFrame(f);
          const silent = c.plain && "accepted" in c.expect; // plain senders get no ack
          const got: Frame = silent ? {} : await answer(ws, c.plain ?? false);
          const e = c.expect;
          const where = `case "${c.name}": got ${JSON.stringify(got).slice(0, 200)}`;
          if ("close" in e) {
            assert.deepEqual([got.kind, got.code], ["close", e.close], where);
            continue;
          }
          if ("dropped" in e) {
            assert.equal(got.kind, "eof", where);
            continue;
          }
          if ("error" in e) {
            assert.deepEqual([got.type, got.code], ["error", e.error], where);
            assert.doesNotMatch(
              got.message,
              /undefined/,
              `${where}: the sentence should say what was wrong`,
            );
          }
          if ("plainError" in e) {
            assert.equal(got.kind, "text", where);
            assert.match(got.text, e.plainError, where);
          }
          if ("pong" in e) assert.deepEqual(got, { type: "pong", t: e.pong }, where);
          if ("accepted" in e) {
            allowed.add(e.accepted);
            if (!c.plain) assert.equal(got.type, "ack", where);
            await witness.client.next((f) => f.type === "message" && f.text === e.accepted);
            await plainWitness.next((f) => f === e.accepted);
          }
          // The connection survives: a valid message still goes through to the others.
          const after = `after ${c.name}`;
          allowed.add(after);
          await ws.sendText(c.plain ? after : msg(after, { ref: "after" }));
          if (!c.plain) {
            const ack = await ws.until((f) => f.type !== "presence");
            assert.equal(ack.type, "ack", `case "${c.name}": no ack after the bad frame`);
          }
          await witness.client.next((f) => f.type === "message" && f.text === after);
          await plainWitness.next((f) => f === after);
        } finally {
          ws.abort();
        }
      }
      await waitForConnections(srv, 2);
      const seen = witness.client.frames.filter((f) =>
        f.type !== "presence" && f.type !== "welcome"
      );
      for (const f of seen) {
        assert.equal(f.type, "message", `the witness got ${JSON.stringify(f).slice(0, 100)}`);
        assert.ok(allowed.has(f.text), `the witness saw bad input: ${f.text.slice(0, 80)}`);
      }
      for (const f of plainWitness.frames) assert.ok(allowed.has(f), `plain witness saw ${f}`);
      console.log(`bad-input matrix: ${CASES.length} frame cases`);
    } finally {
      await witness.client.close();
      await plainWitness.close();
      await srv.stop();
    }
  },
);
