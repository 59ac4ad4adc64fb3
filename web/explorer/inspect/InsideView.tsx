/**
 * "Inside the model": CNN Explainer on the user's own model. For the current input (`app.input`): every leaf
 * layer's output, all channels, on one diverging colour scale per layer; hovering or focusing a unit shows its
 * value and draws its receptive field on the input. Then each conv layer's filters and the architecture table
 * (shapes, parameters, MACs, receptive fields from the library's `summary`).
 *
 * The worker computes (inspect.trace: `traceLayers`; inspect.structure: `summary` + conv weights) and transfers
 * Float32Arrays; the page only paints canvases. Tracing runs while this tab is visible.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { unitField } from '../../../src/inspect/units.js';
import type { ReceptiveField } from '../../../src/inspect/receptive.js';
import { useApp } from '../app.js';
import type { ArchitectureRow, ConvFilters, LayerActivation, ModelStructure } from './protocol.js';
import { DivergingLegend, NoModelHint, drawInput, drawPlane, maxAbs, short, useLatestRunner } from './shared.js';

/** On-screen size of the smallest side of a feature map, CSS pixels (maps are painted at 1 canvas px per unit). */
const MAP_MIN_CSS = 56;
/** Minimum time between two traces while the model trains (each training step bumps the model's version). */
const LIVE_INTERVAL_MS = 500;

/** The unit under the pointer or keyboard focus. */
interface Unit {
  layer: string;
  channel: number;
  row: number;
  col: number;
  value: number;
  /** The input pixels it sees, clipped to the image, and the whole field (which may reach into the padding). */
  clipped: { x0: number; y0: number; x1: number; y1: number } | null;
  full: { x0: number; y0: number; x1: number; y1: number };
}

interface TraceResult { layers: LayerActivation[]; layersError: string | null; probabilities: Float32Array; classNames: string[] }

