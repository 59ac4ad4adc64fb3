/**
 * A validation split carved out of a TRAINING set, so that choices made during training (the `best`
 * checkpoint, early stopping, hyperparameters) never look at the test set.
 *
 * The split is stratified: every class gives the same fraction of its examples to validation (largest
 * remainder rounding, so the total is `round(fraction * N)`), which keeps the class balance of both parts
 * equal to the training set's. Which examples of a class go to validation is drawn from a seeded generator,
 * so a seed always gives the same split on any machine.
 */
import { ImageDataset } from './dataset.js';
import { Generator } from '../tensor/random.js';

/** The indices (into the original training set, ascending) of the two parts of a validation split. */
export interface ValidationSplitIndices {
  train: Int32Array;
  validation: Int32Array;
}

function checkSplitArguments(size: number, fraction: number, seed: number, name: string): void {
  if (!(Number.isFinite(fraction) && fraction > 0 && fraction < 1)) {
    throw new Error(`splitValidation(${name}): fraction must be a number strictly between 0 and 1 (e.g. 0.1 for 10 % of the training set), got ${fraction}`);
  }
  if (!Number.isSafeInteger(seed)) throw new Error(`splitValidation(${name}): seed must be an integer, got ${seed}`);
  const validationSize = Math.round(fraction * size);
  if (validationSize < 1 || validationSize > size - 1) {
    throw new Error(
      `splitValidation(${name}): a fraction of ${fraction} of ${size} training examples leaves ${validationSize} for validation and ${size - validationSize} for training; both need at least 1 (choose a fraction between ${(1 / size).toPrecision(2)} and ${(1 - 1 / size).toPrecision(2)})`,
    );
  }
}

/**
 * How many examples of each class go to validation: `fraction` of each class, rounded by largest remainder
 * so the counts add up to `round(fraction * N)` (ties go to the lower class index).
 */
function validationCountsPerClass(classCounts: Int32Array, fraction: number): Int32Array {
  const total = classCounts.reduce((a, b) => a + b, 0);
  const target = Math.round(fraction * total);
  const counts = new Int32Array(classCounts.length);
  const remainders: { cls: number; rest: number }[] = [];
  let assigned = 0;
  classCounts.forEach((n, cls) => {
    const exact = fraction * n;
    counts[cls] = Math.floor(exact);
    assigned += counts[cls]!;
    remainders.push({ cls, rest: exact - counts[cls]! });
  });
  remainders.sort((a, b) => b.rest - a.rest || a.cls - b.cls);
  for (let k = 0; assigned < target && k < remainders.length; k++) {
    const { cls } = remainders[k]!;
    if (counts[cls]! < classCounts[cls]!) {
      counts[cls]!++;
      assigned++;
    }
  }
  return counts;
}

/**
 * The indices of a stratified, seeded validation split of `labels` (see `splitValidation`). Every index in
 * [0, labels.length) appears in exactly one of the two parts; both parts are in ascending order.
 */
export function splitValidationIndices(labels: Int32Array, numClasses: number, fraction: number, seed: number, name = 'dataset'): ValidationSplitIndices {
  checkSplitArguments(labels.length, fraction, seed, name);
  const members: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) members[labels[i]!]!.push(i);
  const perClass = validationCountsPerClass(Int32Array.from(members, (m) => m.length), fraction);
  const generator = new Generator(seed);
  const inValidation = new Uint8Array(labels.length);
  members.forEach((indices, cls) => {
    // Classes are visited in order and each draws its own permutation, so the split depends only on the seed.
    const order = generator.permutation(indices.length);
    for (let k = 0; k < perClass[cls]!; k++) inValidation[indices[order[k]!]!] = 1;
  });
  const validationSize = perClass.reduce((a, b) => a + b, 0);
  const train = new Int32Array(labels.length - validationSize);
  const validation = new Int32Array(validationSize);
  let t = 0;
  let v = 0;
  for (let i = 0; i < labels.length; i++) {
    if (inValidation[i]) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation };
}

/**
 * Split a training set into a smaller training set and a validation set: stratified by class, seeded and
 * deterministic, disjoint, and together covering every training example exactly once. Only ever pass the
 * training set: the point of the split is that the test set stays untouched until the final report.
 *
 * @example
 * const { train, validation } = splitValidation(fashionTrain, 0.1, 0); // 54,000 + 6,000 images
 */
export function splitValidation(train: ImageDataset, fraction: number, seed: number): { train: ImageDataset; validation: ImageDataset } {
  const indices = splitValidationIndices(train.labels, train.numClasses, fraction, seed, train.name);
  const percent = `${+(fraction * 100).toFixed(2)} %`;
  return {
    train: train.subset(indices.train, `${train.name}[train, ${percent} held out (seed ${seed})]`),
    validation: train.subset(indices.validation, `${train.name}[validation ${percent} (seed ${seed})]`),
  };
}
