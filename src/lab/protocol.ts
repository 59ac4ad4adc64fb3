/**
 * The compute budgets of every experiment at each scale, in one place so the report can print them, the
 * PyTorch side can read them (`convkit lab protocol` writes them as JSON) and a reader can change them.
 *
 * 'full' trains every run to near convergence: budgets are in epochs over the training part of the
 * validation split (55,000 images; src/lab/split.ts), and runs that compare models keep the weights with the
 * best validation accuracy and stop when it stalls (Adam lr 0.001, batch 64; early stopping after 3 checks
 * without a rise of 0.1 point, checks at least 5,000 images apart). Experiment 7 compares training loss, so
 * its four nets run the same fixed budget (2 epochs) with SGD, a warm-up and a cosine decay. Every comparison
 * runs 3 seeds. How long that takes: `convkit lab estimate` (measured images/s x these budgets).
 * 'quick' runs the same code on small subsets in under 3 minutes; 'smoke' is seconds, for the tests.
 */
import * as models from '../models/index.js';
import type { Module } from '../nn/module.js';
import type { LabContext, LabScale } from './types.js';
import { seededModel, trainEpochs, type EarlyStopping, type EpochOutcome, type OptimizerSpec } from './train.js';
import { labSplit, type LabSplit } from './split.js';
import type { ImageDataset } from '../data/dataset.js';

/** A fixed number of optimizer steps (the budget of the lab before issue 19; still read by the explorer). */
export interface TrainBudget {
  steps: number;
  batchSize: number;
  optimizer: OptimizerSpec;
}

/** A budget in epochs: at most `epochs` passes, early stopping on the validation split when given. */
export interface EpochBudget {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerSpec;
  earlyStopping?: EarlyStopping;
  /** Validation checks at least this many training images apart (rounded up to whole epochs). */
  checkEveryImages?: number;
}

export const ADAM: OptimizerSpec = { name: 'adam', lr: 1e-3 };

/** The early-stopping rule of every model comparison. */
export const EARLY_STOPPING: EarlyStopping = { patience: 3, minDelta: 0.001 };

/** Adam with the lab's early stopping, for an epoch cap given elsewhere (the ablation's caps depend on the size). */
function adamRule(batchSize = 64, checkEveryImages = 5000): Omit<EpochBudget, 'epochs'> {
  return { batchSize, optimizer: ADAM, earlyStopping: EARLY_STOPPING, checkEveryImages };
}

/** An Adam budget of at most `epochs` epochs with the lab's early stopping. */
function adam(epochs: number, batchSize = 64, checkEveryImages = 5000): EpochBudget {
  return { epochs, ...adamRule(batchSize, checkEveryImages) };
}

/**
 * Experiment 7's SGD (momentum 0.9, weight decay 1e-4 as in He et al. 2016) with a linear warm-up from lr/10
 * over the first `warmupSteps` steps and a cosine decay to 0 at the end. Deep ResNets need a gentle start: He
 * et al. (section 4.2) train ResNet-110 at lr 0.01 until the training error is below 80 % (about 400
 * iterations), and without a warm-up an earlier run saw resnet56's loss climb to 17 in its first steps.
 */
function depthSgd(warmupSteps: number): OptimizerSpec {
  return { name: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-4, warmup: { steps: warmupSteps, startFactor: 0.1 }, cosine: true };
}

