/**
 * The lab's training and evaluation helpers: a fixed *step budget* (the same number of optimizer steps of the
 * same batch size for every model and training-set size, so "same budget" means the same compute per run),
 * accuracy on a dataset, predictions for a batch, and seeded subsets.
 *
 * Every image is normalized with Fashion-MNIST's training mean and std (0.2860, 0.3530) after any other
 * transform (a shift, a pixel permutation), so a shifted image has a black (0) background before normalization.
 */
import { noGrad } from '../autograd/tape.js';
import { crossEntropy } from '../ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { getBackend } from '../backend/registry.js';
import { compose, normalize, type BatchTransform } from '../data/transforms.js';
import { DataLoader } from '../data/loader.js';
import type { ImageDataset } from '../data/dataset.js';
import type { Module } from '../nn/module.js';
import { Adam, LinearLR, SGD, type Optimizer } from '../optim/index.js';
import { backendScope } from '../train/scope.js';
import { argmaxRows } from '../train/metrics.js';

export const FASHION_MEAN = 0.286;
export const FASHION_STD = 0.353;

/** Normalize after `before` (e.g. a shift or a permutation applied to [0, 1] pixels). */
export function inputTransform(...before: BatchTransform[]): BatchTransform {
  return compose(...before, normalize(FASHION_MEAN, FASHION_STD));
}

export interface OptimizerSpec {
  name: 'adam' | 'sgd';
  /** The learning rate after any warm-up. */
  lr: number;
  momentum?: number;
  weightDecay?: number;
  /**
   * Linear learning-rate warm-up (`optim.LinearLR`, stepped after every optimizer step as in PyTorch): step 1
   * uses lr * startFactor, and the lr rises linearly to `lr` at step `steps + 1` and stays there.
   */
  warmup?: LinearWarmup;
}

export interface LinearWarmup {
  /** Number of steps over which the factor rises from `startFactor` to 1. */
  steps: number;
  /** The factor of the first step, in (0, 1]. */
  startFactor: number;
}

export interface TrainSpec {
  model: Module;
  train: ImageDataset;
  /** Number of optimizer steps (the budget); the loader cycles over the data as often as needed. */
  steps: number;
  batchSize: number;
  optimizer: OptimizerSpec;
  /** Seeds the shuffle order (the model's initial weights are seeded by whoever creates it). */
  seed: number;
  /** Applied to [0, 1] pixels before normalization (e.g. a pixel permutation). */
  transform?: BatchTransform;
  /** Record the mean loss of every `lossEvery` steps (default 10). */
  lossEvery?: number;
  log?: (message: string) => void;
  /** Label for progress lines. */
  label?: string;
}

export interface TrainOutcome {
  /** Mean training loss over consecutive windows of `lossEvery` steps; `step` is the window's last step. */
  lossCurve: { step: number; loss: number }[];
  seconds: number;
  /** Examples seen = steps * batchSize. */
  examplesSeen: number;
  epochs: number;
  /** The learning rate each step was taken with (of the first parameter group), in step order. */
  learningRates: number[];
}

function makeOptimizer(model: Module, spec: OptimizerSpec): Optimizer {
  if (spec.name === 'adam') return new Adam(model.parameters(), { lr: spec.lr, weightDecay: spec.weightDecay ?? 0 });
  return new SGD(model.parameters(), { lr: spec.lr, momentum: spec.momentum ?? 0.9, weightDecay: spec.weightDecay ?? 0 });
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Train `model` for exactly `spec.steps` steps with cross-entropy; see the file comment. */
export function trainSteps(spec: TrainSpec): TrainOutcome {
  const { model, steps, batchSize } = spec;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`lab: steps must be a positive integer, got ${steps}`);
  const lossEvery = spec.lossEvery ?? 10;
  const loader = new DataLoader(spec.train, {
    batchSize: Math.min(batchSize, spec.train.length), shuffle: true, dropLast: true,
    generator: new Generator(1000 + spec.seed), transform: inputTransform(...(spec.transform ? [spec.transform] : [])),
  });
  const optimizer = makeOptimizer(model, spec.optimizer);
  const warmup = spec.optimizer.warmup;
  const scheduler = warmup ? new LinearLR(optimizer, { startFactor: warmup.startFactor, endFactor: 1, totalIters: warmup.steps }) : undefined;
  const learningRates: number[] = [];
  const scope = backendScope();
  const lossCurve: { step: number; loss: number }[] = [];
  model.train();
  const t0 = now();
  let lastLog = t0;
  let step = 0;
  let windowSum = 0;
  let windowCount = 0;
  while (step < steps) {
    for (const { x, y } of loader) {
      if (step >= steps) break;
      learningRates.push(optimizer.paramGroups[0]!.lr);
      const loss = scope(() => {
        const l = crossEntropy(model.forward(x), y);
        optimizer.zeroGrad();
        l.backward();
        optimizer.step();
        return l.item();
      });
      scheduler?.step();
      if (!Number.isFinite(loss)) throw new Error(`lab: ${spec.label ?? 'training'} diverged (loss ${loss} at step ${step + 1})`);
      step++;
      windowSum += loss;
      windowCount++;
      if (windowCount === lossEvery || step === steps) {
        lossCurve.push({ step, loss: windowSum / windowCount });
        windowSum = 0;
        windowCount = 0;
      }
      const t = now();
      if (spec.log && t - lastLog > 15000) {
        lastLog = t;
        const rate = (step * loader.batchSize) / ((t - t0) / 1000);
        spec.log(`  ${spec.label ?? 'train'}: step ${step}/${steps}, loss ${lossCurve.at(-1)?.loss.toFixed(3) ?? loss.toFixed(3)}, ${rate.toFixed(0)} img/s`);
      }
    }
  }
  const seconds = (now() - t0) / 1000;
  return { lossCurve, seconds, examplesSeen: steps * loader.batchSize, epochs: (steps * loader.batchSize) / spec.train.length, learningRates };
}

