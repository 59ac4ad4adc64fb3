/**
 * The compute budgets of every experiment at each scale, in one place so the report can print them and a
 * reader can change them. 'full' was sized for a 2-core machine with the wasm backend (measured there:
 * vggsmall about 0.36 s, lcnet about 0.52 s, LeNet-5 0.015 s and the MLP 0.008 s per training step of 64 images;
 * plain20/resnet20 0.29/0.42 s and plain56/resnet56 1.6/1.5 s per step of 32), so that `convkit lab all`
 * finishes in about 10 minutes on an idle machine (the committed run shared the 2 cores with
 * other jobs, load average about 10, and took about 4x longer); see LAB.md for what that budget means.
 * Experiment 7 was re-sized later, with faster kernels: 400 steps of 16 took 0.04-0.07 s per step for
 * plain20/resnet20, 0.12-0.21 s for plain56 and 0.17-0.21 s for resnet56, so its 3 seeds ran in 9 min 40 s
 * (2 threads, sharing the machine with other jobs at load average about 3.5).
 */
import * as models from '../models/index.js';
import type { Module } from '../nn/module.js';
import type { LabContext, LabScale } from './types.js';
import { seededModel, trainSteps, type OptimizerSpec, type TrainOutcome } from './train.js';

export interface TrainBudget {
  steps: number;
  batchSize: number;
  optimizer: OptimizerSpec;
}

export const ADAM: OptimizerSpec = { name: 'adam', lr: 1e-3 };

/**
 * Experiment 7's SGD (lr 0.05, momentum 0.9, batch 16) with a linear warm-up from lr/10 over the first
 * `warmupSteps` steps. Deep ResNets need a gentle start: He et al. (2016, section 4.2) train ResNet-110 at lr
 * 0.01 until the training error is below 80% (about 400 iterations) before switching to 0.1, and without it the
 * committed one-seed run saw resnet56's loss climb to 17 in its first steps. The linear form is Goyal et al.'s
 * (2017) gradual warm-up. At full scale 50 of 400 steps: in a probe (resnet56, seed 0, 150 steps) a 20-step
 * warm-up still let the loss spike to 9 at lr ~0.03, 50 steps held the peak to 5.8 and 100 steps to 5.1, so 50
 * keeps most of the benefit while 7/8 of the budget runs at the full lr.
 */
function depthSgd(warmupSteps: number): OptimizerSpec {
  return { name: 'sgd', lr: 0.05, momentum: 0.9, warmup: { steps: warmupSteps, startFactor: 0.1 } };
}

export interface Protocol {
  /** Experiment 3: training-set sizes, the per-run budget, and how many test / train images are scored. */
  ablation: { sizes: number[]; budget: TrainBudget; testImages: number; trainImages: number };
  /** Experiment 3b: the same comparison with a 6x longer budget, on the smallest training set only (1k images, about 10 epochs). */
  ablationLong: { sizes: number[]; budget: TrainBudget; testImages: number; trainImages: number };
  /** The trained reference models of experiments 2 and 6 (trained on the whole training set, seed 0). */
  reference: { cnn: TrainBudget; lc: TrainBudget; mlp: TrainBudget; probeImages: number };
  /** Experiment 4. */
  shuffle: { budget: TrainBudget; testImages: number };
  /** Experiment 5. */
  pooling: { budget: TrainBudget; testImages: number; maxShift: number };
  /** Experiment 6. */
  hierarchy: { images: number; searchImages: number; channelsPerLayer: number; patchesPerChannel: number };
  /** Experiment 7 (SGD with a linear warm-up; see `depthSgd`). */
  depth: { budget: TrainBudget; lossEvery: number; testImages: number };
  /** Experiment 7b: the same four nets with the lab's default optimizer (Adam) and a longer budget. */
  depthAdam: { budget: TrainBudget; lossEvery: number; testImages: number };
}

