/**
 * Experiment 2, translation equivariance per layer: for trained vggsmall (conv), lcnet (locally connected) and
 * the MLP, shift real test images by k pixels and compare layer(shift(x)) with shift(layer(x)) on the interior
 * (output positions whose receptive field sees neither padding nor pixels the shift moved in or out). For a
 * layer with cumulative stride j, the output is shifted by k/j; when j does not divide k there is no exact
 * answer and the rounded shift is used (the aliasing of striding and pooling). The MLP's hidden units have no
 * spatial layout, so for it the table reports how much the representation changes, ||f(Sx) - f(x)|| / ||f(x)||.
 */
import { summary } from '../../inspect/summary.js';
import { translate } from '../../data/transforms.js';
import { tileGrid, stackVertically, type Tile } from '../../viz/image.js';
import { lineChart } from '../../viz/svg.js';
import { equivarianceError, interiorRange, relativeChange, shiftPlanes, traceLayers, type LayerOutput } from '../probe.js';
import { FASHION_MEAN, FASHION_STD, imagesOf } from '../train.js';
import { describeBudget, protocolOf, referenceModel } from '../protocol.js';
import { markdownTable, sci } from '../stats.js';
import type { Experiment, Judgement, Metrics } from '../types.js';
import type { Module } from '../../nn/module.js';
import type { ReceptiveField } from '../../inspect/receptive.js';

const SHIFTS = [1, 2, 4];

interface LayerRow {
  model: string;
  path: string;
  type: string;
  shape: number[];
  jump: number;
  receptiveField: number;
  /** Per shift k: relative error on the interior (spatial layers) or relative change (flat layers). */
  errors: { shift: number; relativeError: number; aligned: boolean; interiorPositions: number; metric: 'equivariance' | 'change' }[];
}

function describeLayer(o: LayerOutput, prev: string): string {
  return o.type === 'ReLU' ? `${prev}+ReLU` : o.type;
}

/** One layer's answer to "does it commute with this shift?" (see `compareShiftedLayer`). */
export interface LayerShiftComparison {
  path: string;
  type: string;
  shape: number[];
  /** Cumulative stride [rows, cols] (NaN without a receptive field). */
  jump: [number, number];
  /** Receptive-field size in input pixels [rows, cols] (NaN without one). */
  receptiveField: [number, number];
  /**
   * 'equivariance': ||layer(shift x) - shift(layer x)|| / ||layer x|| on the interior (spatial layers);
   * 'change': ||layer(shift x) - layer(x)|| / ||layer x|| (flat layers: there is no position to shift).
   */
  metric: 'equivariance' | 'change';
  relativeError: number;
  /** Largest absolute difference on the interior (spatial layers; NaN for flat ones). */
  maxAbsError: number;
  /** The shift is a whole number of output steps (only then can equivariance be exact). */
  aligned: boolean;
  interiorPositions: number;
  /** The shift applied to the layer's output (input shift / jump, rounded). */
  outputShift: [number, number];
  /** The interior compared: output rows and columns [lo, hi], inclusive (spatial layers). */
  interiorRows: [number, number];
  interiorCols: [number, number];
}

/**
 * Compare one layer's output for an image (`base`) and for the image shifted by (dy, dx) input pixels
 * (`shifted`), given the layer's receptive field on an `inputSize` [H, W] input: on the interior for spatial
 * layers (positions whose receptive field sees neither padding nor pixels the shift moved in or out), as a
 * relative change for flat ones.
 */
export function compareShiftedLayer(
  base: LayerOutput, shifted: LayerOutput, field: ReceptiveField | null | undefined, inputSize: readonly [number, number], dy: number, dx: number,
): LayerShiftComparison {
  const common = {
    path: base.path, type: base.type, shape: base.shape,
    jump: [field?.jump[0] ?? NaN, field?.jump[1] ?? NaN] as [number, number],
    receptiveField: [field?.size[0] ?? NaN, field?.size[1] ?? NaN] as [number, number],
  };
  if (base.shape.length === 4 && field) {
    const rows = interiorRange(inputSize[0], field.size[0], field.jump[0], field.start[0], Math.abs(dy), base.shape[2]!);
    const cols = interiorRange(inputSize[1], field.size[1], field.jump[1], field.start[1], Math.abs(dx), base.shape[3]!);
    const m = equivarianceError(base.data, shifted.data, base.shape, dy, dx, [field.jump[0], field.jump[1]], rows, cols);
    return {
      ...common, metric: 'equivariance', relativeError: m.relativeError, maxAbsError: m.maxAbsError, aligned: m.aligned,
      interiorPositions: m.interiorPositions, outputShift: m.outputShift, interiorRows: rows, interiorCols: cols,
    };
  }
  return {
    ...common, metric: 'change', relativeError: relativeChange(base.data, shifted.data), maxAbsError: NaN, aligned: false,
    interiorPositions: 0, outputShift: [0, 0], interiorRows: [0, -1], interiorCols: [0, -1],
  };
}

