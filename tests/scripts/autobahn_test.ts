/**
 * `deno task autobahn`'s pieces that need no kit: its flags (and `--performance`), the verdict
 * from the kit's index.json (Fanout's transport only), and the side-by-side timings.
 */

import assert from "node:assert/strict";
import {
  failures,
  parseAutobahnArgs,
  PERFORMANCE_FRAGMENTS,
  PERFORMANCE_MESSAGE_BYTES,
  timingsTable,
} from "../../scripts/autobahn.ts";

Deno.test("parseAutobahnArgs: the kit's defaults unless a flag says otherwise; bad flags named", () => {
  assert.deepEqual(parseAutobahnArgs([]), { timings: false, timeoutSeconds: 300 });
  assert.deepEqual(
    parseAutobahnArgs(["--cases", "2.*", "--exclude=", "--out", "/tmp/r", "--timings"]),
    { cases: "2.*", exclude: "", out: "/tmp/r", timings: true, timeoutSeconds: 300 },
  );
  assert.throws(() => parseAutobahnArgs(["--cases"]), /--cases needs a value/);
  assert.throws(
    () => parseAutobahnArgs(["--max-message-bytes", "-1"]),
    /--max-message-bytes needs a positive integer, got "-1"/,
  );
  assert.throws(() => parseAutobahnArgs(["--fast"]), /unknown flag "--fast"/);
});

Deno.test("parseAutobahnArgs: --performance is section 9 at 16 MiB with timings; flags still win", () => {
  assert.deepEqual(parseAutobahnArgs(["--performance"]), {
    cases: "9.*",
    exclude: "12.*,13.*",
    maxMessageBytes: PERFORMANCE_MESSAGE_BYTES,
    maxFragments: PERFORMANCE_FRAGMENTS,
    timings: true,
    timeoutSeconds: 1800,
  });
  const picked = parseAutobahnArgs(["--performance", "--cases", "9.1.*", "--timeout-seconds=60"]);
  assert.equal(picked.cases, "9.1.*");
  assert.equal(picked.timeoutSeconds, 60);
  assert.equal(PERFORMANCE_MESSAGE_BYTES, 16 * 1024 * 1024);
  assert.equal(PERFORMANCE_FRAGMENTS, (4 << 20) / 64 + 1);
  assert.equal(parseAutobahnArgs(["--max-fragments", "9"]).maxFragments, 9);
});

Deno.test("failures: what the kit fails, for one server, in case order", () => {
  const index = {
    fanout: {
      "2.10": { behavior: "FAILED", behaviorClose: "OK" },
      "2.2": { behavior: "OK", behaviorClose: "OK" },
      "6.4.1": { behavior: "NON-STRICT", behaviorClose: "OK" },
      "7.1.6": { behavior: "INFORMATIONAL", behaviorClose: "INFORMATIONAL" },
      "2.9": { behavior: "OK", behaviorClose: "FAILED BY CLIENT" },
      "12.1.1": { behavior: "UNIMPLEMENTED", behaviorClose: "OK" },
    },
    "deno-serve": { "7.3.6": { behavior: "OK", behaviorClose: "FAILED BY CLIENT" } },
  };
  assert.deepEqual(failures(index, "fanout"), [
    "2.9 (OK, close FAILED BY CLIENT)",
    "2.10 (FAILED, close OK)",
    "12.1.1 (UNIMPLEMENTED, close OK)",
  ]);
  assert.deepEqual(failures(index, "deno-serve"), ["7.3.6 (OK, close FAILED BY CLIENT)"]);
  assert.deepEqual(failures(index, "bun"), ['no results for "bun"']);
  assert.deepEqual(
    failures({ fanout: { "1.1.1": { behavior: "OK", behaviorClose: "OK" } } }, "fanout"),
    [],
  );
});

Deno.test("timingsTable: each case's time per server side by side, the ratio, and the totals", () => {
  const index = {
    "deno-serve": {
      "9.1.2": { behavior: "OK", duration: 50 },
      "9.1.10": { behavior: "FAILED", duration: 300 },
    },
    fanout: {
      "9.1.10": { behavior: "OK", duration: 100 },
      "9.1.2": { behavior: "OK", duration: 20 },
      "9.1.3": { behavior: "OK", duration: 7 },
    },
  };
  assert.equal(
    timingsTable(index, ["fanout", "deno-serve"]),
    [
      "| case | fanout (ms) | deno-serve (ms) | fanout / deno-serve |",
      "|---|---:|---:|---:|",
      "| 9.1.2 | 20 | 50 | 0.40 |",
      "| 9.1.3 | 7 | – | – |",
      "| 9.1.10 | 100 | 300 (FAILED) | 0.33 |",
      "| total | 127 | 350 | 0.36 |",
    ].join("\n"),
  );
  assert.match(
    timingsTable(index),
    /^\| case \| deno-serve \(ms\) \| fanout \(ms\) \| deno-serve \/ fanout \|/,
  );
});