export interface Protocol {
  /** How many of the validation split's images the checks score (the first ones; all 5,000 at full scale). */
  validationImages: number;
  /** Experiment 3: per training-set size its epoch cap; test accuracy on `testImages`, train accuracy on `trainImages` of the subset. */
  ablation: { sizes: { images: number; epochs: number }[]; budget: Omit<EpochBudget, 'epochs'>; testImages: number; trainImages: number };
  /** The trained reference models of experiments 2 and 6 (the training part of the split, seed 0). */
  reference: { cnn: EpochBudget; lc: EpochBudget; mlp: EpochBudget; trainImages: number; probeImages: number };
  /** Experiment 4. `trainImages`: how much of the training part (all of it at full scale). */
  shuffle: { budget: EpochBudget; trainImages: number; testImages: number };
  /** Experiment 5. */
  pooling: { budget: EpochBudget; trainImages: number; testImages: number; maxShift: number };
  /** Experiment 6. */
  hierarchy: { images: number; searchImages: number; channelsPerLayer: number; patchesPerChannel: number };
  /** Experiment 7 (SGD with a warm-up and a cosine decay; see `depthSgd`): a fixed budget, no early stopping. */
  depth: { budget: EpochBudget; trainImages: number; lossEvery: number; testImages: number };
  /** Experiment 7b: the same four nets with the lab's default optimizer (Adam). */
  depthAdam: { budget: EpochBudget; trainImages: number; lossEvery: number; testImages: number };
}

const ALL = Number.POSITIVE_INFINITY;

export const PROTOCOLS: Record<LabScale, Protocol> = {
  full: {
    validationImages: ALL,
    ablation: { sizes: [{ images: 1000, epochs: 60 }, { images: 5000, epochs: 30 }, { images: 20000, epochs: 15 }, { images: ALL, epochs: 10 }], budget: adamRule(), testImages: 10000, trainImages: 2000 },
    reference: { cnn: adam(15), lc: adam(3), mlp: adam(30), trainImages: ALL, probeImages: 16 },
    shuffle: { budget: adam(30), trainImages: ALL, testImages: 10000 },
    pooling: { budget: adam(30), trainImages: ALL, testImages: 2000, maxShift: 4 },
    hierarchy: { images: 4, searchImages: 2000, channelsPerLayer: 8, patchesPerChannel: 8 },
    depth: { budget: { epochs: 2, batchSize: 64, optimizer: depthSgd(200) }, trainImages: ALL, lossEvery: 20, testImages: 10000 },
    depthAdam: { budget: { epochs: 2, batchSize: 64, optimizer: ADAM }, trainImages: ALL, lossEvery: 20, testImages: 10000 },
  },
  quick: {
    validationImages: 500,
    ablation: { sizes: [{ images: 200, epochs: 6 }, { images: 800, epochs: 2 }], budget: adamRule(32, 400), testImages: 500, trainImages: 200 },
    reference: { cnn: adam(2, 32, 500), lc: adam(1, 32, 500), mlp: adam(4, 32, 500), trainImages: 500, probeImages: 8 },
    shuffle: { budget: adam(4, 32, 1000), trainImages: 2000, testImages: 1000 },
    pooling: { budget: adam(2, 32, 1000), trainImages: 1000, testImages: 300, maxShift: 4 },
    hierarchy: { images: 3, searchImages: 300, channelsPerLayer: 3, patchesPerChannel: 6 },
    depth: { budget: { epochs: 1, batchSize: 16, optimizer: depthSgd(4) }, trainImages: 200, lossEvery: 2, testImages: 300 },
    depthAdam: { budget: { epochs: 1, batchSize: 16, optimizer: ADAM }, trainImages: 200, lossEvery: 2, testImages: 300 },
  },
  smoke: {
    validationImages: 64,
    ablation: { sizes: [{ images: 32, epochs: 2 }, { images: 64, epochs: 1 }], budget: adamRule(8, 32), testImages: 16, trainImages: 16 },
    reference: { cnn: adam(1, 8, 16), lc: adam(1, 4, 8), mlp: adam(1, 8, 16), trainImages: 16, probeImages: 2 },
    shuffle: { budget: adam(1, 8, 16), trainImages: 16, testImages: 16 },
    pooling: { budget: adam(1, 8, 8), trainImages: 8, testImages: 8, maxShift: 2 },
    hierarchy: { images: 2, searchImages: 8, channelsPerLayer: 2, patchesPerChannel: 2 },
    depth: { budget: { epochs: 1, batchSize: 2, optimizer: depthSgd(1) }, trainImages: 4, lossEvery: 1, testImages: 8 },
    depthAdam: { budget: { epochs: 1, batchSize: 2, optimizer: ADAM }, trainImages: 4, lossEvery: 1, testImages: 8 },
  },
};

