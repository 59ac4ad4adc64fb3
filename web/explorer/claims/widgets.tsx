/**
 * Small building blocks of the claims panels: a collapsible panel that says when it is opened (its work runs
 * then, not at page load), a labelled number field, a uPlot line chart sized to its container, a canvas that
 * draws a feature map, and the error line every panel shows beside its controls.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { Plane } from './protocol.js';

export function Panel(props: { id: string; title: string; onOpen: () => void; children: ComponentChildren }) {
  const opened = useRef(false);
  return (
    <details id={props.id} class="claim" onToggle={(e) => {
      if ((e.currentTarget as HTMLDetailsElement).open && !opened.current) {
        opened.current = true;
        props.onOpen();
      }
    }}>
      <summary><h3>{props.title}</h3></summary>
      <div class="claim-body">{props.children}</div>
    </details>
  );
}

/** A number input with a visible label; `value` is kept as typed so a bad entry stays on screen with its message. */
export function NumberField(props: {
  label: string; name: string; value: string; onInput: (v: string) => void; min?: number; max?: number; placeholder?: string;
}) {
  return (
    <label>
      {props.label}
      <input type="number" name={props.name} value={props.value} min={props.min} max={props.max} step={1}
        placeholder={props.placeholder} onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value)} />
    </label>
  );
}

/** An integer from a field, or NaN (the worker or the library then says what is wrong). */
export function toInteger(text: string): number {
  return text.trim() === '' ? NaN : Number(text);
}

export function Alert(props: { message: string | null }) {
  return props.message ? <p class="error" role="alert">{props.message}</p> : null;
}

export function Progress(props: { done: number; total: number; message: string }) {
  return (
    <p class="claim-progress">
      <progress max={props.total} value={props.done} aria-label="progress" /> <span role="status">{props.message}</span>
    </p>
  );
}

export interface LineSeries { label: string; color: string; dash?: number[]; points?: boolean }

const CHART_HEIGHT = 220;

/** A line chart with axes and a legend; `data` is uPlot's columns [x, y1, y2, ...] (null: no value). */
export function LineChart(props: {
  title: string; xLabel: string; yLabel: string; series: LineSeries[]; data: (number | null)[][];
  yRange?: [number, number]; xRange?: [number, number]; formatY?: (v: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { title, xLabel, yLabel, series, yRange, xRange, formatY } = props;
  const seriesKey = series.map((s) => s.label).join('|');

  // The newest data, for a chart created after it arrived.
  const latest = useRef(props.data);
  latest.current = props.data;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = formatY ?? ((v: number) => v.toPrecision(3));
    const options: uPlot.Options = {
      title, width: Math.max(200, el.clientWidth), height: CHART_HEIGHT,
      scales: { x: { time: false, ...(xRange ? { range: () => xRange } : {}) }, y: yRange ? { range: () => yRange } : {} },
      axes: [{ label: xLabel, size: 40 }, { label: yLabel, size: 56, values: (_u, ticks) => ticks.map((t) => fmt(t)) }],
      series: [
        { label: xLabel, value: (_u, v) => (v == null ? '-' : String(v)) },
        ...series.map((s): uPlot.Series => ({
          label: s.label, stroke: s.color, width: 1.5, spanGaps: true, ...(s.dash ? { dash: s.dash } : {}),
          points: { show: s.points ?? false, size: 5, fill: s.color }, value: (_u, v) => (v == null ? '-' : fmt(v)),
        })),
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    // Built in a task of its own, after the panel's tables have rendered: one long task becomes two short ones.
    const timer = setTimeout(() => {
      options.width = Math.max(200, el.clientWidth);
      plot.current = new uPlot(options, latest.current as uPlot.AlignedData, el);
    }, 0);
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (plot.current && plot.current.width !== width) plot.current.setSize({ width, height: CHART_HEIGHT });
    });
    resize.observe(el);
    return () => { clearTimeout(timer); resize.disconnect(); plot.current?.destroy(); plot.current = null; };
    // Rebuilt only when the chart's structure changes; new data goes through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [title, xLabel, yLabel, seriesKey, yRange?.[0], yRange?.[1], xRange?.[0], xRange?.[1]]);

  useEffect(() => { plot.current?.setData(props.data as uPlot.AlignedData); }, [props.data]);

  return <div class="claim-chart" ref={box} role="img" aria-label={title} />;
}

/**
 * A feature map on a canvas, `size` CSS pixels wide. 'gray': black..white over [lo, hi] (default the plane's own
 * range); 'heat': white at 0 to red at `hi` (error maps). `box`: an outline (inclusive row/col ranges).
 */
export function PlaneCanvas(props: {
  plane: Plane; size: number; mode?: 'gray' | 'heat'; range?: [number, number]; label: string;
  box?: { rows: [number, number]; cols: [number, number] } | null;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { plane, mode = 'gray', range, box } = props;
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const scale = Math.max(1, Math.floor(props.size / plane.width));
    canvas.width = plane.width * scale;
    canvas.height = plane.height * scale;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    let lo = range?.[0] ?? Infinity, hi = range?.[1] ?? -Infinity;
    if (!range) for (const v of plane.values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (mode === 'heat') lo = 0;
    const span = hi - lo || 1;
    const img = ctx.createImageData(plane.width, plane.height);
    for (let i = 0; i < plane.values.length; i++) {
      const t = Math.min(1, Math.max(0, (plane.values[i]! - lo) / span));
      const o = i * 4;
      if (mode === 'heat') { img.data[o] = 255; img.data[o + 1] = img.data[o + 2] = Math.round(255 * (1 - t)); }
      else img.data[o] = img.data[o + 1] = img.data[o + 2] = Math.round(255 * t);
      img.data[o + 3] = 255;
    }
    // Draw at 1:1 on a scratch canvas, then scale up without smoothing (crisp pixels).
    const scratch = document.createElement('canvas');
    scratch.width = plane.width;
    scratch.height = plane.height;
    scratch.getContext('2d')?.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
    if (box && box.rows[1] >= box.rows[0] && box.cols[1] >= box.cols[0]) {
      ctx.strokeStyle = '#1f6feb';
      ctx.lineWidth = 1;
      ctx.strokeRect(box.cols[0] * scale + 0.5, box.rows[0] * scale + 0.5, (box.cols[1] - box.cols[0] + 1) * scale - 1, (box.rows[1] - box.rows[0] + 1) * scale - 1);
    }
  }, [plane, mode, range?.[0], range?.[1], box?.rows[0], box?.rows[1], box?.cols[0], box?.cols[1], props.size]);
  return <canvas ref={ref} class="pixelated claim-plane" style={{ width: `${props.size}px` }} role="img" aria-label={props.label} />;
}

/** 0.000123 -> '1.23e-4'; 0 -> '0'. */
export function sci(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'no interior' : String(v);
  return v === 0 ? '0' : Math.abs(v) >= 0.01 ? v.toPrecision(3) : v.toExponential(2);
}

export const pct = (v: number, digits = 1): string => `${(v * 100).toFixed(digits)}%`;