/** One feature map (channel) of a spatial layer, hoverable and focusable (arrow keys move over units). */
function FeatureMap({ layer, channel, limit, onUnit }: {
  layer: LayerActivation; channel: number; limit: number; onUnit(channel: number, row: number, col: number): void;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const cursor = useRef<[number, number]>([0, 0]);
  const [, h, w] = layer.shape as [number, number, number];
  useEffect(() => {
    if (ref.current) drawPlane(ref.current, layer.values, channel * h * w, h, w, limit);
  }, [layer, channel, limit, h, w]);
  const scale = Math.max(1, Math.ceil(MAP_MIN_CSS / Math.min(h, w)));
  const at = (e: PointerEvent): [number, number] => {
    const rect = ref.current!.getBoundingClientRect();
    const col = Math.min(w - 1, Math.max(0, Math.floor(((e.clientX - rect.left) / rect.width) * w)));
    const row = Math.min(h - 1, Math.max(0, Math.floor(((e.clientY - rect.top) / rect.height) * h)));
    return [row, col];
  };
  return (
    <canvas ref={ref} width={w} height={h} style={{ width: `${w * scale}px`, height: `${h * scale}px` }} tabIndex={0}
      data-channel={channel} aria-label={`${layer.path} channel ${channel}, ${h} by ${w} units; arrow keys move over them`}
      onPointerMove={(e) => { const [r, c] = at(e); cursor.current = [r, c]; onUnit(channel, r, c); }}
      onPointerDown={(e) => { const [r, c] = at(e); cursor.current = [r, c]; onUnit(channel, r, c); }}
      onFocus={() => onUnit(channel, cursor.current[0], cursor.current[1])}
      onKeyDown={(e) => {
        const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
        const m = moves[e.key];
        if (!m) return;
        e.preventDefault();
        const r = Math.min(h - 1, Math.max(0, cursor.current[0] + m[0])), c = Math.min(w - 1, Math.max(0, cursor.current[1] + m[1]));
        cursor.current = [r, c];
        onUnit(channel, r, c);
      }} />
  );
}

/** A vector layer (Linear, its activation, Flatten): one row of cells, hoverable like a map. */
function VectorMap({ layer, limit, onUnit }: { layer: LayerActivation; limit: number; onUnit(channel: number, row: number, col: number): void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const cursor = useRef(0);
  const n = layer.values.length;
  useEffect(() => {
    if (ref.current) drawPlane(ref.current, layer.values, 0, 1, n, limit);
  }, [layer, limit, n]);
  // Pointer events: a mouse hovers, a finger taps (phones have no hover).
  const pick = (e: PointerEvent) => {
    const rect = ref.current!.getBoundingClientRect();
    const i = Math.min(n - 1, Math.max(0, Math.floor(((e.clientX - rect.left) / rect.width) * n)));
    cursor.current = i;
    onUnit(i, 0, 0);
  };
  return (
    <canvas ref={ref} width={n} height={1} tabIndex={0} aria-label={`${layer.path}: ${n} units; arrow keys move over them`}
      onPointerMove={(e) => pick(e)}
      onPointerDown={(e) => pick(e)}
      onFocus={() => onUnit(cursor.current, 0, 0)}
      onKeyDown={(e) => {
        const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
        if (!step) return;
        e.preventDefault();
        cursor.current = Math.min(n - 1, Math.max(0, cursor.current + step));
        onUnit(cursor.current, 0, 0);
      }} />
  );
}

/** All output channels of one leaf layer, on one colour scale. */
function LayerBlock({ layer, row, onUnit }: {
  layer: LayerActivation; row: ArchitectureRow | undefined; onUnit(layer: LayerActivation, channel: number, r: number, c: number): void;
}) {
  const limit = maxAbs(layer.values);
  const spatial = layer.shape.length === 3;
  const channels = layer.shape[0]!;
  const shapeText = layer.shape.join('x');
  const unit = (channel: number, r: number, c: number) => onUnit(layer, channel, r, c);
  return (
    <div class="layer-block" data-layer={layer.path} data-type={layer.type} data-channels={channels} data-shape={shapeText}>
      <h4>{layer.path} <span class="muted">{layer.type}</span> {shapeText}
        {row?.receptiveField && <span class="muted"> · field {row.receptiveField.size.join('x')}</span>}</h4>
      <DivergingLegend limit={limit} label={spatial ? `${channels} channel${channels === 1 ? '' : 's'}` : `${channels} units`} />
      {spatial
        ? <div class="maps">{Array.from({ length: channels }, (_, ch) => <FeatureMap key={ch} layer={layer} channel={ch} limit={limit} onUnit={unit} />)}</div>
        : <div class="vector"><VectorMap layer={layer} limit={limit} onUnit={unit} /></div>}
    </div>
  );
}

/** One output channel's kernel: its input channels side by side, 1 canvas pixel per weight. */
function FilterStrip({ filters, output, limit, scale }: { filters: ConvFilters; output: number; limit: number; scale: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [, inC, kh, kw] = filters.shape;
  const gap = 1;
  const width = inC * (kw + gap) - gap;
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    canvas.width = width;
    canvas.height = kh;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, width, kh);
    const tile = document.createElement('canvas');
    for (let i = 0; i < inC; i++) {
      drawPlane(tile, filters.weights, (output * inC + i) * kh * kw, kh, kw, limit);
      ctx.drawImage(tile, i * (kw + gap), 0);
    }
  }, [filters, output, limit, width, inC, kh, kw]);
  return (
    <canvas ref={ref} width={width} height={kh} style={{ width: `${width * scale}px`, height: `${kh * scale}px` }}
      title={`filter ${output}`} aria-label={`${filters.path} filter ${output}: ${inC} input channel${inC === 1 ? '' : 's'} of ${kh}x${kw} weights`} />
  );
}

/** One conv layer's weights: a strip per output channel (its input channels side by side), one colour scale. */
function FilterGrid({ filters }: { filters: ConvFilters }) {
  const [out, inC, kh, kw] = filters.shape;
  const limit = maxAbs(filters.weights);
  // Each weight at least 4 CSS px; a strip about 180 px wide when it has few input channels.
  const scale = Math.max(4, Math.min(12, Math.floor(180 / (inC * (kw + 1) - 1))));
  return (
    <div class="layer-block" data-layer={filters.path} data-filters={`${out}x${inC}x${kh}x${kw}`}>
      <h4>{filters.path} <span class="muted">Conv2d weights</span> {out} filters of {inC}x{kh}x{kw}</h4>
      <DivergingLegend limit={limit} label="weight" />
      <div class="filter-grid">
        {Array.from({ length: out }, (_, o) => <FilterStrip key={o} filters={filters} output={o} limit={limit} scale={scale} />)}
      </div>
    </div>
  );
}

