// `convkit lab estimate`'s arithmetic: the planned runs follow the protocol (3 seeds per comparison, epoch caps,
// validation checks), and seconds = images x epochs x runs / train speed + scored images x runs / eval speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimate, planRuns } from '../../src/lab/estimate.js';
import { PROTOCOLS } from '../../src/lab/protocol.js';

test('planRuns: every model of every training experiment, 3 seeds per comparison at full scale, caps from the protocol', () => {
  const plan = planRuns('full', 55000, 5000);
  const ablation = plan.filter((r) => r.experiment === 'ablation');
  assert.equal(ablation.length, PROTOCOLS.full.ablation.sizes.length * 3);
  assert.ok(ablation.every((r) => r.runs === 3));
  const lc1k = ablation.find((r) => r.model === 'lcnet' && r.trainImages === 1000)!;
  assert.equal(lc1k.epochs, 60);
  // 1,000 images, checks at least 5,000 images apart: every 5 epochs, 12 checks of 5,000 validation images.
  assert.equal(lc1k.validationImages, 12 * 5000);
  assert.ok(plan.filter((r) => r.experiment === 'depth').every((r) => r.runs === 3 && r.epochs >= 2 && r.trainImages === 55000 && r.validationImages === 0));
  assert.equal(plan.find((r) => r.experiment === 'shuffle' && r.model === 'lenet5')!.runs, 6, 'original and shuffled, 3 seeds each');
});

test('estimate: training and scoring seconds from measured speeds, summed per experiment', () => {
  const plan = [
    { experiment: 'a', model: 'm', runs: 3, trainImages: 1000, epochs: 10, batchSize: 64, validationImages: 4000, evalImages: 2000 },
    { experiment: 'b', model: 'n', runs: 1, trainImages: 500, epochs: 2, batchSize: 64, validationImages: 0, evalImages: 100 },
  ];
  const speeds = [
    { model: 'm', batchSize: 64, trainImagesPerSecond: 100, evalImagesPerSecond: 1000 },
    { model: 'n', batchSize: 64, trainImagesPerSecond: 50, evalImagesPerSecond: 100 },
  ];
  const e = estimate(plan, speeds);
  assert.equal(e.byExperiment[0]!.trainSeconds, 300); // 1000 x 10 x 3 / 100
  assert.equal(e.byExperiment[0]!.evalSeconds, 18); // (4000 + 2000) x 3 / 1000
  assert.equal(e.byExperiment[1]!.trainSeconds, 20);
  assert.equal(e.byExperiment[1]!.evalSeconds, 1);
  assert.equal(e.totalSeconds, 339);
  assert.throws(() => estimate(plan, speeds.slice(0, 1)), /no measured speed for n at batch 64/);
});