export function measureModel(name: string, model: Module, x: { data: Float32Array; shape: [number, number, number, number] }, shifts: readonly number[]): LayerRow[] {
  const [, c, h, w] = x.shape;
  const s = summary(model, [c, h, w]);
  const fields = new Map(s.rows.filter((r) => r.leaf).map((r) => [r.path, r.receptiveField]));
  const base = traceLayers(model, x.data, x.shape, name);
  const shifted = shifts.map((k) => traceLayers(model, shiftPlanes(x.data, x.shape, 0, k, -FASHION_MEAN / FASHION_STD), x.shape, name));
  const rows: LayerRow[] = [];
  let prevType = '';
  base.forEach((o, li) => {
    const rf = fields.get(o.path);
    const type = describeLayer(o, prevType);
    prevType = o.type === 'ReLU' ? prevType : o.type;
    const row: LayerRow = { model: name, path: o.path, type, shape: o.shape, jump: rf?.jump[1] ?? NaN, receptiveField: rf?.size[1] ?? NaN, errors: [] };
    shifts.forEach((k, si) => {
      const m = compareShiftedLayer(o, shifted[si]![li]!, rf, [h, w], 0, k);
      row.errors.push({ shift: k, relativeError: m.relativeError, aligned: m.aligned, interiorPositions: m.interiorPositions, metric: m.metric });
    });
    rows.push(row);
  });
  return rows;
}

/**
 * The verdict from the three numbers it rests on (one reference model each, so one value per metric):
 * `vggsmall conv error 1px` (the largest relative error of vggsmall's layers before any striding, a 1-pixel
 * shift), `vggsmall pooled error 1px` (the largest after pooling, where 1 pixel is not a whole output step) and
 * `lcnet error 1px` (the smallest of lcnet's spatial layers). "holds" when the first is float rounding (< 1e-4)
 * and the other two are not (> 1e-3 and > 1e-2); otherwise "partly holds".
 */
export function judgeEquivariance(metrics: Metrics): Judgement {
  const one = (k: string): number => Math.max(...(metrics[k] ?? [NaN]));
  const convMax = one('vggsmall conv error 1px');
  const pooled = one('vggsmall pooled error 1px');
  const lcMin = Math.min(...(metrics['lcnet error 1px'] ?? [NaN]));
  return {
    verdict: convMax < 1e-4 && pooled > 1e-3 && lcMin > 1e-2 ? 'holds' : 'partly holds',
    summary: `vggsmall's conv layers commute with a shift to ${sci(convMax)} (float error) on the interior; after pooling a 1-px shift (not a whole output step) leaves an error of up to ${sci(pooled)}; lcnet's layers are off by ${sci(lcMin)} or more.`,
  };
}

