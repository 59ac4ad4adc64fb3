/**
 * Building a run's pieces from plain settings: the optimizer, the learning-rate schedule, the training-batch
 * augmentation and the model config a checkpoint stores. Shared by `convkit train` (src/cli/) and the browser
 * explorer (web/explorer/train/), so both train the same way from the same names. Browser-safe.
 */
import type { Module } from '../nn/module.js';
import { SGD } from '../optim/sgd.js';
import { Adam, AdamW } from '../optim/adam.js';
import { CosineAnnealingLR, MultiStepLR, OneCycleLR, type LRScheduler } from '../optim/lr_scheduler.js';
import type { Optimizer } from '../optim/optimizer.js';
import { compose, randomCrop, randomHorizontalFlip, type BatchTransform } from '../data/transforms.js';
import type { CheckpointMeta } from '../io/checkpoint.js';

import type { Augmentation, OptimizerName, ScheduleName } from './names.js';

export { OPTIMIZERS, SCHEDULES, AUGMENTATIONS, type OptimizerName, type ScheduleName, type Augmentation } from './names.js';

export interface OptimizerSettings {
  name: OptimizerName;
  lr: number;
  /** SGD only. */
  momentum: number;
  weightDecay: number;
}

/** The optimizer over all of `net`'s parameters, and its description for the checkpoint. */
export function makeOptimizer(net: Module, s: OptimizerSettings): { optimizer: Optimizer; meta: NonNullable<CheckpointMeta['optimizer']> } {
  const params = net.parameters();
  let optimizer: Optimizer;
  switch (s.name) {
    case 'sgd':
      optimizer = new SGD(params, { lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay });
      break;
    case 'adam':
      optimizer = new Adam(params, { lr: s.lr, weightDecay: s.weightDecay });
      break;
    case 'adamw':
      optimizer = new AdamW(params, { lr: s.lr, weightDecay: s.weightDecay });
      break;
  }
  const hyperparameters: Record<string, number> = { lr: s.lr, weightDecay: s.weightDecay };
  if (s.name === 'sgd') hyperparameters['momentum'] = s.momentum;
  return { optimizer, meta: { name: s.name, hyperparameters } };
}

/**
 * The learning-rate schedule and when it steps. `step` divides the lr by 10 at 1/2 and 3/4 of the epochs
 * (per epoch); `cosine` anneals to 0 over all steps and `onecycle` warms up then anneals (both per batch).
 */
export function makeScheduler(name: ScheduleName, optimizer: Optimizer, lr: number, epochs: number, stepsPerEpoch: number): { scheduler: LRScheduler; interval: 'batch' | 'epoch' } | null {
  switch (name) {
    case 'none':
      return null;
    case 'step': {
      const milestones = [...new Set([Math.max(1, Math.round(epochs / 2)), Math.max(1, Math.round((3 * epochs) / 4))])];
      return { scheduler: new MultiStepLR(optimizer, { milestones, gamma: 0.1 }), interval: 'epoch' };
    }
    case 'cosine':
      return { scheduler: new CosineAnnealingLR(optimizer, { tMax: epochs * stepsPerEpoch }), interval: 'batch' };
    case 'onecycle':
      return { scheduler: new OneCycleLR(optimizer, { maxLr: lr, epochs, stepsPerEpoch }), interval: 'batch' };
  }
}

/**
 * The training batches' transform: the augmentation (random 2-pixel-padded crop, optionally a horizontal flip)
 * followed by `normalize` (the test batches get `normalize` alone).
 */
export function trainTransform(augment: Augmentation, height: number, normalize: BatchTransform): BatchTransform {
  switch (augment) {
    case 'none': return normalize;
    case 'crop': return compose(randomCrop(height, 2), normalize);
    case 'crop-flip': return compose(randomCrop(height, 2), randomHorizontalFlip(0.5), normalize);
  }
}

/** The model config stored in checkpoints: enough for `models.create` to rebuild the same network. */
export function modelConfigFor(data: { numClasses: number; channels: number; height: number; width: number }): { numClasses: number; inChannels: number; inputSize: [number, number] } {
  return { numClasses: data.numClasses, inChannels: data.channels, inputSize: [data.height, data.width] };
}
