// Fine-tuning from the CLI (issue 18: an imported checkpoint must be accepted by "train --resume-style
// fine-tuning"): `convkit train --init DIR` starts from a checkpoint's model and weights, a zoo model or an ONNX
// graph brought in by `convkit import --onnx`; every saved epoch keeps the graph beside its weights, so eval,
// predict and `train --resume` read the run back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, models } from '../../src/index.js';
import { exportOnnx } from '../../src/io/onnx/export.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, CONVKIT_THREADS: '1' } });
const evalAccuracy = (dir: string): number => {
  const r = cli('eval', '--checkpoint', dir, '--json');
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { accuracy: number }).accuracy;
};

test('an ONNX model imported by convkit import fine-tunes with train --init, saves its graph each epoch, and resumes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-finetune-'));
  try {
    manualSeed(6);
    writeFileSync(join(dir, 'lenet5.onnx'), exportOnnx(models.create('lenet5'), { inputShape: [1, 28, 28] }));
    const imported = cli('import', '--onnx', join(dir, 'lenet5.onnx'), '--dataset', 'fashion-mnist-subset', '--out', join(dir, 'imported'));
    assert.equal(imported.status, 0, imported.stderr);
    const before = evalAccuracy(join(dir, 'imported'));
    const tune = cli('train', '--init', join(dir, 'imported'), '--dataset', 'fashion-mnist-subset', '--epochs', '2', '--opt', 'adam', '--lr', '0.002',
      '--schedule', 'none', '--out', join(dir, 'run'));
    assert.equal(tune.status, 0, tune.stderr);
    for (const kind of ['last', 'best']) assert.ok(existsSync(join(dir, 'run', kind, 'model.onnx')), `${kind}/ holds the graph`);
    const after = evalAccuracy(join(dir, 'run'));
    assert.ok(after > before + 0.2, `fine-tuning moved the accuracy from ${before} to ${after}`);
    const resumed = cli('train', '--out', join(dir, 'run'), '--resume', '--epochs', '3');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.ok(existsSync(join(dir, 'run', 'last', 'model.onnx')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train --init from a zoo checkpoint continues from its weights with a new optimizer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-finetune-zoo-'));
  try {
    const first = cli('train', '--model', 'lenet5', '--dataset', 'fashion-mnist-subset', '--epochs', '1', '--out', join(dir, 'base'));
    assert.equal(first.status, 0, first.stderr);
    const base = evalAccuracy(join(dir, 'base'));
    const tune = cli('train', '--init', join(dir, 'base'), '--dataset', 'fashion-mnist-subset', '--epochs', '1', '--opt', 'sgd', '--lr', '0.01', '--out', join(dir, 'tuned'));
    assert.equal(tune.status, 0, tune.stderr);
    assert.ok(evalAccuracy(join(dir, 'tuned')) > base - 0.05, 'started from the trained weights, not from scratch');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
