/**
 * Turns benchmark figures into Markdown tables: one row per figure, the baseline, Fanout, and
 * Fanout's ratio to the baseline (or two other columns, such as `api-publish`'s socket and HTTP).
 *
 * @module
 */

/** One row of a table: which figure (`key`), its label, and how many decimals to show. */
export interface Column {
  key: string;
  label: string;
  digits?: number;
}

/**
 * Median of the finite numbers (NaN when none).
 *
 * @example
 * ```ts
 * median([3, 1, NaN, 2]); // 2
 * ```
 */
export function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function show(value: number, digits: number): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** The headings of a table's two columns of figures and of their ratio (second / first). */
export interface Heads {
  first: string;
  second: string;
  ratio: string;
}

const SERVERS: Heads = { first: "baseline", second: "Fanout", ratio: "Fanout / baseline" };

/**
 * Renders a table from per-round results of both columns (medians over rounds): by default the
 * baseline and Fanout, with Fanout's ratio to the baseline.
 *
 * @example
 * ```ts
 * table("fanout", [{ key: "p99", label: "p99 ms", digits: 1 }], [{ p99: 2000 }], [{ p99: 50 }]);
 * // "### fanout\n\n| figure | baseline | Fanout | Fanout / baseline |\n..."
 * ```
 */
export function table(
  title: string,
  columns: Column[],
  baseline: Record<string, number>[],
  fanout: Record<string, number>[],
  heads: Heads = SERVERS,
): string {
  const lines = [
    `### ${title}`,
    "",
    `| figure | ${heads.first} | ${heads.second} | ${heads.ratio} |`,
    "|---|---:|---:|---:|",
  ];
  for (const c of columns) {
    const b = median(baseline.map((r) => r[c.key]));
    const f = median(fanout.map((r) => r[c.key]));
    const ratio = b === 0 && f === 0 ? "1.00×" : `${show(f / b, 2)}×`;
    lines.push(`| ${c.label} | ${show(b, c.digits ?? 0)} | ${show(f, c.digits ?? 0)} | ${ratio} |`);
  }
  return lines.join("\n") + "\n";
}
