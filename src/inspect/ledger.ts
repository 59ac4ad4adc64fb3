/**
 * The parameter ledger: what a fully connected (dense) layer, a locally connected layer and a convolution cost
 * for the same input and the same number of output units, so the two separate savings of a CNN are visible:
 *
 * - local connectivity (dense -> locally connected): each unit sees a kH×kW×C window instead of the whole
 *   H×W×C image, a saving of H·W / (kH·kW) in weights;
 * - weight sharing (locally connected -> conv): units at different positions share one filter bank, a saving
 *   of H_out·W_out (the number of positions) in weights. Sharing saves parameters, not arithmetic: the
 *   locally connected layer and the convolution do the same multiply-accumulates.
 *
 * `layerLedger` does this for one layer (the seed's arithmetic: a 200x200x3 image and 1000 dense units cost
 * 120,001,000 parameters); `modelLedger` compares every weighted layer of a zoo model with a dense layer of the
 * same input and output widths.
 *
 * @example
 * const l = layerLedger({ input: [3, 200, 200], units: 1000 });
 * l.dense.params;   // 120_001_000
 * l.local.params;   // 1_201_000  (10 channels on a 10x10 grid, 20x20 windows)
 * l.conv.params;    // 12_010
 */
import type { Module } from '../nn/module.js';
import { summary, type ModelSummary } from './summary.js';

/** The cost of one layer. */
export interface LayerCost {
  readonly kind: 'dense' | 'locally connected' | 'conv';
  /** e.g. `10 filters 20x20x3, stride 20, on a 10x10 grid`. */
  readonly description: string;
  readonly outputUnits: number;
  /** Input values each output unit is connected to. */
  readonly connectionsPerUnit: number;
  readonly weights: number;
  readonly biases: number;
  readonly params: number;
  /** Multiply-accumulates per image. */
  readonly macs: number;
}

/** Geometry of the conv / locally connected layers (all optional: see `layerLedger`). */
export interface LedgerGeometry {
  kernel?: number;
  stride?: number;
  padding?: number;
  /** Output channels; default: units / (H_out·W_out). */
  channels?: number;
}

export interface LayerLedgerOptions extends LedgerGeometry {
  /** Input [C, H, W]. */
  input: readonly [number, number, number];
  /** Output units of the dense layer (and, as nearly as the geometry allows, of the other two). */
  units: number;
  /** Count biases (default true). */
  bias?: boolean;
}

export interface LayerLedger {
  readonly input: readonly [number, number, number];
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly channels: number;
  readonly outputGrid: readonly [number, number];
  readonly dense: LayerCost;
  readonly local: LayerCost;
  readonly conv: LayerCost;
  /** dense.params / local.params: the saving of local connectivity. */
  readonly localitySaving: number;
  /** local.params / conv.params: the saving of weight sharing. */
  readonly sharingSaving: number;
}

const gridSize = (n: number, k: number, s: number, p: number): number => Math.floor((n + 2 * p - k) / s) + 1;

/**
 * The default geometry for `units` outputs on an H×W input: the largest square grid g×g with g dividing H and
 * W and g² dividing `units`, tiled by non-overlapping windows (kernel = stride = H/g), with units/g² channels.
 * For 200x200 and 1000 units: a 10x10 grid of 20x20 windows with 10 channels.
 */
export function defaultLedgerGeometry(height: number, width: number, units: number): Required<LedgerGeometry> {
  let best = 1;
  for (let g = 1; g <= Math.min(height, width); g++) {
    if (height % g === 0 && width % g === 0 && units % (g * g) === 0 && height / g === width / g) best = g;
  }
  return { kernel: height / best, stride: height / best, padding: 0, channels: units / (best * best) };
}

function check(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`ledger: ${name} must be an integer >= ${min}, got ${v}`);
}

