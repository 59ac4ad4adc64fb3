// The lab's validation protocol (issue 19): the validation split is part of the training set and never
// overlaps the test set, and nothing in training reads test labels: a run whose test labels are poisoned
// trains, validates and stops exactly as the clean run and differs only in the reported test accuracy.
// Mechanics only (smoke budgets on the embedded real subset): no assertion depends on a training outcome.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../../src/backend/registry.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { runLab } from '../../src/node/labRun.js';
import { labSplit, subsetIndices, VALIDATION_SPLIT } from '../../src/lab/split.js';
import { exportProtocol } from '../../src/lab/export.js';
import { accuracy, checkInterval, seededModel, trainEpochs } from '../../src/lab/train.js';
import * as models from '../../src/models/index.js';
import type { LabData } from '../../src/lab/types.js';

const train = loadEmbeddedFashionMnist('train');
const testSet = loadEmbeddedFashionMnist('test');

before(async () => {
  try {
    const { loadWasmBackend } = await import('../../src/backend/wasm/index.js');
    useBackend(await loadWasmBackend());
  } catch { /* the reference backend is fine for smoke budgets */ }
});

/** The same images with every label moved to the next class: any use of test labels in training would show. */
function poisoned(d: ImageDataset): ImageDataset {
  return new ImageDataset({
    images: d.images, labels: d.labels.map((y) => (y + 1) % d.numClasses), channels: d.channels, height: d.height, width: d.width,
    classNames: d.classNames, name: `${d.name} (poisoned labels)`,
  });
}

function imageKey(d: ImageDataset, i: number): string {
  return Buffer.from(d.getImage(i).buffer).toString('base64');
}

test('labSplit: validation and training parts partition the training set, and no validation image is a test image', () => {
  const split = labSplit(train);
  assert.equal(split.validationIndices.length, Math.round(train.length * VALIDATION_SPLIT.fraction));
  const all = [...split.trainIndices, ...split.validationIndices].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: train.length }, (_, i) => i), 'every training image in exactly one part');
  for (let k = 0; k < split.validation.length; k += 7) assert.equal(imageKey(split.validation, k), imageKey(train, split.validationIndices[k]!));
  const testImages = new Set(Array.from({ length: testSet.length }, (_, i) => imageKey(testSet, i)));
  const leaked = Array.from(split.validationIndices).filter((i) => testImages.has(imageKey(train, i)));
  assert.deepEqual(leaked, [], 'validation images found in the test set');
  // The ablation's subsets come from the training part only.
  const inValidation = new Set(split.validationIndices);
  for (const seed of [100, 101]) assert.ok(Array.from(subsetIndices(split, 300, seed)).every((i) => !inValidation.has(i)));
});

test('the exported protocol carries the same validation indices and subsets the experiments use', () => {
  const p = exportProtocol(train, 'smoke');
  const split = labSplit(train);
  assert.deepEqual(p.validation.indices, Array.from(split.validationIndices));
  assert.equal(p.trainPartImages, split.train.length);
  const size = p.experiments.ablation.sizes[0]!.images;
  assert.deepEqual(p.experiments.ablation.subsets[String(size)]![0], Array.from(subsetIndices(split, size, 100 + p.experiments.ablation.seeds[0]!)));
});