/** Predicted classes of `model` (in eval mode, without gradients) for every image of `dataset`. */
export function predict(model: Module, dataset: ImageDataset, options: { transform?: BatchTransform; batchSize?: number } = {}): Int32Array {
  const batchSize = options.batchSize ?? 250;
  const loader = new DataLoader(dataset, { batchSize, shuffle: false, transform: inputTransform(...(options.transform ? [options.transform] : [])) });
  const out = new Int32Array(dataset.length);
  const wasTraining = model.training;
  model.eval();
  const scope = backendScope();
  let offset = 0;
  try {
    noGrad(() => {
      for (const { x } of loader) {
        const pred = scope(() => argmaxRows(model.forward(x)));
        out.set(pred, offset);
        offset += pred.length;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return out;
}

/** Fraction of `predictions` equal to `labels`. */
export function accuracyOf(predictions: Int32Array, labels: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return labels.length === 0 ? NaN : correct / labels.length;
}

/** Accuracy of `model` on `dataset` (eval mode, no gradients). */
export function accuracy(model: Module, dataset: ImageDataset, transform?: BatchTransform): number {
  return accuracyOf(predict(model, dataset, transform ? { transform } : {}), dataset.labels);
}

/** `n` examples drawn without replacement by a seeded generator (all of them, in order, when n >= length). */
export function seededSubset(dataset: ImageDataset, n: number, seed: number): ImageDataset {
  if (n >= dataset.length) return dataset;
  const perm = new Generator(seed).permutation(dataset.length);
  return dataset.subset(perm.subarray(0, n), `${dataset.name}[${n} drawn with seed ${seed}]`);
}

/** Build a model with seeded initial weights (the global generator is seeded with `seed` first). */
export function seededModel<M extends Module>(seed: number, build: () => M): M {
  manualSeed(seed);
  return build();
}

/**
 * Run `model` on the float images `x` ([N, C, H, W], already normalized) and copy every output out of the
 * backend's step scope (safe to keep).
 */
export function forwardCopy(model: Module, x: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  const scope = backendScope();
  return noGrad(() => scope(() => {
    const input = new Tensor(toBackend(x), shape);
    const y = model.forward(input);
    return { data: Float32Array.from(y.data), shape: [...y.shape] };
  }));
}

/** A copy of `x` in memory owned by the current backend. */
export function toBackend(x: Float32Array): Float32Array {
  const out = getBackend().alloc(x.length);
  out.set(x);
  return out;
}

/** Images `indices` of `dataset` as normalized float32 [n, C, H, W], after `before` transforms. */
export function imagesOf(dataset: ImageDataset, indices: ArrayLike<number>, ...before: BatchTransform[]): { data: Float32Array; shape: [number, number, number, number] } {
  const per = dataset.imageSize;
  const data = new Float32Array(indices.length * per);
  for (let k = 0; k < indices.length; k++) dataset.copyImageTo(indices[k]!, data, k * per);
  const batch = inputTransform(...before)({ data, n: indices.length, c: dataset.channels, h: dataset.height, w: dataset.width }, new Generator(0));
  return { data: batch.data, shape: [indices.length, dataset.channels, dataset.height, dataset.width] };
}
