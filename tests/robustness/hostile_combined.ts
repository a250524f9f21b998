/**
 * Several hostile scenarios at once against one server: their environments merged, each attack
 * from its own range of source addresses, their checks and tallies labelled by row.
 *
 * @module
 */

import { Tally } from "./hostile_probe.ts";
import type { Check, HostileSpec } from "./hostile_run.ts";

/** Source addresses reserved for each attack of a combination. */
const ADDRESSES_PER_ATTACK = 1000;

function labelled(row: string, checks: Check[]): Check[] {
  return checks.map((c) => ({ ...c, what: `row ${row}: ${c.what}` }));
}

/**
 * One spec that runs every attack of `specs` at the same time. Later environments win where
 * they set the same variable, so pick sizes that agree (e.g. the same MAX_CONNECTIONS).
 *
 * @example
 * ```ts
 * const report = await runHostile(combine([historyFlood(s1), connectionHog(s7)], 128));
 * ```
 */
export function combine(specs: HostileSpec[], memoryLimitMb: number): HostileSpec {
  const files = specs.map((s) => s.maxOpenFiles).filter((n): n is number => n !== undefined);
  return {
    row: "combined",
    attack: `rows ${specs.map((s) => s.row).join(" + ")} at once`,
    memoryLimitMb,
    env: Object.assign({}, ...specs.map((s) => s.env ?? {})),
    maxOpenFiles: files.length ? Math.min(...files) : undefined,
    run: async (ctx) => {
      const outcomes = await Promise.all(
        specs.map((spec, k) =>
          spec.run({ ...ctx, address: (i) => ctx.address(k * ADDRESSES_PER_ATTACK + i) })
        ),
      );
      const got = new Tally();
      const details: Record<string, number | string> = {};
      const checks: Check[] = [];
      outcomes.forEach((outcome, k) => {
        const row = specs[k].row;
        for (const [label, n] of outcome.got.counts) got.add(`r${row} ${label}`, n);
        for (const [name, value] of Object.entries(outcome.details)) {
          details[`r${row}.${name}`] = value;
        }
        checks.push(...labelled(row, outcome.checks));
      });
      return { got, details, checks };
    },
    afterStop: (output, metrics, config) =>
      specs.flatMap((s) => labelled(s.row, s.afterStop?.(output, metrics, config) ?? [])),
  };
}
