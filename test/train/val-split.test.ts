/**
 * fit({ validation }): `best` and early stopping read the validation split only. The test set is still evaluated
 * and reported; a test set whose labels were poisoned to favour another epoch changes neither the best epoch nor
 * the stop. The control run without validation shows the poison works (it fools a choice made on test accuracy).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, Generator } from '../../src/tensor/random.js';
import { Adam } from '../../src/optim/adam.js';
import { DataLoader } from '../../src/data/loader.js';
import { normalize } from '../../src/data/transforms.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { splitValidation } from '../../src/data/split.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { checkpointSaver, loadCheckpoint, saveCheckpoint } from '../../src/node/checkpoint.js';
import { noGrad } from '../../src/autograd/tape.js';
import { argmaxRows } from '../../src/train/metrics.js';
import { fit, modelCheckpoint, type FitResult } from '../../src/train/trainer.js';
import { earlyStopAfter, type EarlyStopping } from '../../src/train/selection.js';
import type { EpochMetrics } from '../../src/io/checkpoint.js';
import { TinyNet } from './tiny-net.js';

const split = splitValidation(loadEmbeddedFashionMnist('train').take(480), 0.25, 0);
const testData = loadEmbeddedFashionMnist('test').take(200);
const norm = normalize(0.286, 0.353);
const EPOCHS = 5;

interface RunOptions {
  test: ImageDataset;
  validation: boolean;
  earlyStopping?: EarlyStopping;
  /** Record the model's predictions on the test images after this epoch. */
  predictAfter?: number;
}

/** A seeded run of TinyNet; the same options give the same weights at every epoch. */
async function run(o: RunOptions): Promise<{ result: FitResult; predictions: Int32Array | null }> {
  manualSeed(3);
  const net = new TinyNet();
  const train = new DataLoader(split.train, { batchSize: 32, shuffle: true, generator: new Generator(4), transform: norm });
  let predictions: Int32Array | null = null;
  const result = await fit({
    model: net, optimizer: new Adam(net.parameters(), { lr: 3e-3 }), train, epochs: EPOCHS,
    test: new DataLoader(o.test, { batchSize: 200, transform: norm }),
    validation: o.validation ? new DataLoader(split.validation, { batchSize: 200, transform: norm }) : null,
    earlyStopping: o.earlyStopping ?? null,
    info: { model: { name: 'tiny', config: {} } },
    onEvent: (e) => {
      if (e.type !== 'epochEnd' || e.epoch !== o.predictAfter) return;
      net.eval();
      const x = new DataLoader(o.test, { batchSize: o.test.length, transform: norm });
      for (const batch of x) predictions = noGrad(() => argmaxRows(net.forward(batch.x)));
    },
  });
  return { result, predictions };
}

/** The test images with labels replaced (the images, and so the model's inputs, stay the same). */
function relabel(ds: ImageDataset, labels: Int32Array): ImageDataset {
  return new ImageDataset({ images: ds.images, labels, channels: ds.channels, height: ds.height, width: ds.width, classNames: ds.classNames, name: 'poisoned test' });
}

const validationOf = (h: readonly EpochMetrics[]): (number | undefined)[][] => h.map((m) => [m.epoch, m.validationLoss, m.validationAccuracy, m.trainLoss]);

test('with a validation set, best is the epoch of the highest validation accuracy and epochs record validation metrics', { timeout: 60_000 }, async () => {
  const { result } = await run({ test: testData, validation: true });
  assert.equal(result.history.length, EPOCHS);
  for (const m of result.history) {
    assert.ok(m.validationAccuracy! >= 0 && m.validationAccuracy! <= 1 && Number.isFinite(m.validationLoss), `epoch ${m.epoch}`);
  }
  const accuracies = result.history.map((m) => m.validationAccuracy!);
  const bestEpoch = accuracies.indexOf(Math.max(...accuracies)) + 1;
  assert.deepEqual(result.best, { metric: 'validationAccuracy', value: accuracies[bestEpoch - 1], epoch: bestEpoch });
  assert.equal(result.finalValidation?.count, split.validation.length);
  assert.equal(result.final.count, testData.length, 'the test set is still evaluated and reported');
});

