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