export const equivarianceExperiment: Experiment = {
  name: 'equivariance',
  index: 2,
  title: 'Translation equivariance, layer by layer',
  claim: 'Convolution commutes with translation: conv(shift(x)) = shift(conv(x)) away from the borders. Striding and pooling break it (aliasing); locally connected layers and MLPs have no such property.',
  defaultSeeds: { full: 1, quick: 1, smoke: 1 },
  judge: judgeEquivariance,
  metricOrder: () => ['vggsmall conv error 1px', 'vggsmall pooled error 1px', 'lcnet error 1px'],
  async run(ctx) {
    const p = protocolOf(ctx);
    const data = await ctx.data();
    const nets = [
      { ...(await referenceModel(ctx, 'vggsmall', 'cnn')), kind: 'conv' },
      { ...(await referenceModel(ctx, 'lcnet', 'lc')), kind: 'locally connected' },
      { ...(await referenceModel(ctx, 'mlp', 'mlp')), kind: 'dense' },
    ];
    const indices = Array.from({ length: Math.min(p.reference.probeImages, data.test.length) }, (_, i) => i);
    // Shifting in [0,1] pixel space with black fill = shifting the normalized image with fill -mean/std.
    const x = imagesOf(data.test, indices);
    const all: LayerRow[] = [];
    for (const n of nets) all.push(...measureModel(n.name, n.model, x, SHIFTS));
    const fmtErr = (e: LayerRow['errors'][number]): string =>
      e.metric === 'change' ? `${sci(e.relativeError)} (change)` : Number.isNaN(e.relativeError) ? 'no interior' : `${sci(e.relativeError)}${e.aligned ? '' : '*'}`;
    const table = markdownTable(
      ['model', 'layer', 'type', 'output', 'RF', 'stride', ...SHIFTS.map((k) => `shift ${k}px`)],
      all.map((r) => [r.model, r.path, r.type, r.shape.slice(1).join('x'), String(r.receptiveField), String(r.jump), ...r.errors.map(fmtErr)]),
    );
    // Figure: error per layer depth for a 1-pixel and a 2-pixel shift.
    const series = nets.flatMap((n) => SHIFTS.filter((k) => k <= 2).map((k) => ({
      name: `${n.name}, shift ${k}`,
      dashed: k === 2,
      points: all.filter((r) => r.model === n.name && r.errors[0]!.metric === 'equivariance').map((r, i) => ({ x: i + 1, y: Math.log10(Math.max(1e-8, r.errors[SHIFTS.indexOf(k)]!.relativeError)) })).filter((pt) => Number.isFinite(pt.y)),
    })));
    ctx.output.text('equivariance/error-per-layer.svg', lineChart({
      title: 'Equivariance error on the interior, per spatial layer', xLabel: 'layer (spatial layers in order)', yLabel: 'log10 relative error', series,
    }));
    // Picture: one test image with strong edges, shifted by 2 px; feature maps and the commutation error.
    const edgeIndex = Math.max(0, Array.from(data.test.labels).indexOf(1)); // first trouser: two long vertical edges
    const one = imagesOf(data.test, [edgeIndex]);
    const shiftedOne = imagesOf(data.test, [edgeIndex], translate(0, 2));
    const pictureRows = [];
    const tile = (d: Float32Array, shape: number[], ch: number): Tile => {
      const hw = shape[2]! * shape[3]!;
      return { values: d.subarray(ch * hw, (ch + 1) * hw), width: shape[3]!, height: shape[2]! };
    };
    pictureRows.push(tileGrid([tile(one.data, [...one.shape], 0), tile(shiftedOne.data, [...shiftedOne.shape], 0)], { columns: 2, scale: 4, normalize: 'global' }));
    const layersToShow: { net: (typeof nets)[number]; layer: number }[] = [
      { net: nets[0]!, layer: 0 }, { net: nets[0]!, layer: 4 }, { net: nets[0]!, layer: 9 }, { net: nets[1]!, layer: 0 },
    ];
    const figureRows: string[] = [];
    for (const { net, layer } of layersToShow) {
      const a = traceLayers(net.model, one.data, one.shape, net.name)[layer];
      const b = traceLayers(net.model, shiftedOne.data, shiftedOne.shape, net.name)[layer];
      if (!a || !b || a.shape.length !== 4) continue;
      const rf = summary(net.model, [1, 28, 28]).rows.find((r) => r.path === a.path)?.receptiveField;
      const jump = rf?.jump[1] ?? 1;
      const ch = 0;
      const shiftedA = shiftPlanes(a.data, a.shape, 0, Math.round(2 / jump));
      const diff = new Float32Array(shiftedA.length);
      for (let i = 0; i < diff.length; i++) diff[i] = b.data[i]! - shiftedA[i]!;
      const t = [tile(a.data, a.shape, ch), tile(b.data, b.shape, ch), tile(shiftedA, a.shape, ch)];
      const scale = Math.max(1, Math.round(112 / a.shape[3]!));
      const maps = tileGrid(t, { columns: 3, scale, normalize: 'global', colormap: 'diverging' });
      let m = 0;
      for (const v of t[0]!.values as Float32Array) m = Math.max(m, Math.abs(v));
      const d = tileGrid([tile(diff, a.shape, ch)], { columns: 1, scale, normalize: 'fixed', range: [-m, m], colormap: 'diverging' });
      pictureRows.push(stackVertically([maps, d], 2));
      figureRows.push(`${net.name} ${a.path} (${a.type}, stride ${jump})`);
    }
    ctx.output.image('equivariance/shifted-edge.png', stackVertically(pictureRows, 10));
    // Verdict.
    const convRows = all.filter((r) => r.model === 'vggsmall' && r.errors[0]!.metric === 'equivariance');
    const beforePool = convRows.filter((r) => r.jump === 1);
    const afterPool = convRows.filter((r) => r.jump > 1);
    const lcRows = all.filter((r) => r.model === 'lcnet' && r.errors[0]!.metric === 'equivariance');
    const maxErr = (rows: LayerRow[], k: number): number => Math.max(...rows.map((r) => r.errors[SHIFTS.indexOf(k)]!.relativeError).filter(Number.isFinite));
    const convMax = maxErr(beforePool, 1);
    const pooledMisaligned = maxErr(afterPool, 1);
    const lcMin = Math.min(...lcRows.map((r) => r.errors[SHIFTS.indexOf(1)]!.relativeError).filter(Number.isFinite));
    const mlpChange = all.filter((r) => r.model === 'mlp').map((r) => r.errors[0]!.relativeError);
    const metrics: Metrics = { 'vggsmall conv error 1px': [convMax], 'vggsmall pooled error 1px': [pooledMisaligned], 'lcnet error 1px': [lcMin] };
    const judgement = judgeEquivariance(metrics);
    const md = [
      `Relative error ||layer(shift x) - shift(layer x)|| / ||layer x|| on the interior, over ${indices.length} test images, horizontal shifts of 1, 2 and 4 pixels (* = the shift is not a multiple of the layer's stride, so the output shift is rounded: there is no exact equivariance to find). For the MLP's flat layers: the relative change ||f(shift x) - f(x)|| / ||f(x)||.`,
      '',
      table,
      '',
      `- Conv layers before any striding: largest error ${sci(convMax)} (float32 rounding: exact equivariance).`,
      `- After pooling, a 1-pixel shift (not a multiple of the stride): up to ${sci(pooledMisaligned)}; shifts that are a multiple of the stride stay exact on the interior (see the 2- and 4-pixel columns).`,
      `- Locally connected layers: at least ${sci(lcMin)} from the first layer on: each position has its own filters, so a shifted input meets different weights.`,
      `- MLP hidden layers change by ${mlpChange.map((v) => sci(v)).join(', ')} under a 1-pixel shift: the representation is neither equivariant nor invariant.`,
      '',
      `Picture (first test trouser, shifted 2 px right; rows: input and shifted input, then for ${figureRows.join('; ')}: channel 0 of layer(x), layer(shift x), shift(layer x), and below the difference layer(shift x) - shift(layer x) on the scale of the map; white = 0):`,
      '',
      '![shifted edge](equivariance/shifted-edge.png)',
      '',
      '![error per layer](equivariance/error-per-layer.svg)',
    ].join('\n');
    return {
      verdict: judgement.verdict,
      summary: judgement.summary,
      metrics,
      protocol: `Reference models trained on ${nets[0]!.trainImages.toLocaleString('en-US')} images of the training part of the validation split, seed 0, no augmentation: vggsmall ${describeBudget(p.reference.cnn)}; lcnet ${describeBudget(p.reference.lc)}; mlp ${describeBudget(p.reference.mlp)}; validation accuracy of the kept weights ${nets.map((n) => `${n.name} ${(n.validationAccuracy * 100).toFixed(1)}% (epoch ${n.outcome.bestEpoch} of ${n.outcome.epochsRun})`).join(', ')}. ${indices.length} test images (the first ones), eval mode.`,
      markdown: md,
      results: { shifts: SHIFTS, layers: all, training: nets.map((n) => ({ model: n.name, seconds: n.outcome.seconds, finalLoss: n.outcome.lossCurve.at(-1)?.loss, validationAccuracy: n.validationAccuracy, bestEpoch: n.outcome.bestEpoch, epochsRun: n.outcome.epochsRun })) },
    };
  },
};
