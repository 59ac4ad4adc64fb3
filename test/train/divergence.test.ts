// Divergence never ends quietly or in a saved file (issue 17, finding 2: `convkit train --lr 1e6` with Adam ended
// with exit 0, a loss of 5e31, a test loss of Infinity, and `last`/`best` holding 21k non-finite Adam moments).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed } from '../../src/tensor/random.js';
import { SGD } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import { DataLoader } from '../../src/data/loader.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { Parameter } from '../../src/nn/module.js';
import { fit, NonFiniteCheckpointError, NonFiniteEvaluationError, NonFiniteGradientError } from '../../src/train/trainer.js';
import type { Checkpoint } from '../../src/io/checkpoint.js';
import { TinyNet } from './tiny-net.js';
import { models } from '../../src/index.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';

function dataset(n: number, poison = false): ImageDataset {
  const images = new Float32Array(n * 28 * 28).map((_, i) => ((i * 7919) % 256) / 255);
  if (poison) images[100] = Infinity;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  return new ImageDataset({ images, labels, channels: 1, height: 28, width: 28, classNames: Array.from({ length: 10 }, (_, i) => String(i)) });
}
const info = { model: { name: 'tiny', config: {} } };

/** A parameter the forward never reads: training stays finite, the checkpoint would not be. */
class TinyWithUnused extends TinyNet {
  readonly unused = this.registerParameter('unused', new Parameter(new Float32Array([1, NaN, 2]), [3]));
}

test('LeNet-5 with Adam at lr 1e6: the run stops at the step whose gradient norm overflows, and saves nothing', async () => {
  manualSeed(0);
  const net = models.create('lenet5');
  const images = loadEmbeddedFashionMnist('train').take(512);
  const saved: Checkpoint[] = [];
  await assert.rejects(fit({
    model: net, optimizer: new Adam(net.parameters(), { lr: 1e6 }), epochs: 3, info,
    train: new DataLoader(images, { batchSize: 64 }), test: new DataLoader(images, { batchSize: 256 }),
    saveCheckpoint: (_kind, ck) => { saved.push(ck); },
  }), (e: unknown) => e instanceof NonFiniteGradientError && /gradients' global norm became (Infinity|NaN) at epoch \d+, step \d+/.test(e.message));
  for (const ck of saved) for (const t of Object.values(ck.modelState)) assert.ok(t.data.every(Number.isFinite), 'a saved checkpoint holds a non-finite weight');
  for (const t of Object.values(net.stateDict())) assert.ok(t.data.every(Number.isFinite), 'the step with the bad gradient was applied');
});

test('a non-finite test loss stops the run at that epoch, before its checkpoint', async () => {
  manualSeed(0);
  const net = new TinyNet();
  const saved: string[] = [];
  await assert.rejects(fit({
    model: net, optimizer: new SGD(net.parameters(), { lr: 0.01 }), epochs: 2, info,
    train: new DataLoader(dataset(32), { batchSize: 8 }), test: new DataLoader(dataset(32, true), { batchSize: 32 }),
    saveCheckpoint: (kind) => { saved.push(kind); },
  }), (e: unknown) => e instanceof NonFiniteEvaluationError && /the test loss became NaN after epoch 1/.test(e.message));
  assert.deepEqual(saved, []);
});

test('a checkpoint holding a non-finite value is never written unless asked for, and the error names the tensor', async () => {
  const run = async (allow: boolean): Promise<string[]> => {
    manualSeed(0);
    const net = new TinyWithUnused();
    const saved: string[] = [];
    await fit({
      model: net, optimizer: new SGD(net.parameters(), { lr: 0.01 }), epochs: 1, info, allowNonFiniteCheckpoint: allow,
      train: new DataLoader(dataset(16), { batchSize: 8 }), test: new DataLoader(dataset(16), { batchSize: 16 }),
      saveCheckpoint: (kind) => { saved.push(kind); },
    });
    return saved;
  };
  await assert.rejects(run(false), (e: unknown) => e instanceof NonFiniteCheckpointError && /epoch 1's checkpoint would hold 1 non-finite value\(s\) in the model's 'unused' \(the first, NaN\)/.test(e.message));
  assert.deepEqual(await run(true), ['last', 'best']);
});

test('convkit train --opt adam --lr 1e6 exits 1 with the reason and leaves no checkpoint', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const out = mkdtempSync(join(tmpdir(), 'convkit-diverge-'));
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'train', '--model', 'lenet5', '--dataset', 'fashion-mnist-subset',
      '--epochs', '2', '--opt', 'adam', '--lr', '1e6', '--schedule', 'none', '--out', join(out, 'run')], { cwd: root, encoding: 'utf8', env: { ...process.env, CONVKIT_THREADS: '1' } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^convkit: training stopped: the (gradients' global norm|loss|test loss) became/m);
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.equal(existsSync(join(out, 'run', 'last')) || existsSync(join(out, 'run', 'best')), false, `left: ${readdirSync(join(out, 'run')).join(', ')}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