function fieldText(rf: ReceptiveField | null): string {
  if (!rf) return '';
  const one = (p: readonly [number, number]) => (p[0] === p[1] ? String(p[0]) : `${p[0]}x${p[1]}`);
  return `${one(rf.size)} (jump ${one(rf.jump)}, start ${one(rf.start)})`;
}

function ArchitectureTable({ structure }: { structure: ModelStructure }) {
  return (
    <div class="scroll-x">
      <table id="inside-summary">
        <caption>{structure.name} for a {structure.inputShape.join('x')} input: {structure.totalParams.toLocaleString('en-US')} parameters,
          {' '}{structure.totalMacs.toLocaleString('en-US')} MACs per image</caption>
        <thead><tr><th>layer</th><th>type</th><th>output</th><th>parameters</th><th>MACs</th><th>receptive field</th></tr></thead>
        <tbody>
          {structure.rows.map((r) => (
            <tr key={r.path} data-layer={r.path} data-shape={r.outputShape.join('x')} data-params={r.params} data-macs={r.macs}
              data-rf-size={r.receptiveField ? r.receptiveField.size.join('x') : ''}>
              <td>{r.path}</td><td>{r.type}</td><td>{r.outputShape.join('x')}</td>
              <td>{r.params.toLocaleString('en-US')}</td><td>{r.macs.toLocaleString('en-US')}</td><td>{fieldText(r.receptiveField)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot><tr data-total><td>total</td><td /><td /><td>{structure.totalParams.toLocaleString('en-US')}</td>
          <td>{structure.totalMacs.toLocaleString('en-US')}</td><td /></tr></tfoot>
      </table>
    </div>
  );
}

export function InsideView({ active = false }: { active?: boolean }) {
  const app = useApp();
  const { model, input } = app;
  const [structure, setStructure] = useState<ModelStructure | null>(null);
  const [trace, setTrace] = useState<TraceResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [unit, setUnit] = useState<Unit | null>(null);
  const inputRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const lastTrace = useRef(0);
  const runTrace = useLatestRunner();
  const runStructure = useLatestRunner();

  // The architecture and filters change with the model (a training step changes the filters too).
  useEffect(() => {
    if (!model) { setStructure(null); return; }
    if (!active) return;
    runStructure(async () => {
      try {
        setStructure(await app.client.call('inspect.structure', {}));
      } catch (e) {
        setError((e as Error).message);
      }
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model, active]);

  // Trace every layer for the current input while the tab is visible.
  useEffect(() => {
    if (!model || !input) { setTrace(null); return; }
    if (!active) return;
    if (input.shape.join('x') !== model.inputShape.join('x')) {
      setTrace(null);
      setError(`the current input is ${input.shape.join('x')} but the model takes ${model.inputShape.join('x')}: draw or upload it again`);
      return;
    }
    const pixels = input.pixels;
    const start = () => runTrace(async () => {
      try {
        const t = await app.client.call('inspect.trace', { pixels: new Float32Array(pixels) });
        lastTrace.current = performance.now();
        setTrace(t);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    });
    // While training, each step bumps the version: trace at most every LIVE_INTERVAL_MS.
    const wait = app.training ? LIVE_INTERVAL_MS - (performance.now() - lastTrace.current) : 0;
    if (wait <= 0) { start(); return; }
    const timer = window.setTimeout(start, wait);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model, input, active]);

  // The input image, and the hovered unit's receptive field over it.
  useEffect(() => {
    if (inputRef.current && input) drawInput(inputRef.current, input.pixels, input.shape);
  }, [input, active]);
  useEffect(() => {
    const overlay = overlayRef.current;
    if (!overlay || !input) return;
    const [, h, w] = input.shape;
    const k = 8; // overlay pixels per input pixel, so the outline is crisp
    overlay.width = w * k;
    overlay.height = h * k;
    const ctx = overlay.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    if (!unit?.clipped) return;
    const { x0, y0, x1, y1 } = unit.clipped;
    ctx.fillStyle = 'rgba(255, 200, 0, 0.18)';
    ctx.fillRect(x0 * k, y0 * k, (x1 - x0 + 1) * k, (y1 - y0 + 1) * k);
    ctx.strokeStyle = '#ffb000';
    ctx.lineWidth = 3;
    ctx.strokeRect(x0 * k + 1.5, y0 * k + 1.5, (x1 - x0 + 1) * k - 3, (y1 - y0 + 1) * k - 3);
  }, [unit, input]);

  const rowsByPath = new Map((structure?.rows ?? []).map((r) => [r.path, r]));
  const onUnit = (layer: LayerActivation, channel: number, row: number, col: number) => {
    if (!input) return;
    const spatial = layer.shape.length === 3;
    const index = spatial ? (channel * layer.shape[1]! + row) * layer.shape[2]! + col : channel;
    const rf = rowsByPath.get(layer.path)?.receptiveField ?? null;
    const field = rf ? unitField(rf, row, col, [input.shape[1], input.shape[2]]) : null;
    setUnit({
      layer: layer.path, channel, row, col, value: layer.values[index]!,
      clipped: field?.clipped ?? null, full: field?.full ?? { x0: 0, y0: 0, x1: input.shape[2] - 1, y1: input.shape[1] - 1 },
    });
  };

  if (!model) {
    return (
      <div>
        <p>Inside the model shows every layer's feature maps for your input, the filters of each convolution, and
          which input pixels each unit sees.</p>
        <NoModelHint idPrefix="inside" />
      </div>
    );
  }
  const bounds = (b: { x0: number; y0: number; x1: number; y1: number } | null) => (b ? `${b.x0},${b.y0},${b.x1},${b.y1}` : '');
  return (
    <div>
      {error && <p class="error" role="alert" id="inside-error">{error}</p>}
      <div class="inspect-grid">
        <div class="inside-left">
        <div class="inside-sticky">
          <h3>Input</h3>
          {input
            ? <p class="muted">{input.source}, {input.shape.join('x')} ({model.name}, {model.origin})</p>
            : <p class="note">No input yet: draw or upload one in <a href="#input" onClick={(e) => { e.preventDefault(); app.showTab('input'); }}>Your input</a>,
              or click a test image in the Train tab.</p>}
          <div id="inside-input-box">
            <canvas id="inside-input" class="pixelated" ref={inputRef} aria-label="the input; the hovered unit's receptive field is outlined" />
            <canvas id="inside-rf" ref={overlayRef} aria-hidden="true" />
          </div>
          <div id="inside-unit" role="status" aria-live="polite"
            data-layer={unit?.layer ?? ''} data-channel={unit?.channel ?? ''} data-row={unit?.row ?? ''} data-col={unit?.col ?? ''}
            data-value={unit ? String(unit.value) : ''} data-rf={bounds(unit?.clipped ?? null)} data-rf-full={unit ? bounds(unit.full) : ''}>
            {unit
              ? <>{unit.layer}, channel {unit.channel}{rowsByPath.get(unit.layer)?.outputShape.length === 3 ? `, row ${unit.row}, column ${unit.col}` : ''}:
                {' '}<strong>{short(unit.value)}</strong>.
                {unit.clipped && <> Sees input columns {unit.clipped.x0}..{unit.clipped.x1}, rows {unit.clipped.y0}..{unit.clipped.y1}
                  {(unit.full.x0 < 0 || unit.full.y0 < 0 || unit.full.x1 >= input!.shape[2] || unit.full.y1 >= input!.shape[1]) && ' (its field also covers zero padding)'}.</>}</>
              : 'Hover over (or tap) a feature map, or focus one with Tab and move with the arrow keys, to see a unit\'s value and the input pixels it sees.'}
          </div>
        </div>
        </div>
        <div>
          <h3>Feature maps, layer by layer</h3>
          <p class="hint">Each layer has one colour scale (blue negative, white 0, red positive, limits in its legend).</p>
          {trace?.layersError && <p class="error" role="alert">{trace.layersError}</p>}
          <div id="inside-layers">
            {trace?.layers.map((l) => <LayerBlock key={l.path} layer={l} row={rowsByPath.get(l.path)} onUnit={onUnit} />)}
          </div>
        </div>
      </div>
      <h3>Filters</h3>
      <p class="hint">The weights of each convolution: one strip per filter (output channel), its input channels side by side.</p>
      <div id="inside-filters">
        {structure && structure.filters.length === 0 && <p>This model has no convolution layers.</p>}
        {structure?.filters.map((f) => <FilterGrid key={f.path} filters={f} />)}
      </div>
      <h3>Architecture</h3>
      {structure && <ArchitectureTable structure={structure} />}
    </div>
  );
}
