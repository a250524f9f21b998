import assert from "node:assert/strict";
import { Op } from "../helpers/masked_frames.ts";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer } from "../helpers/server.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions(
  "IDLE_TIMEOUT_SECONDS drops a peer that stops answering pings and keeps one that answers",
  async () => {
    const srv = await startTestServer({ IDLE_TIMEOUT_SECONDS: "1" });
    const port = srv.server.port;
    const silent = (await RawWs.connect(port, "/ws?room=idle", { protocols: ["fanout.v1"] })).ws!;
    const alive = (await RawWs.connect(port, "/ws?room=idle", { protocols: ["fanout.v1"] })).ws!;
    // The live peer keeps reading, and RawWs.read answers every ping on the way.
    const texts: string[] = [];
    const pump = (async () => {
      while (true) {
        const m = await alive.read(15_000).catch(() => ({ kind: "eof" as const }));
        if (m.kind !== "text") return;
        texts.push(m.text);
      }
    })();
    try {
      const started = Date.now();
      let sawPing = false;
      // The silent peer reads frames but never answers the server's pings.
      while (true) {
        const frame = await silent.readFrame();
        if (frame === null || frame.opcode === Op.close) break;
        if (frame.opcode === Op.ping) sawPing = true;
        assert.ok(
          Date.now() - started < 8000,
          "the silent peer is dropped within a few idle periods",
        );
      }
      assert.ok(sawPing, "the server pinged before giving up");
      // The other peer answered every ping and is still served.
      await alive.sendText(JSON.stringify({ type: "ping", t: 7 }));
      const deadline = Date.now() + 3000;
      while (!texts.some((t) => t.includes('"type":"pong","t":7')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(
        texts.some((t) => t.includes('"type":"pong","t":7')),
        `no pong; got ${texts.join(" | ")}`,
      );
    } finally {
      silent.abort();
      alive.abort();
      await pump;
      await srv.stop();
    }
  },
);
