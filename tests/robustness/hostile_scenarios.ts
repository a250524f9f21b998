/**
 * The hostile-internet scenarios of issue 11, one per row of its table, each at two sizes, one
 * parameter table each: the CI size (`MEMORY_LIMIT_MB` 128, a few seconds each;
 * `tests/robustness/hostile_test.ts`) and the full size (`MEMORY_LIMIT_MB` 1024, the sizes
 * where this 2-core machine allows; `deno task soak --hostile`). The attacks themselves live in
 * the `hostile_*_scenarios.ts` files; each returns a spec that `runHostile` runs against a fresh
 * Fanout process with a witness.
 *
 * @module
 */

import {
  connectionHog,
  type ConnectionHogSize,
  refusalLoop,
  type RefusalLoopSize,
} from "./hostile_address_scenarios.ts";
import { combine } from "./hostile_combined.ts";
import {
  historyFlood,
  type HistoryFloodSize,
  reconnectBursts,
  type ReconnectBurstsSize,
  refFlood,
  type RefFloodSize,
} from "./hostile_history_scenarios.ts";
import { controlBytes, foreignOrigins, impersonation } from "./hostile_identity_scenarios.ts";
import { endlessFragments, type EndlessFragmentsSize } from "./hostile_inbound_scenarios.ts";
import {
  freshRooms,
  type FreshRoomsSize,
  resumeFlood,
  type ResumeFloodSize,
} from "./hostile_room_scenarios.ts";
import type { HostileSpec } from "./hostile_run.ts";
import {
  etagFlood,
  type EtagFloodSize,
  halfOpenFlood,
  type HalfOpenFloodSize,
} from "./hostile_transport_scenarios.ts";

/** Which size to build a scenario at. */
export type HostileSize = "ci" | "full";

/**
 * One row of the table and how to build its scenario.
 *
 * @example
 * ```ts
 * const row: HostileRow = HOSTILE_ROWS[0];
 * await runHostile(row.spec("ci"));
 * ```
 */
export interface HostileRow {
  row: string;
  spec(size: HostileSize): HostileSpec;
}

/** A scenario's size without the memory limit, which is the whole table's. */
type Part<T> = Omit<T, "memoryLimitMb">;

/** The sizes of every scenario at one size: the rows, the combined run, the crowding run. */
interface SizeTable {
  memoryLimitMb: number;
  historyFlood: Part<HistoryFloodSize>;
  reconnectBursts: Part<ReconnectBurstsSize>;
  freshRooms: Part<FreshRoomsSize>;
  etagFlood: Part<EtagFloodSize>;
  halfOpenFlood: Part<HalfOpenFloodSize>;
  resumeFlood: Part<ResumeFloodSize>;
  connectionHog: Part<ConnectionHogSize>;
  endlessFragments: Part<EndlessFragmentsSize>;
  controlBytes: Part<Parameters<typeof controlBytes>[0]>;
  foreignOrigins: Part<Parameters<typeof foreignOrigins>[0]>;
  refusalLoop: Part<RefusalLoopSize>;
  refFlood: Part<RefFloodSize>;
  /** Rows 1, 2, 5, 7, 8 and 13 at once ({@linkcode combinedSpec}). */
  combined: {
    historyFlood: Part<HistoryFloodSize>;
    reconnectBursts: Part<ReconnectBurstsSize>;
    halfOpenFlood: Part<HalfOpenFloodSize>;
    connectionHog: Part<ConnectionHogSize>;
    endlessFragments: Part<EndlessFragmentsSize>;
    refusalLoop: Part<RefusalLoopSize>;
  };
  /** Rows 1 and 8 at once ({@linkcode inboundCrowdingSpec}). */
  inboundCrowding: {
    historyFlood: Part<HistoryFloodSize>;
    endlessFragments: Part<EndlessFragmentsSize>;
  };
}