export function protocolOf(ctx: LabContext): Protocol {
  return PROTOCOLS[ctx.options.scale];
}

/** The validation images the checks score at this scale: the first `validationImages` of the split's validation part. */
export function validationSet(ctx: LabContext, split: LabSplit): ImageDataset {
  return split.validation.take(Math.min(protocolOf(ctx).validationImages, split.validation.length));
}

/**
 * "300 steps x 64 images, Adam lr 0.001" (a step budget, as the explorer's recorded runs have); "at most 12
 * epochs x 64 images, Adam lr 0.001, early stopping ..." (an epoch budget); SGD adds momentum, weight decay,
 * warm-up and cosine decay when set.
 */
export function describeBudget(b: TrainBudget | EpochBudget): string {
  const o = b.optimizer;
  const opt = o.name === 'adam' ? `Adam lr ${o.lr}` : `SGD lr ${o.lr} momentum ${o.momentum ?? 0.9}${o.weightDecay ? ` weight decay ${o.weightDecay}` : ''}`;
  const warmup = o.warmup
    ? ` after a linear warm-up from ${Number((o.lr * o.warmup.startFactor).toPrecision(6))} over the first ${o.warmup.steps} step${o.warmup.steps === 1 ? '' : 's'}`
    : '';
  const cosine = o.cosine ? ', then a cosine decay to 0 at the last step' : '';
  if ('steps' in b) return `${b.steps} steps x ${b.batchSize} images, ${opt}${warmup}${cosine}`;
  const es = b.earlyStopping;
  const stop = es
    ? `; keeps the weights with the best validation accuracy and stops after ${es.patience} checks in a row without a rise of more than ${+((es.minDelta ?? 0) * 100).toFixed(3)} point${(es.minDelta ?? 0) === 0.01 ? '' : 's'} (checks every ${b.checkEveryImages ? `${Math.round(b.checkEveryImages).toLocaleString('en-US')} training images or ` : ''}epoch, whichever is longer)`
    : '';
  return `${es ? 'at most ' : ''}${b.epochs} epoch${b.epochs === 1 ? '' : 's'} x ${b.batchSize} images, ${opt}${warmup}${cosine}${stop}`;
}

export interface TrainedModel {
  name: string;
  model: Module;
  outcome: EpochOutcome;
  trainImages: number;
  validationAccuracy: number;
}

/**
 * A registry model trained on the training part of the split with seed 0 and the reference budget of `kind`
 * (early stopping on the validation part); trained once per `lab all` run and shared by experiments 2 and 6
 * through `ctx.cache`.
 */
export async function referenceModel(ctx: LabContext, name: string, kind: 'cnn' | 'lc' | 'mlp'): Promise<TrainedModel> {
  const key = `reference:${name}`;
  const cached = ctx.cache.get(key) as TrainedModel | undefined;
  if (cached) return cached;
  if (!models.has(name)) throw new Error(`lab: model '${name}' is not in the registry (available: ${models.list().map((m) => m.name).join(', ')})`);
  const data = await ctx.data();
  const split = labSplit(data.train);
  const reference = protocolOf(ctx).reference;
  const budget = reference[kind];
  const train = split.train.take(Math.min(reference.trainImages, split.train.length));
  ctx.options.log(`training reference ${name} (${describeBudget(budget)}) on ${train.length} images`);
  const model = seededModel(0, () => models.create(name));
  const outcome = trainEpochs({ model, train, validation: validationSet(ctx, split), ...budget, seed: 0, label: name, log: ctx.options.log });
  const trained = { name, model, outcome, trainImages: train.length, validationAccuracy: outcome.bestValidationAccuracy };
  ctx.cache.set(key, trained);
  return trained;
}
