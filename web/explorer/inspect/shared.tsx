/** Pieces both inspect views use: the no-model hint (with "inspect an untrained network"), colour scales, and a
 * runner that keeps at most one engine request in flight and drops stale ones. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from '../app.js';
import './inspect.css';

/** Zoo models that take the 1x28x28 Fashion-MNIST input this button creates. */
export const UNTRAINED_MODELS: readonly string[] = ['lenet5', 'vggsmall', 'mlp'];

/**
 * Shown while the engine has no model: where to get one, and a button that creates an untrained seeded zoo
 * model (its weights are PyTorch's default initialisation: the network before it has learnt anything).
 */
export function NoModelHint({ idPrefix }: { idPrefix: string }) {
  const app = useApp();
  const [name, setName] = useState('lenet5');
  const [seed, setSeed] = useState('0');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const create = async () => {
    const value = Number(seed);
    if (seed.trim() === '' || !Number.isInteger(value) || value < 0) {
      setError(`the seed must be a whole number of 0 or more, got '${seed}'`);
      return;
    }
    setError(null);
    setBusy(true);
    try {
      app.setModel(await app.client.call('inspect.createModel', { name, seed: value }));
      app.setStatus(`created an untrained ${name} (seed ${value})`);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="note no-model" data-no-model>
      <p>There is no model yet: train one in the <a href="#train" onClick={(e) => { e.preventDefault(); app.showTab('train'); }}>Train</a> tab,
        or load a checkpoint in <a href="#models" onClick={(e) => { e.preventDefault(); app.showTab('models'); }}>Models in and out</a>.
        Or look at a network before it has learnt anything:</p>
      <div class="controls">
        <label>model
          <select id={`${idPrefix}-untrained-model`} value={name} onChange={(e) => setName((e.target as HTMLSelectElement).value)}>
            {UNTRAINED_MODELS.map((m) => <option key={m} value={m}>{m}</option>)}
          </select>
        </label>
        <label>seed
          <input id={`${idPrefix}-untrained-seed`} type="number" min={0} step={1} value={seed}
            onInput={(e) => setSeed((e.target as HTMLInputElement).value)} aria-invalid={error !== null} />
        </label>
        <button id={`${idPrefix}-untrained`} type="button" disabled={busy || app.training} onClick={() => void create()}>
          inspect an untrained {name}
        </button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  );
}

/**
 * Keep one request in flight: `run(job)` starts `job` now if nothing runs, else remembers it and starts it when
 * the running one ends (an older remembered job is dropped). Results of a job that was superseded while it ran
 * still arrive; callers compare their own sequence numbers if they must.
 */
export function useLatestRunner(): (job: () => Promise<void>) => void {
  const state = useRef<{ running: boolean; next: (() => Promise<void>) | null }>({ running: false, next: null });
  const unmounted = useRef(false);
  useEffect(() => () => { unmounted.current = true; }, []);
  return (job) => {
    const s = state.current;
    if (s.running) {
      s.next = job;
      return;
    }
    const loop = async (current: () => Promise<void>): Promise<void> => {
      s.running = true;
      try {
        await current();
      } finally {
        s.running = false;
        const queued = s.next;
        s.next = null;
        if (queued && !unmounted.current) void loop(queued);
      }
    };
    void loop(job);
  };
}

/**
 * Diverging colour for v in [-limit, limit]: blue (negative), white (0), red (positive), as RGB bytes.
 * One limit per layer, so the channels of a layer are comparable.
 */
export function divergingColour(v: number, limit: number): [number, number, number] {
  const t = limit > 0 ? Math.max(-1, Math.min(1, v / limit)) : 0;
  const white: [number, number, number] = [247, 247, 247];
  const end: [number, number, number] = t < 0 ? [33, 102, 172] : [178, 24, 43];
  const a = Math.abs(t);
  return [0, 1, 2].map((i) => Math.round(white[i]! + (end[i]! - white[i]!) * a)) as [number, number, number];
}

/** The largest |v| (0 for an empty or all-zero array). */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/** A short number for labels: 3 significant digits. */
export function short(v: number): string {
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

/** The colour legend of a diverging scale: -limit ... 0 ... +limit. */
export function DivergingLegend({ limit, label }: { limit: number; label: string }) {
  return (
    <div class="legend" data-min={-limit} data-max={limit} aria-label={`${label}: blue ${short(-limit)}, white 0, red ${short(limit)}`}>
      <span>{short(-limit)}</span>
      <span class="legend-bar" aria-hidden="true" />
      <span>{short(limit)}</span>
      <span class="legend-what">{label}</span>
    </div>
  );
}

/** Draw one H x W plane of values (offset into `values`) into a canvas of that size with the diverging scale. */
export function drawPlane(canvas: HTMLCanvasElement, values: Float32Array, offset: number, h: number, w: number, limit: number): void {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = divergingColour(values[offset + i]!, limit);
    img.data[i * 4] = r;
    img.data[i * 4 + 1] = g;
    img.data[i * 4 + 2] = b;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Draw a [C, H, W] input (pixels in [0, 1]) as gray (C = 1) or RGB (C = 3) into a canvas of size W x H. */
export function drawInput(canvas: HTMLCanvasElement, pixels: Float32Array, shape: readonly [number, number, number]): void {
  const [c, h, w] = shape;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(w, h);
  const plane = h * w;
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) img.data[i * 4 + k] = Math.round(255 * pixels[(c === 3 ? k : 0) * plane + i]!);
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
