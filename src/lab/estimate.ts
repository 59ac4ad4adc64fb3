/**
 * How long a lab run takes, estimated before running it: every training run of the protocol (model, images
 * per epoch, epoch cap, batch, validation checks, images scored) times this machine's measured speed of that
 * model (images/s over a few training steps and one evaluation pass). Early stopping usually ends runs before
 * their cap, so the training time is an upper bound; the report prints both the cap and, from a full run, the
 * epochs actually run.
 */
import * as models from '../models/index.js';
import type { ImageDataset } from '../data/dataset.js';
import type { Module } from '../nn/module.js';
import { EXPERIMENTS } from './experiments/index.js';
import { ABLATION_MODELS } from './experiments/ablation.js';
import { DEPTH_MODELS } from './experiments/depth.js';
import { POOLING_VARIANTS, poolingModel, type PoolingVariant } from './experiments/pooling.js';
import { SHUFFLE_MODELS } from './experiments/shuffle.js';
import { PROTOCOLS, type EpochBudget } from './protocol.js';
import { checkInterval, predict, seededModel, trainSteps } from './train.js';
import { markdownTable, seedList } from './stats.js';
import type { LabScale } from './types.js';

/** One training run of the protocol: `model` is a registry name or `pooling:VARIANT`. */
export interface PlannedRun {
  experiment: string;
  model: string;
  runs: number;
  trainImages: number;
  epochs: number;
  batchSize: number;
  /** Validation images scored per run (all checks). */
  validationImages: number;
  /** Other images scored per run (test, train accuracy, shifted copies). */
  evalImages: number;
}

function seedsOf(name: string, scale: LabScale, seeds: number | undefined): number {
  return seedList(seeds ?? EXPERIMENTS.find((e) => e.name === name)!.defaultSeeds[scale]).length;
}

function run(experiment: string, model: string, runs: number, trainImages: number, b: EpochBudget, validationSize: number, evalImages: number): PlannedRun {
  const checks = b.earlyStopping ? Math.ceil(b.epochs / checkInterval(trainImages, b.checkEveryImages)) : 0;
  return { experiment, model, runs, trainImages, epochs: b.epochs, batchSize: b.batchSize, validationImages: checks * validationSize, evalImages };
}

/** Every training run of `lab all` at `scale`, for a training part of `trainPart` images and `validationSize` validation images. */
export function planRuns(scale: LabScale, trainPart: number, validationPart: number, seeds?: number): PlannedRun[] {
  const p = PROTOCOLS[scale];
  const validationSize = Math.min(p.validationImages, validationPart);
  const cap = (n: number): number => Math.min(n, trainPart);
  const out: PlannedRun[] = [];
  const ref = p.reference;
  for (const [model, kind] of [['vggsmall', 'cnn'], ['lenet5', 'cnn'], ['lcnet', 'lc'], ['mlp', 'mlp']] as const) {
    out.push(run('equivariance, hierarchy (reference models)', model, 1, cap(ref.trainImages), ref[kind], validationSize, 0));
  }
  const ablationSeeds = seedsOf('ablation', scale, seeds);
  for (const s of p.ablation.sizes) {
    for (const m of ABLATION_MODELS) out.push(run('ablation', m.name, ablationSeeds, cap(s.images), { ...p.ablation.budget, epochs: s.epochs }, validationSize, p.ablation.testImages + p.ablation.trainImages));
  }
  for (const m of SHUFFLE_MODELS) out.push(run('shuffle', m, 2 * seedsOf('shuffle', scale, seeds), cap(p.shuffle.trainImages), p.shuffle.budget, validationSize, p.shuffle.testImages));
  for (const v of POOLING_VARIANTS) out.push(run('pooling', `pooling:${v.name}`, seedsOf('pooling', scale, seeds), cap(p.pooling.trainImages), p.pooling.budget, validationSize, p.pooling.testImages * (1 + 8 * p.pooling.maxShift)));
  for (const m of DEPTH_MODELS) out.push(run('depth', m, seedsOf('depth', scale, seeds), cap(p.depth.trainImages), p.depth.budget, 0, p.depth.testImages));
  for (const m of DEPTH_MODELS) out.push(run('depth-adam', m, seedsOf('depth-adam', scale, seeds), cap(p.depthAdam.trainImages), p.depthAdam.budget, 0, p.depthAdam.testImages));
  return out;
}