/** Dense vs locally connected vs conv for one input and one number of output units (see the module comment). */
export function layerLedger(options: LayerLedgerOptions): LayerLedger {
  const [c, h, w] = options.input;
  check('input channels', c, 1); check('input height', h, 1); check('input width', w, 1); check('units', options.units, 1);
  const withBias = options.bias ?? true;
  const geometryGiven = options.kernel !== undefined || options.stride !== undefined || options.padding !== undefined;
  if (!geometryGiven && h !== w) throw new Error(`ledger: the default geometry needs a square input; give kernel/stride/padding for ${h}x${w}`);
  const auto = defaultLedgerGeometry(h, w, options.units);
  const kernel = options.kernel ?? (geometryGiven ? 3 : auto.kernel);
  const stride = options.stride ?? (geometryGiven ? 1 : auto.stride);
  const padding = options.padding ?? 0;
  check('kernel', kernel, 1); check('stride', stride, 1); check('padding', padding, 0);
  const oh = gridSize(h, kernel, stride, padding), ow = gridSize(w, kernel, stride, padding);
  if (oh < 1 || ow < 1) throw new Error(`ledger: a ${kernel}x${kernel} window with padding ${padding} does not fit a ${h}x${w} input`);
  let channels = options.channels;
  if (channels === undefined) {
    if (options.units % (oh * ow) !== 0) {
      throw new Error(`ledger: ${options.units} units do not divide evenly over a ${oh}x${ow} output grid; give channels explicitly (units = channels x ${oh * ow})`);
    }
    channels = options.units / (oh * ow);
  }
  check('channels', channels, 1);

  const inUnits = c * h * w;
  const units = options.units;
  const dense: LayerCost = {
    kind: 'dense',
    description: `${units} units, each connected to all ${inUnits.toLocaleString('en-US')} inputs`,
    outputUnits: units,
    connectionsPerUnit: inUnits,
    weights: inUnits * units,
    biases: withBias ? units : 0,
    params: inUnits * units + (withBias ? units : 0),
    macs: inUnits * units,
  };
  const positions = oh * ow, taps = c * kernel * kernel, outUnits = channels * positions;
  const window = `${kernel}x${kernel}x${c}${stride !== 1 ? `, stride ${stride}` : ''}${padding ? `, padding ${padding}` : ''}`;
  const local: LayerCost = {
    kind: 'locally connected',
    description: `${channels} x ${oh}x${ow} units, each with its own ${window} filter`,
    outputUnits: outUnits,
    connectionsPerUnit: taps,
    weights: positions * channels * taps,
    biases: withBias ? outUnits : 0,
    params: positions * channels * taps + (withBias ? outUnits : 0),
    macs: outUnits * taps,
  };
  const conv: LayerCost = {
    kind: 'conv',
    description: `${channels} shared ${window} filters on a ${oh}x${ow} grid`,
    outputUnits: outUnits,
    connectionsPerUnit: taps,
    weights: channels * taps,
    biases: withBias ? channels : 0,
    params: channels * taps + (withBias ? channels : 0),
    macs: outUnits * taps,
  };
  return {
    input: [c, h, w], kernel, stride, padding, channels, outputGrid: [oh, ow],
    dense, local, conv,
    localitySaving: dense.params / local.params,
    sharingSaving: local.params / conv.params,
  };
}

/** One weighted layer of a model beside the dense layer of the same widths. */
export interface ModelLedgerRow {
  readonly path: string;
  readonly type: string;
  readonly inputUnits: number;
  readonly outputUnits: number;
  readonly params: number;
  /** The same connectivity without weight sharing (Conv2d only; equals params for Linear and LocallyConnected2d). */
  readonly unsharedParams: number;
  /** A dense layer from inputUnits to outputUnits (with biases). */
  readonly denseParams: number;
  readonly macs: number;
  readonly denseMacs: number;
}

export interface ModelLedger {
  readonly model: string;
  readonly inputShape: readonly number[];
  readonly rows: readonly ModelLedgerRow[];
  /** Parameters of the model (all layers, BatchNorm included). */
  readonly totalParams: number;
  /** Parameters outside the weighted layers (BatchNorm affine parameters, ...). */
  readonly otherParams: number;
  readonly unsharedParams: number;
  readonly denseParams: number;
  readonly totalMacs: number;
  readonly denseMacs: number;
}

const WEIGHTED = new Set(['Conv2d', 'LocallyConnected2d', 'Linear']);

interface WeightedLayer { weight?: { numel: number }; bias?: { numel: number } | null }

/**
 * Every Conv2d, LocallyConnected2d and Linear call of `model` on one input of `inputShape` (no batch
 * dimension), beside what it would cost without weight sharing and as a dense layer with the same numbers of
 * input and output units ("this model vs the dense network with the same layer widths").
 */
