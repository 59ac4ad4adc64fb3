/**
 * Small, dependency-free SVG charts (browser-safe): line charts with optional error bands and bar charts.
 * They return an SVG document as a string; write it to a `.svg` file or put it in a page.
 *
 * @example
 * const svg = lineChart({ title: 'Training loss', xLabel: 'step', yLabel: 'loss',
 *   series: [{ name: 'resnet20', points: [{ x: 0, y: 2.3 }, { x: 100, y: 0.9 }] }] });
 */

export interface ChartPoint {
  x: number;
  y: number;
  /** Optional lower / upper end of an error bar (e.g. min and max over seeds). */
  lo?: number;
  hi?: number;
}

export interface ChartSeries {
  name: string;
  points: readonly ChartPoint[];
  /** A CSS colour; a palette colour when omitted. */
  color?: string;
  /** Dashed line. */
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** Logarithmic x axis (base 10); every x must be positive. */
  logX?: boolean;
  /** Fix the y range instead of fitting it to the data. */
  yRange?: readonly [number, number];
  width?: number;
  height?: number;
  /** Draw a marker at every point (default: when a series has at most 40 points). */
  markers?: boolean;
}

/** A colour-blind-friendly palette (Okabe-Ito). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/\.?0+$/, '');
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function tickLabel(v: number): string {
  if (Math.abs(v) >= 1000) return v >= 1e6 ? `${fmt(v / 1e6)}M` : `${fmt(v / 1000)}k`;
  return Math.abs(v) < 1e-9 ? '0' : Number(v.toPrecision(4)).toString();
}

/** A line chart with axes, ticks, a legend and optional error bars. */
export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 800;
  const height = o.height ?? 400;
  const m = { left: 64, right: 330, top: 36, bottom: 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const all = o.series.flatMap((s) => s.points);
  if (o.logX && all.some((p) => !(p.x > 0))) throw new Error('lineChart: logX needs every x to be positive');
  const tx = (x: number): number => (o.logX ? Math.log10(x) : x);
  let x0 = Math.min(...all.map((p) => tx(p.x)));
  let x1 = Math.max(...all.map((p) => tx(p.x)));
  if (!Number.isFinite(x0)) { x0 = 0; x1 = 1; }
  if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
  let y0: number;
  let y1: number;
  if (o.yRange) [y0, y1] = o.yRange;
  else {
    const ys = all.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]).filter(Number.isFinite);
    y0 = ys.length ? Math.min(...ys) : 0;
    y1 = ys.length ? Math.max(...ys) : 1;
    const pad = (y1 - y0) * 0.05 || 0.5;
    y0 -= pad;
    y1 += pad;
  }
  const sx = (x: number): number => m.left + ((tx(x) - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.top + (1 - (Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`);
  // grid and ticks
  const yTicks = niceTicks(y0, y1, 6);
  for (const t of yTicks) {
    const y = sy(t);
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  const xTicks = o.logX
    ? [...new Set(all.map((p) => p.x))].sort((a, b) => a - b)
    : niceTicks(x0, x1, 6);
  for (const t of xTicks) {
    const x = sx(t);
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${m.top}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">${esc(o.xLabel)}${o.logX ? ' (log scale)' : ''}</text>`);
  parts.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  // series
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    const showMarkers = o.markers ?? pts.length <= 40;
    for (const p of pts) {
      if (p.lo !== undefined && p.hi !== undefined) {
        const x = sx(p.x).toFixed(1);
        parts.push(`<line x1="${x}" x2="${x}" y1="${sy(p.lo).toFixed(1)}" y2="${sy(p.hi).toFixed(1)}" stroke="${color}" stroke-width="1.5"/>`);
        for (const v of [p.lo, p.hi]) parts.push(`<line x1="${(sx(p.x) - 4).toFixed(1)}" x2="${(sx(p.x) + 4).toFixed(1)}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}" stroke="${color}"/>`);
      }
    }
    if (pts.length > 1) {
      const d = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    }
    if (showMarkers) for (const p of pts) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = m.top + 10 + i * 20;
    parts.push(`<line x1="${m.left + pw + 12}" x2="${m.left + pw + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${m.left + pw + 42}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  /** Category labels along x (e.g. model names). */
  categories: readonly string[];
  /** One bar per series within each category; values[i] belongs to categories[i]; lo/hi draw error bars. */
  series: readonly { name: string; values: readonly number[]; lo?: readonly number[]; hi?: readonly number[]; color?: string }[];
  yRange?: readonly [number, number];
  width?: number;
  height?: number;
}

/** A grouped bar chart with a legend and value labels. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 800;
  const height = o.height ?? 380;
  const m = { left: 64, right: 330, top: 36, bottom: 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const values = o.series.flatMap((s) => [...s.values, ...(s.hi ?? [])]).filter(Number.isFinite);
  const [y0, y1] = o.yRange ?? [Math.min(0, ...values), Math.max(...values) * 1.1 || 1];
  const sy = (y: number): number => m.top + (1 - (Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * ph;
  const groupW = pw / Math.max(1, o.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, o.series.length);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`);
  for (const t of niceTicks(y0, y1, 6)) {
    const y = sy(t);
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  o.categories.forEach((c, ci) => {
    parts.push(`<text x="${(m.left + groupW * (ci + 0.5)).toFixed(1)}" y="${m.top + ph + 18}" text-anchor="middle">${esc(c)}</text>`);
    o.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined || !Number.isFinite(v)) return;
      const color = s.color ?? PALETTE[si % PALETTE.length]!;
      const x = m.left + groupW * ci + groupW * 0.1 + barW * si;
      const top = sy(v);
      parts.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(sy(y0) - top).toFixed(1)}" fill="${color}"/>`);
      const lo = s.lo?.[ci];
      const hi = s.hi?.[ci];
      if (lo !== undefined && hi !== undefined) {
        const cx = (x + barW / 2 - 1).toFixed(1);
        parts.push(`<line x1="${cx}" x2="${cx}" y1="${sy(lo).toFixed(1)}" y2="${sy(hi).toFixed(1)}" stroke="#222"/>`);
      }
      parts.push(`<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="10">${Number(v.toPrecision(3))}</text>`);
    });
  });
  parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${sy(y0)}" y2="${sy(y0)}" stroke="#333"/>`);
  parts.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const ly = m.top + 10 + i * 20;
    parts.push(`<rect x="${m.left + pw + 12}" y="${ly - 6}" width="18" height="12" fill="${s.color ?? PALETTE[i % PALETTE.length]!}"/>`);
    parts.push(`<text x="${m.left + pw + 36}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