export const PROTOCOLS: Record<LabScale, Protocol> = {
  full: {
    ablation: { sizes: [1000, 5000, 20000, 60000], budget: { steps: 300, batchSize: 64, optimizer: ADAM }, testImages: 2000, trainImages: 1000 },
    ablationLong: { sizes: [1000], budget: { steps: 300, batchSize: 32, optimizer: ADAM }, testImages: 1000, trainImages: 1000 },
    reference: {
      cnn: { steps: 150, batchSize: 64, optimizer: ADAM },
      lc: { steps: 60, batchSize: 64, optimizer: ADAM },
      mlp: { steps: 300, batchSize: 64, optimizer: ADAM },
      probeImages: 16,
    },
    shuffle: { budget: { steps: 2000, batchSize: 64, optimizer: ADAM }, testImages: 5000 },
    pooling: { budget: { steps: 200, batchSize: 64, optimizer: ADAM }, testImages: 1000, maxShift: 4 },
    hierarchy: { images: 4, searchImages: 2000, channelsPerLayer: 8, patchesPerChannel: 8 },
    depth: { budget: { steps: 400, batchSize: 16, optimizer: depthSgd(50) }, lossEvery: 10, testImages: 1000 },
    depthAdam: { budget: { steps: 150, batchSize: 32, optimizer: ADAM }, lossEvery: 5, testImages: 500 },
  },
  quick: {
    ablation: { sizes: [500, 2000], budget: { steps: 20, batchSize: 32, optimizer: ADAM }, testImages: 300, trainImages: 300 },
    ablationLong: { sizes: [500], budget: { steps: 60, batchSize: 32, optimizer: ADAM }, testImages: 300, trainImages: 300 },
    reference: {
      cnn: { steps: 40, batchSize: 32, optimizer: ADAM },
      lc: { steps: 10, batchSize: 32, optimizer: ADAM },
      mlp: { steps: 60, batchSize: 32, optimizer: ADAM },
      probeImages: 8,
    },
    shuffle: { budget: { steps: 100, batchSize: 32, optimizer: ADAM }, testImages: 1000 },
    pooling: { budget: { steps: 60, batchSize: 32, optimizer: ADAM }, testImages: 300, maxShift: 4 },
    hierarchy: { images: 3, searchImages: 300, channelsPerLayer: 3, patchesPerChannel: 6 },
    depth: { budget: { steps: 12, batchSize: 16, optimizer: depthSgd(4) }, lossEvery: 2, testImages: 300 },
    depthAdam: { budget: { steps: 12, batchSize: 16, optimizer: ADAM }, lossEvery: 2, testImages: 300 },
  },
  smoke: {
    ablation: { sizes: [32, 64], budget: { steps: 1, batchSize: 8, optimizer: ADAM }, testImages: 16, trainImages: 16 },
    ablationLong: { sizes: [32], budget: { steps: 2, batchSize: 8, optimizer: ADAM }, testImages: 16, trainImages: 16 },
    reference: {
      cnn: { steps: 1, batchSize: 8, optimizer: ADAM },
      lc: { steps: 1, batchSize: 4, optimizer: ADAM },
      mlp: { steps: 2, batchSize: 8, optimizer: ADAM },
      probeImages: 2,
    },
    shuffle: { budget: { steps: 2, batchSize: 8, optimizer: ADAM }, testImages: 16 },
    pooling: { budget: { steps: 1, batchSize: 8, optimizer: ADAM }, testImages: 8, maxShift: 2 },
    hierarchy: { images: 2, searchImages: 8, channelsPerLayer: 2, patchesPerChannel: 2 },
    depth: { budget: { steps: 2, batchSize: 2, optimizer: depthSgd(1) }, lossEvery: 1, testImages: 8 },
    depthAdam: { budget: { steps: 2, batchSize: 2, optimizer: ADAM }, lossEvery: 1, testImages: 8 },
  },
};

export function protocolOf(ctx: LabContext): Protocol {
  return PROTOCOLS[ctx.options.scale];
}

/** "80 steps x 64 images, Adam lr 0.001"; "..., SGD lr 0.05 momentum 0.9 after a linear warm-up from 0.005 over the first 20 steps". */
export function describeBudget(b: TrainBudget): string {
  const o = b.optimizer;
  const opt = o.name === 'adam' ? `Adam lr ${o.lr}` : `SGD lr ${o.lr} momentum ${o.momentum ?? 0.9}`;
  const warmup = o.warmup
    ? ` after a linear warm-up from ${Number((o.lr * o.warmup.startFactor).toPrecision(6))} over the first ${o.warmup.steps} step${o.warmup.steps === 1 ? "" : "s"}`
    : '';
  return `${b.steps} steps x ${b.batchSize} images, ${opt}${warmup}`;
}

export interface TrainedModel {
  name: string;
  model: Module;
  outcome: TrainOutcome;
}

/**
 * A registry model trained on the whole training set with seed 0 and the reference budget of `kind`; trained
 * once per `lab all` run and shared by experiments 2 and 6 through `ctx.cache`.
 */
export async function referenceModel(ctx: LabContext, name: string, kind: 'cnn' | 'lc' | 'mlp'): Promise<TrainedModel> {
  const key = `reference:${name}`;
  const cached = ctx.cache.get(key) as TrainedModel | undefined;
  if (cached) return cached;
  if (!models.has(name)) throw new Error(`lab: model '${name}' is not in the registry (available: ${models.list().map((m) => m.name).join(', ')})`);
  const data = await ctx.data();
  const budget = protocolOf(ctx).reference[kind];
  ctx.options.log(`training reference ${name} (${describeBudget(budget)}) on ${data.train.length} images`);
  const model = seededModel(0, () => models.create(name));
  const outcome = trainSteps({ model, train: data.train, ...budget, seed: 0, label: name, log: ctx.options.log });
  const trained = { name, model, outcome };
  ctx.cache.set(key, trained);
  return trained;
}
