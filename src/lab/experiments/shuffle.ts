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
import { accuracy, seededModel, trainEpochs } from '../train.js';
import { labSplit } from '../split.js';
import { storedRun } from '../resume.js';
import { describeBudget, protocolOf, validationSet } from '../protocol.js';
import { count, interval95, intervalsOverlap, markdownTable, pct, pctInterval, pctSpread, seedList, spread } from '../stats.js';
import type { Experiment, Judgement, Metrics } from '../types.js';

export const PERMUTATION_SEED = 1234;
export const SHUFFLE_MODELS = ['mlp', 'lenet5'] as const;

/**
 * The verdict from per-seed test accuracies (`mlp original`, `mlp shuffled`, `lenet5 original`, `lenet5
 * shuffled`): "holds" when the MLP's change is within noise (its 95 % intervals overlap, or it moves by less
 * than 1 point) and LeNet-5 loses more than that noise; "partly holds" when LeNet-5 loses more than the MLP.
 */
export function judgeShuffle(metrics: Metrics): Judgement {
  const m = (k: string): number[] => metrics[k] ?? [];
  const mean = (k: string): number => spread(m(k)).mean;
  const mlpDrop = mean('mlp original') - mean('mlp shuffled');
  const cnnDrop = mean('lenet5 original') - mean('lenet5 shuffled');
  const mlpWithinNoise = Math.abs(mlpDrop) < 0.01 || intervalsOverlap(interval95(m('mlp original')), interval95(m('mlp shuffled'))) === true;
  const cnnBeyondNoise = cnnDrop >= 0.01 && intervalsOverlap(interval95(m('lenet5 original')), interval95(m('lenet5 shuffled'))) !== true;
  return {
    verdict: mlpWithinNoise && cnnBeyondNoise ? 'holds' : cnnDrop > mlpDrop ? 'partly holds' : 'does not hold',
    summary: `MLP ${pct(mean('mlp original'))} -> ${pct(mean('mlp shuffled'))} (${mlpWithinNoise ? 'within noise' : 'beyond noise'}); LeNet-5 ${pct(mean('lenet5 original'))} -> ${pct(mean('lenet5 shuffled'))} (${cnnBeyondNoise ? 'beyond noise' : 'within noise'}) after shuffling pixels.`,
  };
}

export const shuffleExperiment: Experiment = {
  name: 'shuffle',
  index: 4,
  title: 'Pixel shuffle: what the CNN loses when spatial structure is destroyed',
  claim: 'A fixed permutation of pixel positions leaves an MLP unaffected (up to noise) and costs a CNN accuracy, because the CNN relies on spatial structure.',
  defaultSeeds: { full: 3, quick: 1, smoke: 1 },
  judge: judgeShuffle,
  metricOrder: () => SHUFFLE_MODELS.flatMap((m) => [`${m} original`, `${m} shuffled`]),
  async run(ctx) {
    const p = protocolOf(ctx).shuffle;
    const data = await ctx.data();
    const split = labSplit(data.train);
    const validation = validationSet(ctx, split);
    const train = split.train.take(Math.min(p.trainImages, split.train.length));
    const seeds = seedList(ctx.options.seeds ?? this.defaultSeeds[ctx.options.scale]);
    const perm = randomPixelPermutation(data.train.height, data.train.width, new Generator(PERMUTATION_SEED));
    const shuffle = permutePixels(perm);
    const test = data.test.take(p.testImages);
    const runs: { model: string; shuffled: boolean; seed: number; testAccuracy: number; validationAccuracy: number; epochs: number; bestEpoch: number; seconds: number }[] = [];
    for (const seed of seeds) {
      for (const name of SHUFFLE_MODELS) {
        for (const shuffled of [false, true]) {
          const protocol = { model: name, shuffled, seed, permutationSeed: PERMUTATION_SEED, budget: p.budget, trainImages: train.length, validationImages: validation.length, testImages: test.length };
          const run = storedRun(ctx, 'shuffle', `${name}-${shuffled ? 'shuffled' : 'original'}-seed${seed}`, protocol, (progress) => {
            const model = seededModel(seed, () => models.create(name));
            const t = shuffled ? { transform: shuffle } : {};
            const o = trainEpochs({ model, train, validation, ...p.budget, seed, ...t, label: `${name}${shuffled ? ' shuffled' : ''} seed=${seed}`, log: ctx.options.log, progress });
            const testAccuracy = accuracy(model, test, shuffled ? shuffle : undefined);
            return { result: { model: name, shuffled, seed, testAccuracy, validationAccuracy: o.bestValidationAccuracy, epochs: o.epochsRun, bestEpoch: o.bestEpoch, seconds: o.seconds }, seconds: o.seconds };
          });
          runs.push(run);
          ctx.options.log(`  ${name}${shuffled ? ' (shuffled pixels)' : ''} seed=${seed}: test ${pct(run.testAccuracy)}, validation ${pct(run.validationAccuracy)}, best epoch ${run.bestEpoch} of ${run.epochs}`);
        }
      }
    }
    const values = (model: string, shuffled: boolean): number[] => runs.filter((r) => r.model === model && r.shuffled === shuffled).map((r) => r.testAccuracy);
    const cell = (model: string, shuffled: boolean) => spread(values(model, shuffled));
    const metrics: Metrics = {};
    for (const m of SHUFFLE_MODELS) for (const shuffled of [false, true]) metrics[`${m} ${shuffled ? 'shuffled' : 'original'}`] = values(m, shuffled);
    const judgement = judgeShuffle(metrics);
    const rows = SHUFFLE_MODELS.map((m) => {
      const a = cell(m, false);
      const b = cell(m, true);
      return [m, count(models.create(m).numParameters()), pctSpread(a), pctInterval(interval95(values(m, false))), pctSpread(b), pctInterval(interval95(values(m, true))), ((b.mean - a.mean) * 100).toFixed(1)];
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
    const md = [
      markdownTable(['model', 'parameters', 'original pixels (mean ± sd)', '95 % interval', 'shuffled pixels (mean ± sd)', '95 % interval', 'change (points)'], rows),
      '',
      `- The MLP changes by ${(-mlpDrop * 100).toFixed(1)} points, the CNN (LeNet-5) by ${(-cnnDrop * 100).toFixed(1)} points.`,
      '- Verdict rule: "holds" when the MLP moves by less than 1 point or its two 95 % intervals overlap, and LeNet-5 loses at least 1 point with intervals that do not overlap; "partly holds" when LeNet-5 loses more than the MLP.',
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
      verdict: judgement.verdict,
      summary: judgement.summary,
      protocol: `Permutation drawn with Generator(${PERMUTATION_SEED}); ${count(train.length)} images of the training part of the validation split, validation on ${count(validation.length)} of the ${count(split.validation.length)} held-out training images (shuffled like the training images for the shuffled runs); each run ${describeBudget(p.budget)}; seeds ${seeds.join(', ')} (initial weights and shuffle order); no augmentation; test accuracy on the first ${count(test.length)} test images, read once after training (shuffled with the same permutation for the shuffled runs).`,
      markdown: md,
      results: { permutationSeed: PERMUTATION_SEED, permutation: Array.from(perm), seeds, runs },
      metrics,
    };
  },
};