test('trainEpochs: checks validation every checkInterval epochs, keeps the best weights, and stops after `patience` checks', () => {
  assert.equal(checkInterval(1000, 5000), 5);
  assert.equal(checkInterval(55000, 5000), 1);
  assert.equal(checkInterval(64, undefined), 1);
  const split = labSplit(train);
  const model = seededModel(0, () => models.create('mlp'));
  // A minDelta of 1 makes every check after the first "no improvement": training must stop after exactly 1 + patience
  // checks, and keep the weights of the most accurate check.
  const o = trainEpochs({ model, train: split.train.take(64), validation: split.validation, epochs: 10, batchSize: 32, optimizer: { name: 'adam', lr: 1e-3 }, earlyStopping: { patience: 2, minDelta: 1 }, seed: 0 });
  assert.equal(o.validationCurve.length, 3);
  assert.equal(o.epochsRun, 3);
  assert.equal(o.stoppedEarly, true);
  const top = Math.max(...o.validationCurve.map((c) => c.accuracy));
  assert.equal(o.bestEpoch, o.validationCurve.find((c) => c.accuracy === top)!.epoch);
  assert.equal(o.bestValidationAccuracy, top);
  assert.equal(accuracy(model, split.validation), top, 'the model holds the kept weights');
  assert.throws(() => trainEpochs({ model, train: split.train.take(8), epochs: 1, batchSize: 4, optimizer: { name: 'adam', lr: 1e-3 }, earlyStopping: { patience: 1, minDelta: 0 }, seed: 0 }), /early stopping needs a validation set/);
});

test('trainEpochs: a run that stops early is the same run under any higher epoch cap (what --resume relies on when a cap is raised)', () => {
  const split = labSplit(train);
  const run = (epochs: number) => {
    const model = seededModel(3, () => models.create('mlp'));
    const o = trainEpochs({ model, train: split.train.take(96), validation: split.validation.take(200), epochs, batchSize: 32, optimizer: { name: 'adam', lr: 1e-3 }, earlyStopping: { patience: 2, minDelta: 1 }, seed: 3 });
    return { o, weights: Object.values(model.stateDict()).map((p) => Array.from(p.data)) };
  };
  const low = run(4);
  const high = run(9);
  assert.equal(low.o.epochsRun, 3);
  assert.equal(low.o.stoppedEarly, true);
  assert.deepEqual([high.o.epochsRun, high.o.bestEpoch, high.o.validationCurve], [low.o.epochsRun, low.o.bestEpoch, low.o.validationCurve]);
  assert.deepEqual(high.weights, low.weights);
  assert.deepEqual(high.o.lossCurve, low.o.lossCurve);
});

test('poisoned test labels change nothing but the reported test accuracy (shuffle and pooling, smoke)', async () => {
  const run = async (testData: ImageDataset) => {
    const out = mkdtempSync(join(tmpdir(), 'convkit-lab-poison-'));
    try {
      const data = async (): Promise<LabData> => ({ train, test: testData, description: 'embedded subset' });
      const r = await runLab({ experiments: ['shuffle', 'pooling'], scale: 'smoke', outDir: out, backend: 'test', data, log: () => {} });
      assert.deepEqual(r.failures, []);
      return ['shuffle', 'pooling'].map((n) => JSON.parse(readFileSync(join(out, `${n}.json`), 'utf8')) as { results: { runs: Record<string, unknown>[] } });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };
  const clean = await run(testSet);
  const dirty = await run(poisoned(testSet));
  const [shuffleClean, poolingClean] = clean;
  const [shuffleDirty, poolingDirty] = dirty;
  const training = (r: Record<string, unknown>) => ({ validationAccuracy: r['validationAccuracy'], epochs: r['epochs'], bestEpoch: r['bestEpoch'] });
  assert.deepEqual(shuffleDirty!.results.runs.map(training), shuffleClean!.results.runs.map(training));
  assert.deepEqual(poolingDirty!.results.runs.map(training), poolingClean!.results.runs.map(training));
  // The test figure is the one thing that moves: every prediction now meets a wrong label.
  const testAcc = (runs: Record<string, unknown>[]) => runs.map((r) => r['testAccuracy'] as number);
  assert.notDeepEqual(testAcc(shuffleDirty!.results.runs), testAcc(shuffleClean!.results.runs));
  // Pooling's consistency compares predictions with predictions (no labels): it must not move either.
  const consistency = (runs: Record<string, unknown>[]) => runs.map((r) => (r['shifts'] as { consistency: number }[]).map((s) => s.consistency));
  assert.deepEqual(consistency(poolingDirty!.results.runs), consistency(poolingClean!.results.runs));
});
