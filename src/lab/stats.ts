/** Small statistics and formatting helpers for the lab's tables. */

export interface Spread {
  mean: number;
  /** Sample standard deviation (0 for one value). */
  std: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, min: Math.min(...values), max: Math.max(...values), n };
}

/** 0.8734 -> "87.3%". */
export function pct(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '-';
}

/** Mean ± std in percent: "87.3 ± 0.4%" (no ± for one run). */
export function pctSpread(s: Spread, digits = 1): string {
  if (!Number.isFinite(s.mean)) return '-';
  return s.n > 1 ? `${(s.mean * 100).toFixed(digits)} ± ${(s.std * 100).toFixed(digits)}%` : pct(s.mean, digits);
}

/** 1234567 -> "1,234,567". */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A number in scientific or fixed notation, whichever reads better. */
export function sci(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4 ? x.toExponential(digits) : x.toFixed(digits + 1);
}

/** A Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Seeds 0..n-1. */
export function seedList(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * The 0.975 quantile of Student's t distribution with `df` degrees of freedom (df 1-30 from the table every
 * statistics book prints, to 3 decimals; above 30 the normal quantile 1.960 is within 2 %).
 */
const T_975 = [NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`tQuantile975: degrees of freedom must be a positive integer, got ${df}`);
  return df < T_975.length ? T_975[df]! : 1.96;
}

/** A two-sided 95 % confidence interval for a mean. */
export interface Interval95 {
  mean: number;
  lo: number;
  hi: number;
  /** t(0.975, n-1) * std / sqrt(n); NaN for fewer than 2 values (no interval from one run). */
  halfWidth: number;
  n: number;
}

/**
 * The 95 % interval of the mean of `values` with Student's t (n - 1 degrees of freedom): mean ± t * s / sqrt(n).
 * With n = 3, t = 4.303, so the interval is mean ± 2.484 s: three seeds pin a mean down only loosely.
 *
 * @example
 * interval95([0.90, 0.91, 0.92]); // { mean: 0.91, lo: 0.88516, hi: 0.93484, halfWidth: 0.02484, n: 3 }
 */
export function interval95(values: readonly number[]): Interval95 {
  const s = spread(values);
  const halfWidth = s.n > 1 ? (tQuantile975(s.n - 1) * s.std) / Math.sqrt(s.n) : NaN;
  return { mean: s.mean, lo: s.mean - halfWidth, hi: s.mean + halfWidth, halfWidth, n: s.n };
}

/**
 * Whether two 95 % intervals overlap. Intervals that do not overlap mean the two means differ beyond seed
 * noise (a conservative test: overlapping intervals can still differ). Without an interval (n < 2) nothing
 * can be said, and the answer is `undefined`.
 */
export function intervalsOverlap(a: Interval95, b: Interval95): boolean | undefined {
  if (!Number.isFinite(a.halfWidth) || !Number.isFinite(b.halfWidth)) return undefined;
  return a.lo <= b.hi && b.lo <= a.hi;
}

/** "91.2% [90.1, 92.3]": the mean and its 95 % interval in percent (just the mean for one run). */
export function pctInterval(i: Interval95, digits = 1): string {
  if (!Number.isFinite(i.mean)) return '-';
  const p = (x: number): string => (x * 100).toFixed(digits);
  return Number.isFinite(i.halfWidth) ? `${p(i.mean)}% [${p(i.lo)}, ${p(i.hi)}]` : `${p(i.mean)}%`;
}