test('poisoned test labels change neither the best epoch nor the early stop (and do fool a choice made on test)', { timeout: 120_000 }, async () => {
  const stopping: EarlyStopping = { patience: 1, minDelta: 0.02 };
  const honest = await run({ test: testData, validation: true, earlyStopping: stopping });
  assert.ok(honest.result.best && honest.result.earlyStop, 'the honest run stops early (the check below compares two stops)');
  // Poison: the test labels become the model's own predictions after an epoch that is NOT the validation-best one,
  // so test accuracy is 100 % at that epoch and lower elsewhere.
  const lureEpoch = honest.result.best.epoch === 1 ? 2 : 1;
  const { predictions } = await run({ test: testData, validation: true, predictAfter: lureEpoch });
  assert.ok(predictions);
  const poisoned = relabel(testData, predictions);

  const fooled = await run({ test: poisoned, validation: false });
  assert.equal(fooled.result.best?.epoch, lureEpoch, 'control: picking best on the poisoned test set picks the lure epoch');
  assert.equal(fooled.result.history[lureEpoch - 1]!.testAccuracy, 1);
  const readingTest = fooled.result.history.map((m) => ({ ...m, validationAccuracy: m.testAccuracy }));
  const stopOnTest = readingTest.findIndex((_, k) => earlyStopAfter(readingTest.slice(0, k + 1), stopping) !== null) + 1;
  assert.ok(stopOnTest > 0 && stopOnTest < honest.result.earlyStop.epoch, `control: stopping on the poisoned test accuracy would stop after epoch ${stopOnTest}`);

  const guarded = await run({ test: poisoned, validation: true, earlyStopping: stopping });
  assert.deepEqual(guarded.result.best, honest.result.best);
  assert.deepEqual(guarded.result.earlyStop, honest.result.earlyStop);
  assert.equal(guarded.result.epochsCompleted, honest.result.epochsCompleted);
  assert.deepEqual(validationOf(guarded.result.history), validationOf(honest.result.history));
  assert.notDeepEqual(guarded.result.history.map((m) => m.testAccuracy), honest.result.history.map((m) => m.testAccuracy), 'the poison reached the test evaluation');
});

test('early stopping stops after `patience` epochs without a validation improvement larger than minDelta', { timeout: 60_000 }, async () => {
  // A minDelta no epoch can beat: epoch 1 sets the reference, epochs 2 and 3 do not improve, the run stops after 3.
  const { result } = await run({ test: testData, validation: true, earlyStopping: { patience: 2, minDelta: 0.99 } });
  assert.deepEqual(result.earlyStop, { epoch: 3, bestEpoch: 1, patience: 2, minDelta: 0.99 });
  assert.equal(result.history.length, 3);
  assert.equal(result.epochsCompleted, 3);
});

test('earlyStopAfter reads validation accuracy only', () => {
  const epoch = (e: number, validationAccuracy: number, testAccuracy: number): EpochMetrics => ({
    epoch: e, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy, validationLoss: 1, validationAccuracy, lr: 0.1, seconds: 1, imagesPerSecond: 1,
  });
  // Validation stalls after epoch 2 while test keeps rising: stop after epoch 4 with patience 2.
  const stalled = [epoch(1, 0.5, 0.5), epoch(2, 0.6, 0.6), epoch(3, 0.6, 0.7), epoch(4, 0.59, 0.8)];
  assert.deepEqual(earlyStopAfter(stalled, { patience: 2 }), { epoch: 4, bestEpoch: 2, patience: 2, minDelta: 0 });
  // Validation rising while test falls: no stop.
  const rising = [epoch(1, 0.5, 0.9), epoch(2, 0.6, 0.8), epoch(3, 0.7, 0.7), epoch(4, 0.8, 0.6)];
  assert.equal(earlyStopAfter(rising, { patience: 1 }), null);
  // minDelta: +0.005 per epoch does not count as an improvement of 0.01.
  const creeping = [epoch(1, 0.5, 0.5), epoch(2, 0.505, 0.5), epoch(3, 0.51, 0.5)];
  assert.deepEqual(earlyStopAfter(creeping, { patience: 2, minDelta: 0.01 }), { epoch: 3, bestEpoch: 1, patience: 2, minDelta: 0.01 });
});

