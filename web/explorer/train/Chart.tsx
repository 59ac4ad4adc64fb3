/**
 * A line chart with axes and a legend (uPlot), resized to its container so it fits a phone and a laptop.
 * `data` is uPlot's column layout: [x, series1, series2, ...]; null where a series has no value at that x.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  color: string;
  /** Draw the points (series with few values, e.g. one per epoch). */
  points?: boolean;
  dash?: number[];
}

export interface ChartProps {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  data: (number | null)[][];
  /** Fixed x range (e.g. [0, epochs]) so the curve grows left to right instead of rescaling. */
  xRange?: [number, number];
  /** Fixed y range, e.g. [0, 1] for accuracy. */
  yRange?: [number, number];
  /** Format of y values on the axis and in the legend. */
  formatY?: (v: number) => string;
}

const HEIGHT = 220;

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { id, title, xLabel, yLabel, series, xRange, yRange, formatY } = props;
  const seriesKey = series.map((s) => s.label).join('|');
  // Read by the scale's range function at each redraw, so a new range needs no new chart (rebuilding one is the
  // costliest thing the page does while training).
  const xRangeRef = useRef(xRange);
  xRangeRef.current = xRange;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = formatY ?? ((v: number) => v.toPrecision(3));
    const options: uPlot.Options = {
      title, width: Math.max(200, el.clientWidth), height: HEIGHT,
      scales: {
        x: { time: false, range: (_u, min, max) => xRangeRef.current ?? [min, max] },
        y: yRange ? { range: () => yRange } : {},
      },
      axes: [
        { label: xLabel, size: 40 },
        { label: yLabel, size: 56, values: (_u, ticks) => ticks.map((t) => fmt(t)) },
      ],
      series: [
        { label: xLabel, value: (_u, v) => (v == null ? '-' : v.toFixed(2)) },
        ...series.map((s): uPlot.Series => ({
          label: s.label, stroke: s.color, width: 1.5, spanGaps: true,
          ...(s.dash ? { dash: s.dash } : {}),
          points: { show: s.points ?? false, size: 6, fill: s.color },
          value: (_u, v) => (v == null ? '-' : fmt(v)),
        })),
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(options, props.data as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (plot.current && plot.current.width !== width) plot.current.setSize({ width, height: HEIGHT });
    });
    resize.observe(el);
    return () => { resize.disconnect(); plot.current?.destroy(); plot.current = null; };
    // The chart is rebuilt only when its structure changes; new data goes through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [title, xLabel, yLabel, seriesKey, yRange?.[0], yRange?.[1]]);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data, xRange?.[0], xRange?.[1]]);

  const points = props.data.slice(1).reduce((n, col) => n + col.filter((v) => v !== null).length, 0);
  return <div id={id} class="train-chart" ref={box} data-points={points} role="img" aria-label={`${title}: ${points} points`} />;
}
