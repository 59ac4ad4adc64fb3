import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, defaultGenerator } from '../../src/tensor/random.js';
import { randn } from '../../src/tensor/creation.js';
import { Adam } from '../../src/optim/adam.js';
import * as F from '../../src/ops/index.js';
import { saveCheckpoint, loadCheckpoint, CheckpointError } from '../../src/node/checkpoint.js';
import type { Checkpoint } from '../../src/io/checkpoint.js';
import { TinyNet } from '../train/tiny-net.js';

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

function trainedState(): { net: TinyNet; opt: Adam; ck: Checkpoint } {
  manualSeed(3);
  const net = new TinyNet();
  const opt = new Adam(net.parameters(), { lr: 1e-2 });
  for (let i = 0; i < 3; i++) {
    const x = randn([8, 1, 28, 28]);
    const y = Int32Array.from({ length: 8 }, (_, k) => (k * 3 + i) % 10);
    const loss = F.crossEntropy(net.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  const ck: Checkpoint = {
    meta: {
      model: { name: 'tiny', config: { width: 4 } },
      dataset: { name: 'fashion-mnist', source: 'embedded-subset', classNames: ['a', 'b'], inputShape: [1, 28, 28], normalization: { mean: [0.286], std: [0.353] } },
      optimizer: { name: 'adam', hyperparameters: { lr: 1e-2 } },
      scheduler: { name: 'cosine', state: { lastEpoch: 3, baseLrs: [0.01] } },
      epoch: 1,
      globalStep: 3,
      rng: { default: defaultGenerator.getState(), loader: { epoch: 1, generator: { s: [1, 2, 3, 4], spareNormal: null } } },
      training: { seed: 3, nan: NaN },
      metrics: { history: [], best: { metric: 'testAccuracy', value: 0.5, epoch: 1 } },
    },
    modelState: net.stateDict(),
    optimizerState: opt.stateDict(),
  };
  return { net, opt, ck };
}

test('save/load round trip is bit-exact for weights, buffers, optimizer state and metadata', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-ck-'));
  try {
    const { net, opt, ck } = trainedState();
    await saveCheckpoint(join(dir, 'last'), ck);
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'checkpoint.json']) assert.ok(existsSync(join(dir, 'last', f)), f);
    const loaded = await loadCheckpoint(join(dir, 'last'));
    const sd = net.stateDict();
    assert.deepEqual(Object.keys(loaded.modelState), Object.keys(sd));
    for (const [k, t] of Object.entries(sd)) {
      assert.deepEqual(loaded.modelState[k]!.shape, t.shape, k);
      assert.deepEqual(bits(loaded.modelState[k]!.data), bits(t.data), k);
    }
    assert.deepEqual(loaded.meta.model, ck.meta.model);
    assert.deepEqual(loaded.meta.dataset, ck.meta.dataset);
    assert.deepEqual(loaded.meta.rng, ck.meta.rng);
    assert.deepEqual(loaded.meta.scheduler, ck.meta.scheduler);
    assert.equal(loaded.meta.epoch, 1);
    assert.ok(Number.isNaN(loaded.meta.training['nan'] as number) || loaded.meta.training['nan'] === null);

    // A fresh model + optimizer restored from the checkpoint continue exactly like the original.
    manualSeed(99);
    const net2 = new TinyNet();
    const opt2 = new Adam(net2.parameters(), { lr: 1e-2 });
    net2.loadStateDict(loaded.modelState);
    opt2.loadStateDict(loaded.optimizerState as ReturnType<Adam['stateDict']>);
    const origOpt = opt.stateDict();
    const newOpt = opt2.stateDict();
    assert.deepEqual(Object.keys(newOpt.state), Object.keys(origOpt.state));
    for (const [i, s] of Object.entries(origOpt.state)) {
      for (const [k, v] of Object.entries(s)) {
        const w = (newOpt.state as Record<string, Record<string, unknown>>)[i]![k];
        if (v instanceof Float32Array) assert.deepEqual(bits(w as Float32Array), bits(v), `state.${i}.${k}`);
        else assert.equal(w, v);
      }
    }
    const x = randn([8, 1, 28, 28]);
    const y = Int32Array.from({ length: 8 }, (_, k) => k % 10);
    for (const [n, o] of [[net, opt], [net2, opt2]] as const) {
      const loss = F.crossEntropy(n.forward(x), y);
      o.zeroGrad();
      loss.backward();
      o.step();
    }
    for (const [k, t] of Object.entries(net.stateDict())) assert.deepEqual(bits(net2.stateDict()[k]!.data), bits(t.data), `after a step: ${k}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing or corrupt file gives a clear CheckpointError', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-ck-'));
  try {
    const { ck } = trainedState();
    const at = join(dir, 'ck');
    await saveCheckpoint(at, ck);
    const expectError = async (pattern: RegExp): Promise<void> => {
      await assert.rejects(loadCheckpoint(at), (e: unknown) => e instanceof CheckpointError && pattern.test(e.message));
    };
    await assert.rejects(loadCheckpoint(join(dir, 'nope')), /checkpoint: directory not found: .*nope/);

    const modelPath = join(at, 'model.safetensors');
    const good = readFileSync(modelPath);
    writeFileSync(modelPath, good.subarray(0, good.length - 10));
    await expectError(/model\.safetensors is \d+ bytes but checkpoint\.json says \d+ \(truncated or replaced\)/);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1]! ^= 1;
    writeFileSync(modelPath, flipped);
    await expectError(/model\.safetensors does not match the SHA-256/);
    rmSync(modelPath);
    await expectError(/model\.safetensors is missing/);
    writeFileSync(modelPath, good);

    const metaPath = join(at, 'checkpoint.json');
    const meta = readFileSync(metaPath, 'utf8');
    writeFileSync(metaPath, meta.slice(0, 40));
    await expectError(/checkpoint\.json is not valid JSON/);
    writeFileSync(metaPath, meta.replace('"version": 1', '"version": 99'));
    await expectError(/format version 99; this convkit reads version 1/);
    const noHash = JSON.parse(meta) as { files: unknown };
    delete (noHash as { files?: unknown }).files;
    writeFileSync(metaPath, JSON.stringify(noHash));
    writeFileSync(modelPath, good.subarray(0, good.length - 10));
    await expectError(/safetensors .*model\.safetensors: .*file truncated\?/);
    writeFileSync(modelPath, good);
    rmSync(metaPath);
    await expectError(/checkpoint\.json is missing in .*not a checkpoint directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a save never replaces a folder that is not a checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-ck-'));
  try {
    const { ck } = trainedState();
    writeFileSync(join(dir, 'precious.txt'), 'user data');
    await assert.rejects(saveCheckpoint(dir, ck), /refusing to replace .*: it exists and is not a convkit checkpoint folder/);
    assert.equal(readFileSync(join(dir, 'precious.txt'), 'utf8'), 'user data');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a save interrupted between its two renames falls back to the previous checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-ck-'));
  try {
    const { ck } = trainedState();
    const at = join(dir, 'last');
    await saveCheckpoint(at, ck);
    // Simulate the crash window: the old directory moved aside, the new one not yet in place.
    renameSync(at, join(dir, '.last.old'));
    const loaded = await loadCheckpoint(at);
    assert.equal(loaded.meta.epoch, 1);
    // The next save recovers and cleans up.
    await saveCheckpoint(at, { ...ck, meta: { ...ck.meta, epoch: 2 } });
    assert.equal((await loadCheckpoint(at)).meta.epoch, 2);
    assert.ok(!existsSync(join(dir, '.last.old')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