export function buildPlannedModel(model: string): Module {
  return model.startsWith('pooling:') ? poolingModel(model.slice('pooling:'.length) as PoolingVariant) : models.create(model);
}

export interface ModelSpeed {
  model: string;
  batchSize: number;
  trainImagesPerSecond: number;
  evalImagesPerSecond: number;
}

/** Training images/s over `steps` Adam steps (after one warm-up step) and evaluation images/s over `evalImages`. */
export function measureSpeed(model: string, batchSize: number, data: ImageDataset, steps: number, evalImages: number): ModelSpeed {
  const net = seededModel(0, () => buildPlannedModel(model));
  const optimizer = { name: 'adam' as const, lr: 1e-3 };
  trainSteps({ model: net, train: data, steps: 1, batchSize, optimizer, seed: 0 });
  const o = trainSteps({ model: net, train: data, steps, batchSize, optimizer, seed: 0 });
  const sample = data.take(Math.min(evalImages, data.length));
  const t0 = performance.now();
  predict(net, sample);
  const evalSeconds = (performance.now() - t0) / 1000;
  return { model, batchSize, trainImagesPerSecond: (steps * Math.min(batchSize, data.length)) / o.seconds, evalImagesPerSecond: sample.length / evalSeconds };
}

export interface Estimate {
  rows: { run: PlannedRun; speed: ModelSpeed; trainSeconds: number; evalSeconds: number }[];
  byExperiment: { experiment: string; trainSeconds: number; evalSeconds: number }[];
  totalSeconds: number;
}

/** Seconds per planned run from measured speeds: training images (cap) / train speed + scored images / eval speed. */
export function estimate(plan: readonly PlannedRun[], speeds: readonly ModelSpeed[]): Estimate {
  const rows = plan.map((r) => {
    const speed = speeds.find((s) => s.model === r.model && s.batchSize === r.batchSize);
    if (!speed) throw new Error(`lab estimate: no measured speed for ${r.model} at batch ${r.batchSize}`);
    const trained = r.trainImages * r.epochs * r.runs;
    return { run: r, speed, trainSeconds: trained / speed.trainImagesPerSecond, evalSeconds: ((r.validationImages + r.evalImages) * r.runs) / speed.evalImagesPerSecond };
  });
  const names = [...new Set(plan.map((r) => r.experiment))];
  const byExperiment = names.map((experiment) => {
    const of = rows.filter((x) => x.run.experiment === experiment);
    return { experiment, trainSeconds: of.reduce((a, x) => a + x.trainSeconds, 0), evalSeconds: of.reduce((a, x) => a + x.evalSeconds, 0) };
  });
  return { rows, byExperiment, totalSeconds: byExperiment.reduce((a, x) => a + x.trainSeconds + x.evalSeconds, 0) };
}

function minutes(s: number): string {
  return s >= 3600 ? `${(s / 3600).toFixed(1)} h` : `${(s / 60).toFixed(1)} min`;
}

/** The estimate as Markdown: per model and per experiment, with how it was computed. */
export function renderEstimate(e: Estimate, scale: LabScale, machine: string): string {
  const rows = e.rows.map((x) => [x.run.experiment, x.run.model, String(x.run.runs), x.run.trainImages.toLocaleString('en-US'), String(x.run.epochs), String(x.run.batchSize),
    x.speed.trainImagesPerSecond.toFixed(0), x.speed.evalImagesPerSecond.toFixed(0), minutes(x.trainSeconds + x.evalSeconds)]);
  return [
    `Estimated time of \`convkit lab all${scale === 'full' ? '' : ` --${scale}`}\` on ${machine}: **${minutes(e.totalSeconds)}** at the epoch caps (early stopping ends most comparison runs sooner).`,
    '',
    markdownTable(['experiment', 'model', 'runs', 'images per epoch', 'epoch cap', 'batch', 'train img/s', 'eval img/s', 'time at the cap'], rows),
    '',
    markdownTable(['experiment', 'training', 'validation and scoring', 'total'], e.byExperiment.map((x) => [x.experiment, minutes(x.trainSeconds), minutes(x.evalSeconds), minutes(x.trainSeconds + x.evalSeconds)])),
    '',
    'Time per run = images per epoch x epoch cap / train img/s + (validation checks x validation images + test and shifted images) / eval img/s; the speeds were measured just now over a few training steps of each model.',
  ].join('\n');
}
