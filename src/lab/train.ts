/**
 * The lab's training and evaluation helpers: `trainEpochs` (a budget in epochs, with early stopping on a
 * validation split carved out of the training set: the test set is never an argument), `trainSteps` (a fixed
 * number of optimizer steps, for the smallest runs and the tests), accuracy on a dataset, predictions for a
 * batch, and seeded subsets.
 *
 * Every image is normalized with Fashion-MNIST's training mean and std (0.2860, 0.3530) after any other
 * transform (a shift, a pixel permutation), so a shifted image has a black (0) background before normalization.
 */
import { noGrad } from '../autograd/tape.js';
import { crossEntropy } from '../ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, Generator, manualSeed, type GeneratorState } from '../tensor/random.js';
import { getBackend } from '../backend/registry.js';
import { compose, normalize, type BatchTransform } from '../data/transforms.js';
import { DataLoader } from '../data/loader.js';
import type { ImageDataset } from '../data/dataset.js';
import type { Module } from '../nn/module.js';
import { Adam, SGD, type Optimizer } from '../optim/index.js';
import { backendScope } from '../train/scope.js';
import { argmaxRows } from '../train/metrics.js';
import type { EarlyStopping } from '../train/selection.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';
import type { DataLoaderState } from '../data/loader.js';
import type { ProgressSlot, RunProgress } from './types.js';

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
  /** After any warm-up, decay the lr along a half cosine to 0 at the last step of the budget (per step). */
  cosine?: boolean;
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
  /**
   * Where to keep the run's progress (storedRun's slot): at the end of an epoch, at most every
   * `progressEverySeconds` (default 60), the loop saves it, and a loop given a slot that holds progress goes on from
   * there, with the same bits as a run that never stopped.
   */
  progress?: ProgressSlot;
  progressEverySeconds?: number;
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

/**
 * The learning rate of step `t` (0-based) of `total`: a linear warm-up from lr * startFactor reaching lr at
 * step `warmup.steps` (PyTorch's LinearLR stepped after every optimizer step), then constant, or a half cosine
 * from lr down to 0 at step `total` when `spec.cosine`. tools/lab_common.py computes the same function.
 */
export function learningRateAt(spec: OptimizerSpec, t: number, total: number): number {
  const w = spec.warmup;
  if (w && t < w.steps) return spec.lr * (w.startFactor + ((1 - w.startFactor) * t) / w.steps);
  if (!spec.cosine) return spec.lr;
  const start = w ? w.steps : 0;
  const span = Math.max(1, total - start);
  return spec.lr * 0.5 * (1 + Math.cos((Math.PI * Math.min(t - start, span)) / span));
}

/**
 * Stop when validation accuracy has not risen by more than `minDelta` for `patience` checks in a row: fit()'s
 * rule (src/train/selection.ts), counted in the lab's validation checks instead of epochs.
 */
export type { EarlyStopping } from '../train/selection.js';

interface LoopSpec extends Omit<TrainSpec, 'steps'> {
  steps: number;
  /** Called after every pass over the data; returning true stops training. */
  afterEpoch?: (epoch: number, step: number) => boolean;
  /** The caller's own state, kept with the loop's progress (trainEpochs' validation curve and best weights). */
  callerState?: { save(): RunProgress; restore(saved: RunProgress): void };
}

/** What the loop keeps of itself at the end of an epoch (RunProgress.state; the arrays go beside it). */
interface LoopState {
  format: typeof PROGRESS_FORMAT;
  epoch: number;
  step: number;
  seconds: number;
  lossCurve: { step: number; loss: number }[];
  learningRates: number[];
  windowSum: number;
  windowCount: number;
  loader: DataLoaderState;
  rng: GeneratorState;
  optimizer: { paramGroups: OptimizerStateDict['paramGroups']; scalars: Record<string, Record<string, number>> };
  caller: unknown;
}
const PROGRESS_FORMAT = 'convkit-lab-progress/1';

/** The loop's progress: the JSON state, and the weights (model.*), optimizer buffers (optimizer.I.NAME) and the caller's arrays. */
function progressOf(state: Omit<LoopState, 'optimizer' | 'caller'>, model: Module, optimizer: Optimizer, caller: RunProgress | undefined): RunProgress {
  const arrays: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(model.stateDict())) arrays[`model.${k}`] = Float32Array.from(t.data);
  const sd = optimizer.stateDict();
  const scalars: Record<string, Record<string, number>> = {};
  for (const [i, s] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(s)) {
      if (typeof v === 'number') (scalars[i] ??= {})[k] = v;
      else arrays[`optimizer.${i}.${k}`] = v;
    }
  }
  for (const [k, v] of Object.entries(caller?.arrays ?? {})) arrays[`caller.${k}`] = v;
  const full: LoopState = { ...state, optimizer: { paramGroups: sd.paramGroups, scalars }, caller: caller?.state ?? null };
  return { state: full, arrays };
}

