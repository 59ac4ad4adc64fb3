/**
 * The lab's protocol as data, for an independent implementation (tools/lab_*.py): every budget, the seeds, the
 * input normalization and the exact images (the validation split's indices, the ablation's subsets, the pixel
 * permutation), so PyTorch trains and validates on the same images with the same rules. `convkit lab protocol`
 * prints it as JSON.
 */
import type { ImageDataset } from '../data/dataset.js';
import { randomPixelPermutation } from '../data/transforms.js';
import { Generator } from '../tensor/random.js';
import { EXPERIMENTS } from './experiments/index.js';
import { PERMUTATION_SEED } from './experiments/shuffle.js';
import { DIRECTIONS, POOLING_VARIANTS } from './experiments/pooling.js';
import { DEPTH_MODELS } from './experiments/depth.js';
import { ABLATION_MODELS } from './experiments/ablation.js';
import { PROTOCOLS } from './protocol.js';
import { labSplit, subsetIndices, VALIDATION_SPLIT } from './split.js';
import { FASHION_MEAN, FASHION_STD } from './train.js';
import { seedList } from './stats.js';
import type { LabScale } from './types.js';

export const PROTOCOL_FORMAT = 'convkit-lab-protocol/1';

function seedsOf(name: string, scale: LabScale, seeds: number | undefined): number[] {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (!e) throw new Error(`lab protocol: no experiment '${name}'`);
  return seedList(seeds ?? e.defaultSeeds[scale]);
}

/**
 * Everything tools/lab_*.py needs to run the lab's protocol at `scale` on `train` (the full training set).
 * Index lists point into the full training set; `trainPart` is every index not in `validation`, ascending,
 * and "the first N images of the training part" is its first N entries.
 */
export function exportProtocol(train: ImageDataset, scale: LabScale, seeds?: number) {
  const p = PROTOCOLS[scale];
  const split = labSplit(train);
  const n = split.train.length;
  const cap = (images: number): number => Math.min(images, n);
  const ablationSeeds = seedsOf('ablation', scale, seeds);
  const sizes = p.ablation.sizes.map((s) => ({ images: cap(s.images), epochs: s.epochs })).filter((s, i, all) => all.findIndex((t) => t.images === s.images) === i);
  // The same call as experiment 4's: out[k] = in[perm[k]] for every image.
  const perm = randomPixelPermutation(train.height, train.width, new Generator(PERMUTATION_SEED));
  return {
    format: PROTOCOL_FORMAT,
    scale,
    dataset: { name: train.name, trainImages: train.length, shape: [train.channels, train.height, train.width] },
    normalization: { mean: FASHION_MEAN, std: FASHION_STD, note: 'pixels in [0, 1], any shift or permutation first (black fill), then (x - mean) / std' },
    validation: { fraction: VALIDATION_SPLIT.fraction, seed: VALIDATION_SPLIT.seed, indices: Array.from(split.validationIndices), checkedImages: Math.min(p.validationImages, split.validation.length) },
    trainPartImages: n,
    experiments: {
      equivariance: {
        /** The reference models (seed 0) and their budgets; errors are measured for a 1-pixel horizontal shift of the first probeImages test images. */
        seeds: [0], models: { vggsmall: p.reference.cnn, lcnet: p.reference.lc }, trainImages: cap(p.reference.trainImages), probeImages: p.reference.probeImages, shift: 1,
      },
      hierarchy: {
        /** The reference vggsmall (seed 0); purity over each ReLU layer's first channelsPerLayer channels, top max(patchesPerChannel, 20) of the first searchImages test images. */
        seeds: [0], model: 'vggsmall', budget: p.reference.cnn, trainImages: cap(p.reference.trainImages), searchImages: p.hierarchy.searchImages,
        channelsPerLayer: p.hierarchy.channelsPerLayer, topImages: Math.max(p.hierarchy.patchesPerChannel, 20),
      },
      ablation: {
        models: ABLATION_MODELS.map((m) => m.name), seeds: ablationSeeds, sizes, budget: p.ablation.budget,
        testImages: p.ablation.testImages, trainEvalImages: p.ablation.trainImages,
        /** subsets[size][k]: the training images of seed ablation.seeds[k] (absent when the size is the whole training part). */
        subsets: Object.fromEntries(sizes.filter((s) => s.images < n).map((s) => [String(s.images), ablationSeeds.map((seed) => Array.from(subsetIndices(split, s.images, 100 + seed)))])),
      },
      shuffle: { models: ['mlp', 'lenet5'], seeds: seedsOf('shuffle', scale, seeds), budget: p.shuffle.budget, trainImages: cap(p.shuffle.trainImages), testImages: p.shuffle.testImages, permutationSeed: PERMUTATION_SEED, permutation: Array.from(perm) },
      pooling: { variants: POOLING_VARIANTS.map((v) => v.name), seeds: seedsOf('pooling', scale, seeds), budget: p.pooling.budget, trainImages: cap(p.pooling.trainImages), testImages: p.pooling.testImages, maxShift: p.pooling.maxShift, directions: DIRECTIONS },
      depth: { models: [...DEPTH_MODELS], seeds: seedsOf('depth', scale, seeds), budget: p.depth.budget, trainImages: cap(p.depth.trainImages), lossEvery: p.depth.lossEvery, testImages: p.depth.testImages, lastFraction: 0.2 },
      'depth-adam': { models: [...DEPTH_MODELS], seeds: seedsOf('depth-adam', scale, seeds), budget: p.depthAdam.budget, trainImages: cap(p.depthAdam.trainImages), lossEvery: p.depthAdam.lossEvery, testImages: p.depthAdam.testImages, lastFraction: 0.2 },
    },
  };
}