test('early stopping without a validation set, or with a bad patience, is refused with what to pass', async () => {
  await assert.rejects(run({ test: testData, validation: false, earlyStopping: { patience: 2 } }), /earlyStopping needs a validation set .*splitValidation.*never reads the test set/);
  await assert.rejects(run({ test: testData, validation: true, earlyStopping: { patience: 0 } }), /patience must be an integer >= 1/);
});

test('a run with early stopping resumed from its checkpoint stops at the same epoch as one never interrupted', { timeout: 120_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'convkit-val-resume-'));
  try {
    const stopping: EarlyStopping = { patience: 1, minDelta: 0.02 };
    const whole = await run({ test: testData, validation: true, earlyStopping: stopping });
    // Train 2 epochs with checkpoints, then continue from `last` to the planned 5.
    manualSeed(3);
    const net = new TinyNet();
    const makeTrain = (): DataLoader => new DataLoader(split.train, { batchSize: 32, shuffle: true, generator: new Generator(4), transform: norm });
    const common = {
      test: new DataLoader(testData, { batchSize: 200, transform: norm }),
      validation: new DataLoader(split.validation, { batchSize: 200, transform: norm }),
      earlyStopping: stopping, info: { model: { name: 'tiny', config: {} } }, saveCheckpoint: checkpointSaver(root),
    };
    await fit({ ...common, model: net, optimizer: new Adam(net.parameters(), { lr: 3e-3 }), train: makeTrain(), epochs: 2 });
    const last = await loadCheckpoint(join(root, 'last'));
    const resumedNet = new TinyNet();
    const resumed = await fit({ ...common, model: resumedNet, optimizer: new Adam(resumedNet.parameters(), { lr: 3e-3 }), train: makeTrain(), epochs: EPOCHS, resume: last });
    assert.deepEqual(resumed.earlyStop, whole.result.earlyStop);
    assert.deepEqual(resumed.best, whole.result.best);
    assert.deepEqual(validationOf(resumed.history), validationOf(whole.result.history));
    assert.equal((await loadCheckpoint(join(root, 'best'))).meta.metrics.best?.metric, 'validationAccuracy');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('checkpoints whose best was picked on test accuracy (before validation splits) still load; unknown metrics are refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'convkit-old-best-'));
  try {
    manualSeed(0);
    const old = modelCheckpoint(new TinyNet(), { model: { name: 'tiny', config: {} } }, [
      { epoch: 1, trainLoss: 1.2, trainAccuracy: 0.6, testLoss: 1.1, testAccuracy: 0.62, lr: 0.001, seconds: 3, imagesPerSecond: 100 },
    ]);
    old.meta.metrics.best = { metric: 'testAccuracy', value: 0.62, epoch: 1 };
    await saveCheckpoint(join(root, 'old'), old);
    const loaded = await loadCheckpoint(join(root, 'old'));
    assert.deepEqual(loaded.meta.metrics.best, { metric: 'testAccuracy', value: 0.62, epoch: 1 });
    assert.equal(loaded.meta.metrics.history[0]!.validationAccuracy, undefined);

    const odd = modelCheckpoint(new TinyNet(), { model: { name: 'tiny', config: {} } });
    (odd.meta.metrics as { best: unknown }).best = { metric: 'trainAccuracy', value: 0.9, epoch: 1 };
    await saveCheckpoint(join(root, 'odd'), odd);
    await assert.rejects(loadCheckpoint(join(root, 'odd')), /metrics\.best\.metric must be one of validationAccuracy, testAccuracy .*got "?trainAccuracy/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
