/**
 * Stopping fit() promptly. yieldIntervalMs: how soon an abort requested from outside the loop (a timer here; a
 * worker's message in the explorer) stops training; the default yields only every 100 ms, with 0 fit yields
 * after every step, so an abort queued during step k stops the run before step k + 2. interrupted: polled inside
 * the backward pass too, so a run stops in the middle of a step, before the optimizer changes any weight.
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

test('interrupted() turning true inside the first backward pass stops the run before any weight changes', async () => {
  manualSeed(0);
  const net = new TinyNet();
  const before = Object.fromEntries(Object.entries(net.stateDict()).map(([k, t]) => [k, Float32Array.from(t.data)]));
  const { train, test } = loaders();
  let polls = 0;
  const steps: number[] = [];
  await assert.rejects(fit({
    model: net, optimizer: new SGD(net.parameters(), { lr: 0.1 }), train, test, epochs: 1, info: { model: { name: 'tiny', config: {} } },
    // Poll 1 is before the first step; the following ones are between the nodes of its backward pass.
    interrupted: () => ++polls >= 4,
    onEvent: (e) => { if (e.type === 'batch') steps.push(e.step); },
  }), TrainingAbortedError);
  assert.equal(polls, 4, 'fit stopped at the first true');
  assert.deepEqual(steps, [], 'no step completed');
  for (const [name, tensor] of Object.entries(net.stateDict())) {
    if (name === 'runningMean' || name === 'runningVar') continue; // the forward pass updates batch-norm statistics
    assert.deepEqual(Array.from(tensor.data), Array.from(before[name]!), `${name} changed`);
  }
});

test('interrupted() is polled between steps as well, and a run it never stops ends normally', async () => {
  manualSeed(0);
  const net = new TinyNet();
  const { train, test } = loaders();
  let polls = 0;
  const result = await fit({
    model: net, optimizer: new SGD(net.parameters(), { lr: 0.01 }), train, test, epochs: 1, info: { model: { name: 'tiny', config: {} } },
    interrupted: () => { polls++; return false; },
  });
  assert.equal(result.globalStep, 16);
  assert.ok(polls > 16 * 2, `${polls} polls for 16 steps`);
});

test('fit yields through yieldToEventLoop when one is given (after steps and before each evaluation)', async () => {
  manualSeed(0);
  const net = new TinyNet();
  const { train, test } = loaders();
  let yields = 0;
  await fit({
    model: net, optimizer: new SGD(net.parameters(), { lr: 0.01 }), train, test, epochs: 2, info: { model: { name: 'tiny', config: {} } },
    yieldIntervalMs: 0, yieldToEventLoop: () => { yields++; return Promise.resolve(); },
  });
  assert.equal(yields, 2 * 16 + 2, 'one yield per step plus one before each of the two evaluations');
});
