/**
 * Requests and events of the explorer's "Why CNNs work" area (see ../protocol.ts). Every number these panels
 * show is computed by the library inside an engine worker: the seeded and briefly trained models live in the
 * claims tab's own engine (a second EngineClient), the user's model in the main engine.
 */
import type { LayerLedger, LayerCost } from '../../../src/inspect/ledger.js';
import type { LayerShiftComparison } from '../../../src/lab/experiments/equivariance.js';
import type { DepthPatches } from '../../../src/lab/experiments/hierarchy.js';
import type { PoolingVariant } from '../../../src/lab/experiments/pooling.js';

export type { LayerLedger, LayerCost, LayerShiftComparison, DepthPatches, PoolingVariant };

/** Where a panel's model comes from: the user's model (main engine) or one the claims engine builds itself. */
export type ClaimModelSource = 'yours' | 'seeded';

export interface LedgerParams {
  height: number;
  width: number;
  /** Input channels. */
  channels: number;
  /** Output units of the dense layer. */
  units: number;
  /** Filters (output channels) of the conv / locally connected layer; null: units / output positions. */
  filters: number | null;
  /** Kernel size; null with stride null: the library's tiling (non-overlapping windows on the largest grid). */
  kernel: number | null;
  stride: number | null;
}

/** A feature map's first channel for one image, row-major. */
export interface Plane {
  width: number;
  height: number;
  values: Float32Array;
}

export interface EquivarianceLayer extends LayerShiftComparison {
  /** Spatial layers: channel 0 of map(shift x), shift(map x), and |difference| (max over channels). */
  maps: { shiftThenMap: Plane; mapThenShift: Plane; error: Plane } | null;
}

export interface EquivarianceModel {
  /** Zoo name (`lenet5`, `mlp`, or the user's model's). */
  model: string;
  source: ClaimModelSource;
  /** How the weights came about, e.g. 'seeded (seed 0), untrained' or 'trained in the page'. */
  weights: string;
  layers: EquivarianceLayer[];
}

export interface EquivarianceResult {
  dx: number;
  dy: number;
  /** The test image used and its shifted copy (pixels in [0, 1]). */
  image: number;
  input: Plane;
  shiftedInput: Plane;
  models: EquivarianceModel[];
}

export interface PoolingCurvePoint {
  /** Input shift in pixels (along `axis`). */
  shift: number;
  predicted: number;
  predictedClass: string;
  /** Probability of the predicted class. */
  confidence: number;
  /** Probability of the image's true class. */
  trueClassConfidence: number;
}

export interface PoolingVariantResult {
  variant: PoolingVariant;
  what: string;
  parameters: number;
  /** How the weights came about, e.g. 'trained here: 60 steps x 32 images (Adam lr 0.001), seed 0'. */
  training: string;
  testAccuracy: number;
  curve: PoolingCurvePoint[];
}

export interface PoolingResult {
  image: number;
  label: number;
  labelClass: string;
  axis: 'horizontal' | 'vertical';
  variants: PoolingVariantResult[];
  /** True when the models were trained by this request (false: reused from an earlier request). */
  trainedNow: boolean;
}

export interface ShuffleRunSummary {
  /** `mlp original`, `mlp shuffled`, `lenet5 original`, `lenet5 shuffled`. */
  run: string;
  model: string;
  shuffled: boolean;
  points: { step: number; accuracy: number }[];
}

export interface ShuffleResult {
  runs: ShuffleRunSummary[];
  steps: number;
  testImages: number;
  permutationSeed: number;
  stopped: boolean;
  /** Test image 0 before and after the permutation (pixels in [0, 1]). */
  example: { original: Plane; shuffled: Plane };
}

export interface HierarchyResult {
  model: string;
  source: ClaimModelSource;
  weights: string;
  searchImages: number;
  depths: DepthPatches[];
}

export interface DepthSeries {
  model: string;
  /** Mean over seeds at each recorded step. */
  points: { step: number; loss: number; min: number; max: number }[];
}

export interface DepthFile {
  /** The file as fetched, e.g. 'lab/depth.json' (relative to the page). */
  url: string;
  title: string;
  /** e.g. '400 steps x 16 images, SGD lr 0.05 ...'. */
  budget: string;
  seeds: number[];
  scale: string;
  backend: string;
  startedAt: string;
  summary: string;
  series: DepthSeries[];
}

export interface ClaimsRequests {
  'claims.ledger': { params: LedgerParams; result: LayerLedger };
  /** Per layer: shift-then-map vs map-then-shift for a (dx, dy) input shift. 'yours' needs a model in this engine. */
  'claims.equivariance': { params: { source: ClaimModelSource; dx: number; dy: number; image: number }; result: EquivarianceResult };
  /** Train the four pooling variants (once per settings), then their prediction for one test image shifted -4..4 px. */
  'claims.pooling': { params: { steps: number; batchSize: number; image: number; axis: 'horizontal' | 'vertical' }; result: PoolingResult };
  /** MLP and LeNet-5, each on original and pixel-shuffled images, trained in turns; 'claims.shufflePoint' events. */
  'claims.shuffle': { params: { epochs: number; batchSize: number; evalEvery: number; testImages: number }; result: ShuffleResult };
  /** Top-activating test patches per channel at each ReLU depth ('seeded': a LeNet-5 trained `steps` steps here). */
  'claims.hierarchy': { params: { source: ClaimModelSource; steps: number; searchImages: number; channelsPerLayer: number; patchesPerChannel: number }; result: HierarchyResult };
  /** The lab's recorded depth runs (lab/depth.json, lab/depth-adam.json), mean curves over seeds. */
  'claims.depthResults': { params: Record<string, never>; result: { files: DepthFile[]; missing: { url: string; reason: string }[] } };
  /** A short live run of the four depth nets (Adam, in turns, seeded); 'claims.depthPoint' events as windows close. */
  'claims.depthLive': { params: { steps: number; batchSize: number; lossEvery: number }; result: { series: DepthSeries[]; steps: number; budget: string; stopped: boolean } };
  /** Stop this engine's running claims computation (between two training steps). */
  'claims.stop': { params: Record<string, never>; result: { stopped: boolean } };
}

export interface ClaimsEvents {
  /** Progress of a long claims computation. */
  'claims.progress': { task: 'pooling' | 'shuffle' | 'hierarchy' | 'depth'; done: number; total: number; message: string };
  /** A new accuracy point of one pixel-shuffle run. */
  'claims.shufflePoint': { run: string; step: number; accuracy: number };
  /** A new training-loss point (mean over the last `lossEvery` steps) of one live depth run. */
  'claims.depthPoint': { model: string; step: number; loss: number };
}
