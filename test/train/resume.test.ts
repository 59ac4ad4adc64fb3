import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, Generator } from '../../src/tensor/random.js';
import { Adam } from '../../src/optim/adam.js';
import { OneCycleLR } from '../../src/optim/lr_scheduler.js';
import { DataLoader } from '../../src/data/loader.js';
import { compose, normalize, randomCrop, randomHorizontalFlip } from '../../src/data/transforms.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { checkpointSaver, loadCheckpoint } from '../../src/node/checkpoint.js';
import { fit, type FitResult } from '../../src/train/trainer.js';
import type { Checkpoint, EpochMetrics } from '../../src/io/checkpoint.js';
import { TinyNet } from './tiny-net.js';

const trainData = loadEmbeddedFashionMnist('train').take(384);
const testData = loadEmbeddedFashionMnist('test').take(200);

/** One seeded run: model init, shuffle and augmentation all come from `seed`. Stops after `stopAfter` epochs if given. */
async function run(outDir: string, options: { resume?: Checkpoint; stopAfter?: number; seedOverride?: number } = {}): Promise<{ result: FitResult | null; net: TinyNet; history: EpochMetrics[] }> {
  const seed = 7;
  manualSeed(options.seedOverride ?? seed);
  const net = new TinyNet();
  const opt = new Adam(net.parameters(), { lr: 3e-3 });
  const epochs = 2;
  const train = new DataLoader(trainData, {
    batchSize: 32, shuffle: true, generator: new Generator(options.seedOverride ?? seed + 1),
    transform: compose(randomCrop(28, 2), randomHorizontalFlip(), normalize(0.286, 0.353)),
  });
  const test = new DataLoader(testData, { batchSize: 100, transform: normalize(0.286, 0.353) });
  const sched = new OneCycleLR(opt, { maxLr: 1e-2, epochs, stepsPerEpoch: train.length });
  const history: EpochMetrics[] = [];
  const controller = new AbortController();
  try {
    const result = await fit({
      model: net, optimizer: opt, train, test, epochs, scheduler: { scheduler: sched, interval: 'batch' },
      info: { model: { name: 'tiny', config: {} }, training: { seed } },
      saveCheckpoint: checkpointSaver(outDir),
      resume: options.resume ?? null,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'epochEnd') history.push(e.metrics);
        if (e.type === 'checkpoint' && e.kind === 'last' && e.epoch === options.stopAfter) controller.abort();
      },
    });
    return { result, net, history };
  } catch (e) {
    if ((e as Error).name !== 'TrainingAbortedError') throw e;
    return { result: null, net, history };
  }
}

function sameMetrics(a: EpochMetrics, b: EpochMetrics): void {
  for (const k of ['epoch', 'trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'lr'] as const) assert.equal(a[k], b[k], k);
}

test('resuming after epoch 1 of a seeded 2-epoch run gives the same epoch-2 metrics and weights', { timeout: 120_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'convkit-resume-'));
  try {
    const full = await run(join(root, 'full'));
    assert.equal(full.history.length, 2);

    const first = await run(join(root, 'split'), { stopAfter: 1 });
    assert.equal(first.result, null, 'the interrupted run stopped');
    assert.equal(first.history.length, 1);
    sameMetrics(first.history[0]!, full.history[0]!);

    // A fresh process state: different seeds everywhere, so only the checkpoint can make it match.
    const ck = await loadCheckpoint(join(root, 'split', 'last'));
    assert.equal(ck.meta.epoch, 1);
    const resumed = await run(join(root, 'split'), { resume: ck, seedOverride: 12345 });
    assert.equal(resumed.history.length, 1, 'only epoch 2 ran');
    sameMetrics(resumed.history[0]!, full.history[1]!);
    assert.deepEqual(resumed.result!.history.map((m) => m.testAccuracy), full.result!.history.map((m) => m.testAccuracy));
    const a = full.net.stateDict();
    const b = resumed.net.stateDict();
    for (const k of Object.keys(a)) assert.deepEqual(Array.from(b[k]!.data), Array.from(a[k]!.data), k);

    // The control: without restoring, a different seed gives different epoch-2 numbers.
    assert.notEqual(full.history[1]!.trainLoss, full.history[0]!.trainLoss);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
