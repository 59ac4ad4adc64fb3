// A lab run stopped in the middle goes on from its kept progress (src/lab/train.ts, fileRunStore in
// src/node/labRun.ts): at the end of an epoch the loop keeps weights, optimizer state, data order, random state and
// curves, and a run given that progress ends with the bits of a run that never stopped (a session that ends kills
// the lab's processes; a 1-hour run then loses at most an epoch, not the hour).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nn from '../../src/nn/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { manualSeed, Generator } from '../../src/tensor/random.js';
import { trainEpochs, type EpochOutcome } from '../../src/lab/train.js';
import { fileRunStore } from '../../src/node/labRun.js';
import type { LabContext, ProgressSlot, RunProgress } from '../../src/lab/types.js';
import { emptyTally, storedRun } from '../../src/lab/resume.js';
import { smokeData } from './support/smoke.js';

/** 96 random 1x8x8 images of 3 classes whose mean brightness tells the class apart (learnable, not trivial). */
function dataset(seed: number, n: number): ImageDataset {
  const g = new Generator(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const images = Uint8Array.from({ length: n * 64 }, (_, i) => Math.min(255, Math.floor(g.uniform() * 160 + labels[Math.floor(i / 64)]! * 40)));
  return new ImageDataset({ images, labels, channels: 1, height: 8, width: 8, classNames: ['a', 'b', 'c'] });
}

/** Conv, BatchNorm (running statistics are state too), ReLU, Dropout (draws from the global generator), Linear. */
function model(): nn.Module {
  manualSeed(5);
  return new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Flatten(), new nn.Dropout(0.3), new nn.Linear(144, 3));
}

const train = dataset(1, 96), validation = dataset(2, 30);
function run(progress?: ProgressSlot): { outcome: EpochOutcome; weights: number[][] } {
  const net = model();
  const outcome = trainEpochs({
    model: net, train, validation, epochs: 5, batchSize: 16, seed: 3, earlyStopping: { patience: 10, minDelta: 0 }, lossEvery: 4,
    optimizer: { name: 'adam', lr: 3e-3, warmup: { steps: 5, startFactor: 0.2 }, cosine: true }, progress, progressEverySeconds: 0,
  });
  return { outcome, weights: Object.values(net.stateDict()).map((t) => Array.from(t.data)) };
}

/** A slot in memory that keeps copies and "kills" the run (throws) right after its `killAfter`-th save. */
function memorySlot(killAfter: number): ProgressSlot & { kept: RunProgress | undefined; saves: number } {
  const slot = {
    kept: undefined as RunProgress | undefined,
    saves: 0,
    load: () => slot.kept,
    save(p: RunProgress) {
      slot.kept = { state: structuredClone(p.state), arrays: Object.fromEntries(Object.entries(p.arrays).map(([k, v]) => [k, Float32Array.from(v)])) };
      if (++slot.saves === killAfter) throw new Error('killed');
    },
  };
  return slot;
}

test('a run killed after epoch 2 and given its kept progress ends with the bits of the run that never stopped', () => {
  const whole = run();
  for (const killAfter of [1, 2, 4]) {
    const slot = memorySlot(killAfter);
    assert.throws(() => run(slot), /killed/);
    const resumed = run(slot);
    const { seconds: _a, ...got } = resumed.outcome;
    const { seconds: _b, ...want } = whole.outcome;
    assert.deepEqual(got, want, `killed after save ${killAfter}: the outcome (loss and lr curves, validation checks, best epoch)`);
    assert.deepEqual(resumed.weights, whole.weights, `killed after save ${killAfter}: the weights and batch-norm statistics`);
  }
  // it saved at every epoch end but the last (progressEverySeconds 0), and the kept state is the loop's own
  const slot = memorySlot(0);
  run(slot);
  assert.equal(slot.saves, 4);
  assert.equal((slot.kept!.state as { epoch: number }).epoch, 4);
  assert.ok(Object.keys(slot.kept!.arrays).some((k) => k.startsWith('optimizer.')) && Object.keys(slot.kept!.arrays).some((k) => k.startsWith('caller.best.')));
});

test('fileRunStore keeps progress with its protocol, gives it back only for that protocol and when reading, and drops it when the run is saved', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-progress-'));
  try {
    const progress: RunProgress = { state: { epoch: 3, best: -Infinity, loss: NaN, curve: [1.5, 2] }, arrays: { 'model.w': Float32Array.of(1, -0, NaN, 3e38), 'optimizer.0.expAvg': new Float32Array(5).fill(0.25) } };
    const writer = fileRunStore(dir, 'test', false, 'abc');
    writer.saveProgress!('exp', 'm seed/0', { epochs: 4 }, progress);
    assert.equal(writer.loadProgress!('exp', 'm seed/0', { epochs: 4 }), undefined, 'a store that does not read');
    const reader = fileRunStore(dir, 'test', true, 'abc');
    const back = reader.loadProgress!('exp', 'm seed/0', { epochs: 4 })!;
    const state = back.state as { epoch: number; best: number; loss: number; curve: number[] };
    assert.equal(state.epoch, 3);
    assert.equal(state.best, -Infinity);
    assert.ok(Number.isNaN(state.loss));
    assert.deepEqual(state.curve, [1.5, 2]);
    assert.deepEqual(Array.from(new Uint32Array(back.arrays['model.w']!.buffer)), Array.from(new Uint32Array(progress.arrays['model.w']!.buffer)));
    assert.deepEqual(back.arrays['optimizer.0.expAvg'], progress.arrays['optimizer.0.expAvg']);
    assert.equal(reader.loadProgress!('exp', 'm seed/0', { epochs: 5 }), undefined, 'another protocol');
    const file = join(dir, 'exp', 'm_seed_0.progress.safetensors');
    assert.ok(existsSync(file));
    reader.save('exp', 'm seed/0', { epochs: 4 }, { done: true }, 12);
    assert.ok(!existsSync(file), 'the finished run drops its progress');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('storedRun hands the run its progress slot in the store (none without a store), bound to the run and its protocol', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-progress-'));
  try {
    const ctx = (read: boolean): LabContext => ({
      options: { scale: 'smoke', log: () => {}, backend: 'test' }, data: smokeData, output: { text: () => {}, image: () => {} },
      command: () => '', cache: new Map(), runs: fileRunStore(dir, 'test', read, 'abc'), runTally: emptyTally(),
    });
    let seen: RunProgress | undefined;
    // a first process keeps progress and dies; the next one (reading) gets it back; the finished run drops it
    assert.throws(() => storedRun(ctx(true), 'exp', 'k', { a: 1 }, (slot) => {
      slot!.save({ state: { epoch: 1 }, arrays: { x: Float32Array.of(2) } });
      throw new Error('killed');
    }), /killed/);
    storedRun(ctx(true), 'exp', 'k', { a: 1 }, (slot) => { seen = slot!.load(); return { result: 1, seconds: 1 }; });
    assert.deepEqual(seen?.state, { epoch: 1 });
    assert.deepEqual(Array.from(seen!.arrays['x']!), [2]);
    assert.ok(!existsSync(join(dir, 'exp', 'k.progress.safetensors')));
    storedRun({ ...ctx(true), runs: undefined }, 'exp', 'k2', { a: 1 }, (slot) => { assert.equal(slot, undefined); return { result: 1, seconds: 1 }; });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
