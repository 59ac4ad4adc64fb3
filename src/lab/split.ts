/**
 * The lab's validation split: one stratified, seeded part of the TRAINING set (src/data/split.ts) that every
 * experiment uses for early stopping and for picking the kept weights. The test set is only ever scored at
 * the end. The same indices are exported for the PyTorch side (`convkit lab protocol`), so both train and
 * validate on the same images.
 */
import type { ImageDataset } from '../data/dataset.js';
import { splitValidationIndices } from '../data/split.js';
import { Generator } from '../tensor/random.js';

/** 1/12 of Fashion-MNIST's 60,000 training images: 5,000 for validation, 55,000 to train on. */
export const VALIDATION_SPLIT = { fraction: 1 / 12, seed: 0 } as const;

export interface LabSplit {
  train: ImageDataset;
  validation: ImageDataset;
  /** Indices into the full training set, ascending. */
  trainIndices: Int32Array;
  validationIndices: Int32Array;
}

const splits = new WeakMap<ImageDataset, LabSplit>();

/** The validation split of `fullTrain` (computed once per dataset). */
export function labSplit(fullTrain: ImageDataset): LabSplit {
  const cached = splits.get(fullTrain);
  if (cached) return cached;
  const { fraction, seed } = VALIDATION_SPLIT;
  const idx = splitValidationIndices(fullTrain.labels, fullTrain.numClasses, fraction, seed, fullTrain.name);
  const split: LabSplit = {
    train: fullTrain.subset(idx.train, `${fullTrain.name}[train part, ${idx.validation.length} held out for validation]`),
    validation: fullTrain.subset(idx.validation, `${fullTrain.name}[validation ${idx.validation.length}]`),
    trainIndices: idx.train, validationIndices: idx.validation,
  };
  splits.set(fullTrain, split);
  return split;
}

/**
 * `n` images of the split's training part drawn without replacement with `seed` (all of them when n covers
 * it), as indices into the FULL training set: the ablation's training subsets.
 */
export function subsetIndices(split: LabSplit, n: number, seed: number): Int32Array {
  const pool = split.trainIndices;
  if (n >= pool.length) return pool;
  const perm = new Generator(seed).permutation(pool.length);
  return Int32Array.from(perm.subarray(0, n), (k) => pool[k]!);
}