export function modelLedger(model: Module, inputShape: readonly number[], traced?: ModelSummary): ModelLedger {
  const s = traced ?? summary(model, inputShape);
  const rows: ModelLedgerRow[] = [];
  for (const r of s.rows) {
    if (!r.leaf || !WEIGHTED.has(r.type)) continue;
    const inputUnits = r.inputShape.slice(1).reduce((a, b) => a * b, 1);
    const outputUnits = r.outputShape.slice(1).reduce((a, b) => a * b, 1);
    const layer = model.getSubmodule(r.path) as Module & WeightedLayer;
    const biases = layer.bias ? layer.bias.numel : 0;
    let unsharedParams = r.params;
    if (r.type === 'Conv2d' && r.outputShape.length === 4) {
      const positions = r.outputShape[2]! * r.outputShape[3]!;
      unsharedParams = positions * (layer.weight?.numel ?? 0) + (biases > 0 ? outputUnits : 0);
    }
    rows.push({
      path: r.path, type: r.type, inputUnits, outputUnits, params: r.params, unsharedParams,
      denseParams: inputUnits * outputUnits + (biases > 0 ? outputUnits : 0),
      macs: r.macs,
      denseMacs: inputUnits * outputUnits,
    });
  }
  const sum = (f: (r: ModelLedgerRow) => number): number => rows.reduce((a, r) => a + f(r), 0);
  const weighted = sum((r) => r.params);
  return {
    model: s.model,
    inputShape: s.inputShape,
    rows,
    totalParams: s.totalParams,
    otherParams: s.totalParams - weighted,
    unsharedParams: sum((r) => r.unsharedParams),
    denseParams: sum((r) => r.denseParams),
    totalMacs: s.totalMacs,
    denseMacs: sum((r) => r.denseMacs),
  };
}

const n = (v: number): string => Math.round(v).toLocaleString('en-US');
const ratio = (v: number): string => (v >= 100 ? `${n(v)}x` : `${v.toFixed(v >= 10 ? 1 : 2)}x`);

function table(header: string[], rows: string[][], numericFrom: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i >= numericFrom ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [rule, line(header), rule, ...rows.map(line), rule];
}

/** A text report of `layerLedger`. */
export function formatLayerLedger(l: LayerLedger): string {
  const [c, h, w] = l.input;
  const rows = [l.dense, l.local, l.conv].map((x) => [x.kind, n(x.outputUnits), n(x.connectionsPerUnit), n(x.weights), n(x.biases), n(x.params), n(x.macs)]);
  return [
    `Input ${h}x${w}x${c} (${n(c * h * w)} values); ${n(l.dense.outputUnits)} output units`,
    ...table(['layer', 'output units', 'inputs/unit', 'weights', 'biases', 'params', 'MACs/image'], rows, 1),
    `  dense:             ${l.dense.description}`,
    `  locally connected: ${l.local.description}`,
    `  conv:              ${l.conv.description}`,
    `Local connectivity saves ${ratio(l.localitySaving)} (dense -> locally connected: each unit sees ${l.kernel}x${l.kernel}x${c} instead of ${h}x${w}x${c}).`,
    `Weight sharing saves ${ratio(l.sharingSaving)} more (locally connected -> conv: ${l.outputGrid[0]}x${l.outputGrid[1]} positions share one filter bank).`,
    `Together: ${ratio(l.dense.params / l.conv.params)}. Sharing saves parameters, not arithmetic: locally connected and conv do the same ${n(l.conv.macs)} MACs.`,
  ].join('\n');
}

/** A text report of `modelLedger`. */
export function formatModelLedger(m: ModelLedger): string {
  const rows = m.rows.map((r) => [r.path, r.type, n(r.inputUnits), n(r.outputUnits), n(r.params), n(r.unsharedParams), n(r.denseParams)]);
  rows.push(['(other: BatchNorm, ...)', '', '', '', n(m.otherParams), n(m.otherParams), n(m.otherParams)]);
  rows.push(['total', '', '', '', n(m.totalParams), n(m.unsharedParams + m.otherParams), n(m.denseParams + m.otherParams)]);
  return [
    `${m.model} on ${m.inputShape.slice(1).join('x')}: each weighted layer vs the same layer without weight sharing and as a dense layer of the same widths`,
    ...table(['layer', 'type', 'in units', 'out units', 'params', 'unshared', 'dense'], rows, 2),
    `Without weight sharing: ${ratio((m.unsharedParams + m.otherParams) / m.totalParams)} the parameters; dense network of the same widths: ${ratio((m.denseParams + m.otherParams) / m.totalParams)} the parameters and ${ratio(m.denseMacs / Math.max(1, m.totalMacs))} the MACs (${n(m.denseMacs)} vs ${n(m.totalMacs)}).`,
  ].join('\n');
}