/** CI size: a few seconds each (`tests/robustness/hostile_test.ts`). */
const CI: SizeTable = {
  memoryLimitMb: 128,
  historyFlood: { senders: 50, perAddress: 10, textBytes: 65_000, perSecond: 2, seconds: 6 },
  reconnectBursts: { burst: 40, seconds: 5 },
  freshRooms: { maxRooms: 300, churnSeconds: 3, holders: 14, perHolder: 25 },
  etagFlood: { seconds: 3, parallel: 2 },
  halfOpenFlood: {
    maxOpenFiles: 256,
    requestTimeoutMs: 2000,
    halfOpen: 600,
    drips: 40,
    perAddress: 60,
  },
  resumeFlood: { roomHistoryMb: 8, fill: 100, textBytes: 65_000, resumers: 10, seconds: 15 },
  connectionHog: { maxConnections: 72, attempts: 100, seconds: 6, parallel: 4 },
  endlessFragments: { fragmentBytes: 16_384, holders: 72, holdBytes: 204_800, perAddress: 24 },
  controlBytes: { seconds: 2, textBytes: 60_000 },
  foreignOrigins: { rounds: 5 },
  refusalLoop: { seconds: 3, addresses: 4 },
  refFlood: {
    addresses: 8,
    perAddress: 5,
    perSecond: 18,
    seconds: 4,
    dedupMaxRefs: 1000,
    kvMaxRefs: 2000,
  },
  combined: {
    historyFlood: { senders: 10, perAddress: 5, textBytes: 65_000, perSecond: 2, seconds: 5 },
    reconnectBursts: { burst: 40, seconds: 5 },
    halfOpenFlood: { requestTimeoutMs: 2000, halfOpen: 100, drips: 10, perAddress: 50 },
    connectionHog: { maxConnections: 10_000, attempts: 100, seconds: 5, parallel: 2 },
    endlessFragments: {
      fragmentBytes: 16_384,
      holders: 40,
      holdBytes: 204_800,
      perAddress: 24,
      shared: true,
    },
    refusalLoop: { seconds: 5, addresses: 2 },
  },
  inboundCrowding: {
    historyFlood: { senders: 10, perAddress: 5, textBytes: 65_000, perSecond: 2, seconds: 5 },
    endlessFragments: {
      fragmentBytes: 16_384,
      holders: 72,
      holdBytes: 204_800,
      perAddress: 24,
      shared: true,
    },
  },
};

/**
 * Full size: the sizes where this 2-core machine allows (`deno task soak --hostile`).
 */
const FULL: SizeTable = {
  memoryLimitMb: 1024,
  historyFlood: { senders: 50, perAddress: 5, textBytes: 65_000, perSecond: 5, seconds: 60 },
  reconnectBursts: { burst: 40, seconds: 20 },
  freshRooms: { maxRooms: 5000, churnSeconds: 10, holders: 220, perHolder: 25 },
  etagFlood: { seconds: 20, parallel: 8 },
  halfOpenFlood: {
    maxOpenFiles: 4096,
    requestTimeoutMs: 5000,
    halfOpen: 15_000,
    drips: 2000,
    perAddress: 90,
  },
  resumeFlood: { roomHistoryMb: 128, fill: 1000, textBytes: 65_000, resumers: 10, seconds: 30 },
  connectionHog: { maxConnections: 10_000, attempts: 10_000, seconds: 15, parallel: 8 },
  endlessFragments: { fragmentBytes: 65_536, holders: 560, holdBytes: 204_800, perAddress: 30 },
  controlBytes: { seconds: 10, textBytes: 60_000 },
  foreignOrigins: { rounds: 10 },
  refusalLoop: { seconds: 30, addresses: 4 },
  // DEDUP_MAX_REFS at its default for 1024 MiB (204 800): 40 addresses × 5 × 18/s for 60 s.
  refFlood: { addresses: 40, perAddress: 5, perSecond: 18, seconds: 60 },
  combined: {
    historyFlood: { senders: 40, perAddress: 5, textBytes: 65_000, perSecond: 2, seconds: 20 },
    reconnectBursts: { burst: 40, seconds: 20 },
    halfOpenFlood: { requestTimeoutMs: 2000, halfOpen: 2000, drips: 200, perAddress: 50 },
    connectionHog: { maxConnections: 10_000, attempts: 100, seconds: 20, parallel: 2 },
    endlessFragments: {
      fragmentBytes: 16_384,
      holders: 340,
      holdBytes: 204_800,
      perAddress: 30,
      shared: true,
    },
    refusalLoop: { seconds: 20, addresses: 2 },
  },
  inboundCrowding: {
    historyFlood: { senders: 10, perAddress: 5, textBytes: 65_000, perSecond: 2, seconds: 5 },
    endlessFragments: {
      fragmentBytes: 16_384,
      holders: 560,
      holdBytes: 204_800,
      perAddress: 30,
      shared: true,
    },
  },
};

