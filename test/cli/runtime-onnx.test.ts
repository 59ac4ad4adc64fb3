// `convkit predict|eval --runtime onnxruntime` (issue 18, part 2): the checkpoint's model exported to ONNX in memory
// and run by onnxruntime-node (an optional dependency) gives the same top-1 as convkit's own kernels, the same
// accuracy, and probabilities within 1e-5.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { manualSeed, models } from '../../src/index.js';
import { saveCheckpoint } from '../../src/node/checkpoint.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { FASHION_MNIST_CLASSES } from '../../src/data/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'src/cli/main.ts');
let haveOrt = true;
try { await import('onnxruntime-node'); } catch { haveOrt = false; }
const skip = !haveOrt && process.env.CI !== 'true' ? 'onnxruntime-node (optional) is not installed' : false;

/** The CLI from source (run from the project root, where tsx resolves); paths are absolute. */
function convkit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, CONVKIT_THREADS: '1' } });
}

test('eval and predict give the same answers with --runtime onnxruntime as with convkit\'s kernels', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-ort-'));
  try {
    manualSeed(3);
    const net = models.create('vggsmall_bn', { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
    // Running statistics that are not the initial 0/1, so batch norm's eval path matters.
    for (const [name, b] of net.namedBuffers()) if (name.endsWith('running_var')) b.data.forEach((_, i, a) => { a[i] = 0.5 + (i % 7) / 7; });
    await saveCheckpoint(join(dir, 'ck'), {
      meta: {
        model: { name: 'vggsmall_bn', config: { numClasses: 10, inChannels: 1, inputSize: [28, 28] } },
        dataset: { name: 'fashion-mnist-subset', classNames: [...FASHION_MNIST_CLASSES], inputShape: [1, 28, 28], normalization: { mean: [0.2860], std: [0.3530] } },
        optimizer: null, scheduler: null, epoch: 1, globalStep: 0, rng: null, training: {}, metrics: { history: [], best: null },
      },
      modelState: net.stateDict(), optimizerState: null,
    });
    const evals = ['convkit', 'onnxruntime'].map((runtime) => {
      const r = convkit('eval', '--checkpoint', join(dir, 'ck'), '--test-limit', '300', '--runtime', runtime, '--json');
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { accuracy: number; loss: number; runtime: string; confusion: number[][] };
    });
    assert.match(evals[1]!.runtime, /^onnxruntime-node \d/);
    assert.equal(evals[1]!.accuracy, evals[0]!.accuracy);
    assert.deepEqual(evals[1]!.confusion, evals[0]!.confusion);
    assert.ok(Math.abs(evals[1]!.loss - evals[0]!.loss) < 1e-5, `loss ${evals[1]!.loss} vs ${evals[0]!.loss}`);

    // Three real test images as PNG files.
    const testSet = loadEmbeddedFashionMnist('test');
    const files: string[] = [];
    for (const index of [0, 123, 777]) {
      const png = new PNG({ width: 28, height: 28 });
      const pixels = new Float32Array(784);
      testSet.copyImageTo(index, pixels);
      pixels.forEach((v, i) => { const g = Math.round(v * 255); png.data.set([g, g, g, 255], i * 4); });
      const file = `test${index}.png`;
      writeFileSync(join(dir, file), PNG.sync.write(png));
      files.push(join(dir, file));
    }
    const predictions = ['convkit', 'onnxruntime'].map((runtime) => {
      const r = convkit('predict', '--checkpoint', join(dir, 'ck'), '--topk', '10', '--runtime', runtime, '--json', ...files);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { predictions: { index: number; probability: number }[] });
    });
    for (let i = 0; i < files.length; i++) {
      const [ours, theirs] = [predictions[0]![i]!, predictions[1]![i]!];
      assert.equal(theirs.predictions[0]!.index, ours.predictions[0]!.index, `${files[i]}: top-1`);
      for (const p of ours.predictions) {
        const q = theirs.predictions.find((t) => t.index === p.index)!;
        assert.ok(Math.abs(p.probability - q.probability) <= 1e-5, `${files[i]} class ${p.index}: ${p.probability} vs ${q.probability}`);
      }
    }
    // A bad runtime name is a usage error.
    const bad = convkit('eval', '--checkpoint', join(dir, 'ck'), '--runtime', 'tensorflow');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^convkit: --runtime tensorflow: expected convkit or onnxruntime/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
