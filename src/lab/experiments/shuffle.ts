/**
 * Experiment 4, pixel shuffle: one fixed random permutation of the 784 pixel positions, applied to every
 * training and test image. An MLP is unaffected by design (a permutation of its inputs is a permutation of its
 * first layer's weights, learnable just as well); a CNN relies on neighbouring pixels being related and loses.
 */
import * as models from '../../models/index.js';
import { permutePixels, randomPixelPermutation } from '../../data/transforms.js';
import { Generator } from '../../tensor/random.js';
import { barChart } from '../../viz/svg.js';
import { tileGrid } from '../../viz/image.js';
import { accuracy, seededModel, trainSteps } from '../train.js';
import { describeBudget, protocolOf } from '../protocol.js';
import { count, markdownTable, pct, pctSpread, seedList, spread } from '../stats.js';
import type { Experiment } from '../types.js';

export const PERMUTATION_SEED = 1234;
export const SHUFFLE_MODELS = ['mlp', 'lenet5'] as const;

export const shuffleExperiment: Experiment = {
  name: 'shuffle',
  index: 4,
  title: 'Pixel shuffle: what the CNN loses when spatial structure is destroyed',
  claim: 'A fixed permutation of pixel positions leaves an MLP unaffected (up to noise) and costs a CNN accuracy, because the CNN relies on spatial structure.',
  defaultSeeds: { full: 3, quick: 1, smoke: 1 },
  async run(ctx) {
    const p = protocolOf(ctx).shuffle;
    const data = await ctx.data();
    const seeds = seedList(ctx.options.seeds ?? this.defaultSeeds[ctx.options.scale]);
    const perm = randomPixelPermutation(data.train.height, data.train.width, new Generator(PERMUTATION_SEED));
    const shuffle = permutePixels(perm);
    const test = data.test.take(p.testImages);
    const runs: { model: string; shuffled: boolean; seed: number; testAccuracy: number; seconds: number }[] = [];
    for (const seed of seeds) {
      for (const name of SHUFFLE_MODELS) {
        for (const shuffled of [false, true]) {
          const model = seededModel(seed, () => models.create(name));
          const t = shuffled ? { transform: shuffle } : {};
          const outcome = trainSteps({ model, train: data.train, ...p.budget, seed, ...t, label: `${name}${shuffled ? ' shuffled' : ''} seed=${seed}`, log: ctx.options.log });
          const testAccuracy = accuracy(model, test, shuffled ? shuffle : undefined);
          runs.push({ model: name, shuffled, seed, testAccuracy, seconds: outcome.seconds });
          ctx.options.log(`  ${name}${shuffled ? ' (shuffled pixels)' : ''} seed=${seed}: test ${pct(testAccuracy)}`);
          if (!shuffled && seed === 0) ctx.cache.set(`shuffle:${name}`, model);
        }
      }
    }
    const cell = (model: string, shuffled: boolean) => spread(runs.filter((r) => r.model === model && r.shuffled === shuffled).map((r) => r.testAccuracy));
    const rows = SHUFFLE_MODELS.map((m) => {
      const a = cell(m, false);
      const b = cell(m, true);
      return [m, count(models.create(m).numParameters()), pctSpread(a), pctSpread(b), ((b.mean - a.mean) * 100).toFixed(1)];
    });
    ctx.output.text('shuffle/accuracy.svg', barChart({
      title: 'Test accuracy before and after a fixed pixel permutation', yLabel: 'test accuracy', categories: [...SHUFFLE_MODELS],
      series: [
        { name: 'original pixels', values: SHUFFLE_MODELS.map((m) => cell(m, false).mean), lo: SHUFFLE_MODELS.map((m) => cell(m, false).min), hi: SHUFFLE_MODELS.map((m) => cell(m, false).max) },
        { name: 'shuffled pixels', values: SHUFFLE_MODELS.map((m) => cell(m, true).mean), lo: SHUFFLE_MODELS.map((m) => cell(m, true).min), hi: SHUFFLE_MODELS.map((m) => cell(m, true).max) },
      ],
      yRange: [0, 1],
    }));
    // Picture: a few test images before and after the permutation.
    const tiles = [];
    for (let i = 0; i < 6; i++) {
      const img = data.test.getImage(i);
      const shuffledImg = new Float32Array(img.length);
      for (let k = 0; k < img.length; k++) shuffledImg[k] = img[perm[k]!]!;
      tiles.push({ values: img, width: 28, height: 28 }, { values: shuffledImg, width: 28, height: 28 });
    }
    ctx.output.image('shuffle/examples.png', tileGrid(tiles, { columns: 4, scale: 3, normalize: 'fixed', range: [0, 1] }));
    const mlpDrop = cell('mlp', false).mean - cell('mlp', true).mean;
    const cnnDrop = cell('lenet5', false).mean - cell('lenet5', true).mean;
    const mlpNoise = Math.max(0.01, 2 * Math.max(cell('mlp', false).std, cell('mlp', true).std));
    const verdict = Math.abs(mlpDrop) <= mlpNoise && cnnDrop > mlpNoise ? 'holds' : cnnDrop > mlpDrop ? 'partly holds' : 'does not hold';
    const md = [
      markdownTable(['model', 'parameters', 'original pixels', 'shuffled pixels', 'change (points)'], rows),
      '',
      `- The MLP changes by ${(-mlpDrop * 100).toFixed(1)} points, the CNN (LeNet-5) by ${(-cnnDrop * 100).toFixed(1)} points.`,
      '- Why the MLP cannot care: its first layer computes w·x; permuting x is the same as permuting w, and Adam with elementwise updates treats every input weight alike, so the shuffled run is the original run with relabelled inputs (up to the order of float additions).',
      '- Why the CNN loses: its 5x5 windows now see 25 unrelated pixels scattered over the image; it still learns something (a linear-ish function of pooled pixels) but no longer edges and strokes.',
      '',
      'Left: test images, right: the same images after the permutation (the same permutation for every image, train and test):',
      '',
      '![examples](shuffle/examples.png)',
      '',
      '![accuracy](shuffle/accuracy.svg)',
    ].join('\n');
    return {
      verdict,
      summary: `MLP ${pct(cell('mlp', false).mean)} -> ${pct(cell('mlp', true).mean)}; LeNet-5 ${pct(cell('lenet5', false).mean)} -> ${pct(cell('lenet5', true).mean)} after shuffling pixels.`,
      protocol: `Permutation drawn with Generator(${PERMUTATION_SEED}); full training set (${count(data.train.length)} images), each run ${describeBudget(p.budget)}, seeds ${seeds.join(', ')}; test accuracy on the first ${count(test.length)} test images (shuffled with the same permutation for the shuffled runs).`,
      markdown: md,
      results: { permutationSeed: PERMUTATION_SEED, permutation: Array.from(perm), seeds, runs },
    };
  },
};