const TABLES: Record<HostileSize, SizeTable> = { ci: CI, full: FULL };

/** `part` of the `s` table with the table's memory limit. */
function sized<T>(s: HostileSize, part: T): T & { memoryLimitMb: number } {
  return { memoryLimitMb: TABLES[s].memoryLimitMb, ...part };
}

/**
 * Every row (9 and 10 share one scenario), in the order.
 *
 * @example
 * ```ts
 * for (const row of HOSTILE_ROWS) console.log(row.row, row.spec("full").attack);
 * ```
 */
export const HOSTILE_ROWS: HostileRow[] = [
  { row: "1", spec: (s) => historyFlood(sized(s, TABLES[s].historyFlood)) },
  { row: "2", spec: (s) => reconnectBursts(sized(s, TABLES[s].reconnectBursts)) },
  { row: "3", spec: (s) => freshRooms(sized(s, TABLES[s].freshRooms)) },
  { row: "4", spec: (s) => etagFlood(sized(s, TABLES[s].etagFlood)) },
  { row: "5", spec: (s) => halfOpenFlood(sized(s, TABLES[s].halfOpenFlood)) },
  { row: "6", spec: (s) => resumeFlood(sized(s, TABLES[s].resumeFlood)) },
  { row: "7", spec: (s) => connectionHog(sized(s, TABLES[s].connectionHog)) },
  { row: "8", spec: (s) => endlessFragments(sized(s, TABLES[s].endlessFragments)) },
  { row: "9-10", spec: (s) => impersonation(sized(s, {})) },
  { row: "11", spec: (s) => controlBytes(sized(s, TABLES[s].controlBytes)) },
  { row: "12", spec: (s) => foreignOrigins(sized(s, TABLES[s].foreignOrigins)) },
  { row: "13", spec: (s) => refusalLoop(sized(s, TABLES[s].refusalLoop)) },
  { row: "14", spec: (s) => refFlood(sized(s, TABLES[s].refFlood)) },
];

/**
 * Rows 1, 2, 5 (no descriptor limit), 7, 8 and 13 at once for a few seconds. Row 8's holders
 * fill two thirds of INBOUND_MEMORY_MB: filled up, every other client's large message would be
 * closed 1013 too (see {@linkcode inboundCrowdingSpec}).
 *
 * @example
 * ```ts
 * const report = await runHostile(combinedSpec("ci"));
 * ```
 */
export function combinedSpec(s: HostileSize): HostileSpec {
  const t = TABLES[s].combined;
  return combine([
    historyFlood(sized(s, t.historyFlood)),
    reconnectBursts(sized(s, t.reconnectBursts)),
    halfOpenFlood(sized(s, t.halfOpenFlood)),
    connectionHog(sized(s, t.connectionHog)),
    endlessFragments(sized(s, t.endlessFragments)),
    refusalLoop(sized(s, t.refusalLoop)),
  ], TABLES[s].memoryLimitMb);
}

/**
 * Row 1's senders of 64 KiB texts while row 8's holders fill INBOUND_MEMORY_MB: the senders'
 * messages find no room in the shared budget and they are closed 1013 (a bug, see the skipped
 * test in `hostile_test.ts`).
 *
 * @example
 * ```ts
 * const report = await runHostile(inboundCrowdingSpec("ci"));
 * ```
 */
export function inboundCrowdingSpec(s: HostileSize): HostileSpec {
  const t = TABLES[s].inboundCrowding;
  return combine([
    historyFlood(sized(s, t.historyFlood)),
    endlessFragments(sized(s, t.endlessFragments)),
  ], TABLES[s].memoryLimitMb);
}