/** Restore what progressOf kept into the model and optimizer; returns the loop's state and the caller's part. */
function restoreProgress(saved: RunProgress, model: Module, optimizer: Optimizer): { loop: LoopState; caller: RunProgress } {
  const loop = saved.state as LoopState;
  if (!loop || loop.format !== PROGRESS_FORMAT) throw new Error(`lab: kept progress of format ${JSON.stringify((loop as { format?: unknown } | null)?.format)}, expected ${PROGRESS_FORMAT}`);
  const weights: Record<string, Tensor> = {};
  const state: OptimizerStateDict['state'] = {};
  const callerArrays: Record<string, Float32Array> = {};
  for (const [name, a] of Object.entries(saved.arrays)) {
    const [kind, ...rest] = name.split('.');
    if (kind === 'model') {
      const key = rest.join('.');
      weights[key] = new Tensor(a, [...model.stateDict()[key]?.shape ?? [a.length]]);
    } else if (kind === 'optimizer') {
      (state[Number(rest[0])] ??= {})[rest.slice(1).join('.')] = a;
    } else if (kind === 'caller') {
      callerArrays[rest.join('.')] = a;
    }
  }
  for (const [i, s] of Object.entries(loop.optimizer.scalars)) Object.assign((state[Number(i)] ??= {}), s);
  model.loadStateDict(weights);
  optimizer.loadStateDict({ state, paramGroups: loop.optimizer.paramGroups });
  return { loop, caller: { state: loop.caller, arrays: callerArrays } };
}

function trainLoop(spec: LoopSpec): TrainOutcome {
  const { model, steps, batchSize } = spec;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`lab: steps must be a positive integer, got ${steps}`);
  const lossEvery = spec.lossEvery ?? 10;
  const loader = new DataLoader(spec.train, {
    batchSize: Math.min(batchSize, spec.train.length), shuffle: true, dropLast: true,
    generator: new Generator(1000 + spec.seed), transform: inputTransform(...(spec.transform ? [spec.transform] : [])),
  });
  const optimizer = makeOptimizer(model, spec.optimizer);
  const learningRates: number[] = [];
  const scope = backendScope();
  let lossCurve: { step: number; loss: number }[] = [];
  model.train();
  let t0 = now();
  let lastLog = t0;
  let step = 0;
  let epoch = 0;
  let windowSum = 0;
  let windowCount = 0;
  let stop = false;
  const kept = spec.progress?.load();
  if (kept) {
    const { loop, caller } = restoreProgress(kept, model, optimizer);
    ({ epoch, step, windowSum, windowCount } = loop);
    lossCurve = loop.lossCurve;
    learningRates.push(...loop.learningRates);
    loader.setState(loop.loader);
    defaultGenerator.setState(loop.rng);
    spec.callerState?.restore(caller);
    t0 -= loop.seconds * 1000;
    spec.log?.(`  ${spec.label ?? 'train'}: goes on from the progress kept after epoch ${epoch} (step ${step} of ${steps}, ${loop.seconds.toFixed(0)} s of training)`);
  }
  let lastSave = now();
  while (step < steps && !stop) {
    for (const { x, y } of loader) {
      if (step >= steps) break;
      const lr = learningRateAt(spec.optimizer, step, steps);
      for (const g of optimizer.paramGroups) g.lr = lr;
      learningRates.push(lr);
      const loss = scope(() => {
        const l = crossEntropy(model.forward(x), y);
        optimizer.zeroGrad();
        l.backward();
        optimizer.step();
        return l.item();
      });
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
    epoch++;
    if (spec.afterEpoch?.(epoch, step)) stop = true;
    if (spec.progress && !stop && step < steps && now() - lastSave >= (spec.progressEverySeconds ?? 60) * 1000) {
      const loopState = {
        format: PROGRESS_FORMAT, epoch, step, seconds: (now() - t0) / 1000, lossCurve, learningRates, windowSum, windowCount,
        loader: loader.getState(), rng: defaultGenerator.getState(),
      } as const;
      const saveStart = now();
      spec.progress.save(progressOf(loopState, model, optimizer, spec.callerState?.save()));
      lastSave = now();
      t0 += lastSave - saveStart;  // keeping progress is not training time
    }
  }
  if (windowCount > 0) lossCurve.push({ step, loss: windowSum / windowCount });
  const seconds = (now() - t0) / 1000;
  return { lossCurve, seconds, examplesSeen: step * loader.batchSize, epochs: (step * loader.batchSize) / spec.train.length, learningRates };
}

/** Train `model` for exactly `spec.steps` steps with cross-entropy; see the file comment. */
export function trainSteps(spec: TrainSpec): TrainOutcome {
  return trainLoop(spec);
}

