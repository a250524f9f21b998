/**
 * `deno task soak --hostile`: every hostile scenario of issue 11 (`tests/robustness/
 * hostile_scenarios.ts`) at full size, one Fanout process each, then the combined one; prints
 * a Markdown table (row, attack, what the attacker got, peak RSS against the limit + idle base,
 * witness p50/p99/max, verdict) and the checks that failed.
 *
 * @module
 */

import { combinedSpec, HOSTILE_ROWS, type HostileSize } from "../robustness/hostile_scenarios.ts";
import { type HostileReport, runHostile } from "../robustness/hostile_run.ts";

/** Options of {@linkcode runHostileSoak}. */
export interface HostileSoakOptions {
  size: HostileSize;
  /** Rows to run (e.g. `["1", "5", "combined"]`); empty: all of them. */
  rows: string[];
  /** Receives each report as soon as its scenario is done (progress). */
  onReport?: (report: HostileReport) => void;
}

/** Frames every joiner gets: not what the attack was answered with. */
const ROUTINE = /(^| )(welcome|presence|message|text)×\d+$/;

/** The attacker's top outcomes (without routine frames), shortened for a table cell. */
function gotCell(got: string, max = 5): string {
  const parts = got.split(", ").filter((p) => p && !ROUTINE.test(p));
  const shown = parts.slice(0, max).join(", ");
  return (parts.length > max ? `${shown}, …` : shown).replaceAll("|", "/") || "nothing";
}

/**
 * Formats reports as the Markdown table of the soak.
 *
 * @example
 * ```ts
 * console.log(hostileTable(reports));
 * ```
 */
export function hostileTable(reports: HostileReport[]): string {
  const lines = [
    "| row | attack | what the attacker got | peak RSS (limit + base) | witness p50/p99/max | verdict |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of reports) {
    const w = r.witness;
    const failed = r.checks.filter((c) => !c.ok).length;
    lines.push(
      `| ${r.row} | ${r.attack} | ${gotCell(r.got)} | ${r.peakMb} MiB (${r.memoryLimitMb} + ` +
        `${r.baseMb}) | ${w.p50} / ${w.p99} / ${w.max} ms (${w.delivered}/${w.sent}) | ${
          failed ? `FAIL (${failed})` : "PASS"
        } |`,
    );
  }
  return lines.join("\n");
}

/**
 * Runs the chosen rows one after the other; resolves with their reports. A scenario that
 * throws is reported as failed with the error as its check.
 *
 * @example
 * ```ts
 * const reports = await runHostileSoak({ size: "full", rows: [] });
 * const failed = reports.some((r) => r.checks.some((c) => !c.ok));
 * ```
 */
export async function runHostileSoak(options: HostileSoakOptions): Promise<HostileReport[]> {
  const wanted = (row: string) => options.rows.length === 0 || options.rows.includes(row);
  const specs = HOSTILE_ROWS.filter((r) => wanted(r.row)).map((r) => r.spec(options.size));
  if (wanted("combined")) specs.push(combinedSpec(options.size));
  const reports: HostileReport[] = [];
  for (const spec of specs) {
    let report: HostileReport;
    try {
      report = await runHostile(spec);
    } catch (err) {
      report = {
        row: spec.row,
        attack: spec.attack,
        got: "",
        memoryLimitMb: spec.memoryLimitMb,
        baseMb: NaN,
        peakMb: NaN,
        witness: { sent: 0, acked: 0, delivered: 0, p50: NaN, p99: NaN, max: NaN, closed: null },
        metrics: {},
        healthz: 0,
        details: {},
        checks: [{ what: "the scenario ran", ok: false, got: String(err).slice(0, 300) }],
        seconds: 0,
        output: "",
      };
    }
    options.onReport?.(report);
    reports.push(report);
  }
  return reports;
}
