/**
 * fit()'s yieldIntervalMs: how soon an abort requested from outside the loop (a timer here; a worker's message in
 * the explorer) stops training. The default yields only every 100 ms; with 0 fit yields after every step, so an
 * abort queued during step k stops the run before step k + 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed } from '../../src/tensor/random.js';
import { SGD } from '../../src/optim/sgd.js';
import { DataLoader } from '../../src/data/loader.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { fit, TrainingAbortedError } from '../../src/train/trainer.js';
import { TinyNet } from './tiny-net.js';

function loaders(): { train: DataLoader; test: DataLoader } {
  const n = 64;
  const images = new Float32Array(n * 28 * 28).map((_, i) => ((i * 7919) % 256) / 255);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const ds = new ImageDataset({ images, labels, channels: 1, height: 28, width: 28, classNames: Array.from({ length: 10 }, (_, i) => String(i)) });
  return { train: new DataLoader(ds, { batchSize: 4 }), test: new DataLoader(ds, { batchSize: 64 }) };
}

/** Steps done before an abort, requested by a timer that is queued during the first step, takes effect. */
async function stepsBeforeAbort(yieldIntervalMs: number | undefined): Promise<number> {
  manualSeed(0);
  const net = new TinyNet();
  const { train, test } = loaders();
  const controller = new AbortController();
  let steps = 0;
  await assert.rejects(fit({
    model: net, optimizer: new SGD(net.parameters(), { lr: 0.01 }), train, test, epochs: 1, info: { model: { name: 'tiny', config: {} } },
    signal: controller.signal, yieldIntervalMs,
    onEvent: (e) => {
      if (e.type !== 'batch') return;
      steps++;
      if (steps === 1) setTimeout(() => controller.abort(), 0);
    },
  }), TrainingAbortedError);
  return steps;
}

test('yieldIntervalMs 0: an abort queued during the first step stops the run after at most one more step', async () => {
  const steps = await stepsBeforeAbort(0);
  assert.ok(steps <= 2, `${steps} steps ran before the abort took effect`);
});

test('fit rejects a negative or NaN yieldIntervalMs', async () => {
  manualSeed(0);
  const net = new TinyNet();
  const { train, test } = loaders();
  for (const bad of [-1, Number.NaN]) {
    await assert.rejects(fit({ model: net, optimizer: new SGD(net.parameters(), { lr: 0.01 }), train, test, epochs: 1, info: { model: { name: 'tiny', config: {} } }, yieldIntervalMs: bad }), /yieldIntervalMs/);
  }
});