export interface EpochTrainSpec extends Omit<TrainSpec, 'steps'> {
  /** The most passes over `train` (each drops its last partial batch). */
  epochs: number;
  /**
   * Checked at the end of epochs (at least `checkEveryImages` training images apart, default one epoch; with
   * `transform` applied, as to the training images): the
   * weights with the best accuracy on it are kept. Take it from the TRAINING set (`labSplit`), never the test set.
   */
  validation?: ImageDataset;
  /** Stop early when validation accuracy stalls (needs `validation`); without it every epoch runs. */
  earlyStopping?: EarlyStopping;
  checkEveryImages?: number;
}

export interface EpochOutcome extends TrainOutcome {
  /** Validation accuracy at every check (empty without a validation set). */
  validationCurve: { epoch: number; step: number; accuracy: number }[];
  /** The check whose weights the model holds at the end (the last epoch without a validation set). */
  bestEpoch: number;
  bestValidationAccuracy: number;
  stoppedEarly: boolean;
  /** Passes over the data actually run. */
  epochsRun: number;
}

/** Epochs between validation checks: at least `checkEveryImages` training images apart, at least one epoch. */
export function checkInterval(trainSize: number, checkEveryImages: number | undefined): number {
  return Math.max(1, Math.ceil((checkEveryImages ?? 0) / trainSize));
}

/**
 * Train for at most `epochs` passes over `train`; with a `validation` set, measure its accuracy every
 * `checkInterval` epochs, keep the best weights (restored at the end) and, with `earlyStopping`, stop when it
 * has not risen by more than `minDelta` for `patience` checks. Nothing here sees a test set.
 */
export function trainEpochs(spec: EpochTrainSpec): EpochOutcome {
  const { model, validation, earlyStopping } = spec;
  if (!Number.isInteger(spec.epochs) || spec.epochs < 1) throw new Error(`lab: epochs must be a positive integer, got ${spec.epochs}`);
  if (earlyStopping && !validation) throw new Error(`lab: ${spec.label ?? 'training'}: early stopping needs a validation set (taken from the training set)`);
  const stepsPerEpoch = Math.floor(spec.train.length / Math.min(spec.batchSize, spec.train.length));
  const every = checkInterval(spec.train.length, spec.checkEveryImages);
  const validationCurve: EpochOutcome['validationCurve'] = [];
  let best = { epoch: 0, accuracy: -Infinity, weights: null as Float32Array[] | null };
  let reference = -Infinity;
  let sinceImprovement = 0;
  let stoppedEarly = false;
  let epochsRun = 0;
  const params = Object.values(model.stateDict());
  const afterEpoch = (epoch: number, step: number): boolean => {
    epochsRun = epoch;
    if (!validation || (epoch % every !== 0 && epoch !== spec.epochs)) return false;
    const acc = accuracy(model, validation, spec.transform);
    validationCurve.push({ epoch, step, accuracy: acc });
    // fit()'s rule (src/train/selection.ts): the kept weights are the most accurate on validation; a check
    // improves only when it beats the last improving check by more than minDelta, and `patience` checks
    // in a row without improving stop the run.
    if (best.weights === null || acc > best.accuracy) best = { epoch, accuracy: acc, weights: params.map((p) => Float32Array.from(p.data)) };
    if (acc > reference + (earlyStopping?.minDelta ?? 0)) {
      reference = acc;
      sinceImprovement = 0;
    } else {
      sinceImprovement++;
    }
    if (earlyStopping && sinceImprovement >= earlyStopping.patience) {
      stoppedEarly = epoch < spec.epochs;
      return true;
    }
    return false;
  };
  const callerState = {
    save: (): RunProgress => ({
      state: { validationCurve, bestEpoch: best.epoch, bestAccuracy: best.accuracy, hasBest: best.weights !== null, reference, sinceImprovement, epochsRun },
      arrays: Object.fromEntries((best.weights ?? []).map((w, i) => [`best.${i}`, w])),
    }),
    restore: (saved: RunProgress): void => {
      const s = saved.state as { validationCurve: EpochOutcome['validationCurve']; bestEpoch: number; bestAccuracy: number; hasBest: boolean; reference: number; sinceImprovement: number; epochsRun: number };
      validationCurve.push(...s.validationCurve);
      best = { epoch: s.bestEpoch, accuracy: s.bestAccuracy, weights: s.hasBest ? params.map((_, i) => saved.arrays[`best.${i}`]!) : null };
      ({ reference, sinceImprovement, epochsRun } = s);
    },
  };
  const outcome = trainLoop({ ...spec, steps: spec.epochs * stepsPerEpoch, afterEpoch, callerState });
  if (best.weights) params.forEach((p, i) => p.data.set(best.weights![i]!));
  return {
    ...outcome, validationCurve, stoppedEarly, epochsRun,
    bestEpoch: validation ? best.epoch : epochsRun, bestValidationAccuracy: validation ? best.accuracy : NaN,
  };
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
