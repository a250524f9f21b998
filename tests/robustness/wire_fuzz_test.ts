/**
 * Wire-level fuzzing against a real server: random frames (any opcode, fin, mask, payload) and
 * random bytes before or instead of a handshake. The server must keep serving: healthy, no leaked
 * connections, and a bystander pair still chats.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { MaskedFrameSpec } from "../helpers/masked_frames.ts";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { envOr, testWithPermissions } from "../helpers/requires.ts";

const RUNS = Number(envOr("WIRE_FUZZ_RUNS", "300"));

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({ type: fc.constantFrom("message", "ping"), text: fc.string(), t: fc.double() })
    .map((v) => JSON.stringify(v)),
  fc.integer({ min: 1000, max: 6000 }).map((n) => "z".repeat(n)),
);
const frame: fc.Arbitrary<MaskedFrameSpec> = fc.record({
  opcode: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
  ),
  payload,
  fin: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, {
    weight: 1,
    arbitrary: fc.boolean(),
  }),
  // Masked 19 times in 20 (with any key), unmasked otherwise.
  mask: fc.oneof(
    { weight: 19, arbitrary: fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }) },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
});
const session = fc.record({
  json: fc.boolean(),
  frames: fc.array(frame, { minLength: 1, maxLength: 6 }),
  garbage: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { freq: 8 }),
});

async function stats(url: string) {
  return await (await fetch(url)).json();
}

testWithPermissions("wire fuzz: random frames and bytes never take the server down", async () => {
  const srv = await startTestServer({
    MAX_MESSAGE_BYTES: "1024",
    RATE_LIMIT: "1000",
    RATE_BURST: "1000",
  });
  const { client: a } = await TestClient.join(srv.wsUrl({ room: "fuzz" }));
  const { client: b } = await TestClient.join(srv.wsUrl({ room: "fuzz" }));
  let sessions = 0;
  let frames = 0;
  try {
    await fc.assert(
      fc.asyncProperty(session, async (s) => {
        sessions++;
        const hs = await RawWs.connect(srv.server.port, "/ws?room=fuzz", {
          protocols: s.json ? ["fanout.v1"] : [],
        });
        const ws = hs.ws!;
        if (envOr("WIRE_FUZZ_DEBUG", "")) console.log(sessions, JSON.stringify(s).slice(0, 300));
        try {
          if (s.garbage) await ws.write(s.garbage).catch(() => {});
          for (const f of s.frames) {
            frames++;
            await ws.sendFrame(f).catch(() => {}); // the server may already have hung up
          }
          await ws.sendClose().catch(() => {});
        } finally {
          ws.abort();
        }
      }),
      { numRuns: RUNS },
    );
    // Raw bytes where an HTTP request should be.
    for (
      const junk of [
        "\0\0\0\0",
        "GET / HTTP/9.9\r\n\r\n",
        "\x16\x03\x01\x02\x00",
        "x".repeat(20_000),
      ]
    ) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.server.port });
      await conn.write(new TextEncoder().encode(junk)).catch(() => 0);
      // The server answers 400, hangs up, or waits for more: give it a moment, then hang up.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const reply = conn.read(new Uint8Array(1024)).catch(() => null);
      await Promise.race([reply, new Promise((r) => timer = setTimeout(r, 300))]);
      clearTimeout(timer);
      conn.close();
      await reply;
    }
    // The server is healthy, forgot every fuzz connection, and the bystanders still chat.
    const health = await fetch(srv.httpUrl("/healthz"));
    assert.equal(health.status, 200);
    await health.body?.cancel();
    let connections = -1;
    for (let i = 0; i < 100 && connections !== 2; i++) {
      connections = (await stats(srv.httpUrl("/api/stats"))).connections;
      if (connections !== 2) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(connections, 2, "every fuzz connection was released");
    a.send({ type: "message", text: "still chatting", ref: "final" });
    await b.next((f) => f.type === "message" && f.text === "still chatting");
    await a.next((f) => f.type === "ack" && f.ref === "final");
    const errors = (await stats(srv.httpUrl("/api/stats"))).errors;
    console.log(
      `wire fuzz: ${sessions} sessions, ${frames} frames; errors by code ${JSON.stringify(errors)}`,
    );
  } finally {
    await a.close();
    await b.close();
    await srv.stop();
  }
});
