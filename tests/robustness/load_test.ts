/**
 * Load with zero loss (CI size): hundreds of receivers and several senders for a few seconds;
 * every acknowledged message reaches every receiver exactly once, in offset order, intact, and
 * every sender gets all the others' acknowledged messages the same way.
 * Throughput and latency are printed, never asserted. `deno task soak` runs the large version.
 */

import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { formatReport, runLoad } from "./load_scenario.ts";
import { envOr, testWithPermissions } from "../helpers/requires.ts";

const RECEIVERS = Number(envOr("LOAD_RECEIVERS", "300"));

testWithPermissions(
  "load: every acknowledged message reaches every receiver and the other senders once, in order",
  async () => {
    const srv = await startTestServer({ RATE_LIMIT: "1000", RATE_BURST: "1000" });
    try {
      const report = await runLoad({
        wsUrl: srv.wsUrl,
        receivers: RECEIVERS,
        senders: 4,
        seconds: 5,
        rate: 20,
      });
      console.log(`load (in-process server): ${formatReport(report)}`);
      assert.deepEqual(report.violations, []);
      assert.equal(report.dropped, 0);
      assert.equal(report.accepted, report.sent);
      assert.ok(report.sent >= 0.9 * 4 * 20 * 5, `only ${report.sent} messages sent`);
      assert.equal(report.deliveries, report.expectedDeliveries);
      assert.equal(report.expectedDeliveries, RECEIVERS * report.accepted);
      assert.equal(report.senderDeliveries, report.expectedSenderDeliveries);
      assert.equal(
        report.expectedSenderDeliveries,
        3 * report.accepted,
        "each sender: the other 3",
      );
    } finally {
      await srv.stop();
    }
  },
);
