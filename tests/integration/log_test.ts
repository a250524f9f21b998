import assert from "node:assert/strict";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer } from "../helpers/server.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions(
  "log: 200 refused handshakes write at most LOG_LINES_PER_EVENT lines and one summary whose count adds up",
  async () => {
    const lines: string[] = [];
    const srv = await startTestServer(
      { LOG_FORMAT: "json", LOG_LINES_PER_EVENT: "20" },
      { logWrite: (line) => lines.push(line) },
    );
    let stopped = false;
    try {
      const plain = Array.from({ length: 150 }, async () => {
        const res = await fetch(srv.httpUrl("/ws"));
        await res.body?.cancel();
        return res.status;
      });
      const foreign = Array.from({ length: 50 }, async () => {
        const hs = await RawWs.connect(srv.server.port, "/ws", {
          headers: { Origin: "http://evil.example" },
        });
        hs.ws?.abort();
        return hs.status;
      });
      const statuses = await Promise.all([...plain, ...foreign]);
      assert.equal(statuses.filter((s) => s === 426).length, 150);
      assert.equal(statuses.filter((s) => s === 403).length, 50);
      await srv.stop(); // ends the window: the summary is written now
      stopped = true;
    } finally {
      if (!stopped) await srv.stop();
    }
    const events = lines.map((line) => JSON.parse(line));
    const refused = events.filter((e) => e.event === "ws.refused");
    const summaries = events.filter((e) => e.event === "ws.refused.suppressed");
    console.log(`200 refused handshakes: ${refused.length + summaries.length} log lines`);
    assert.equal(refused.length, 20, "exactly LOG_LINES_PER_EVENT lines pass");
    assert.equal(summaries.length, 1);
    const [summary] = summaries;
    assert.equal(summary.count, 180);
    assert.equal(summary.windowSeconds, 10);
    const byReason = new Map<string, number>();
    for (const e of refused) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
    for (const pair of summary.reasons.split(",")) {
      const [reason, n] = pair.split("=");
      byReason.set(reason, (byReason.get(reason) ?? 0) + Number(n));
    }
    assert.deepEqual(
      Object.fromEntries(byReason),
      { handshake_no_upgrade: 150, handshake_origin: 50 },
      "written and suppressed lines add up to the refusals, by reason",
    );
  },
);
