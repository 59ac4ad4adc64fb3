// convkit train --val-split F [--early-stop P]: best is picked on a validation split of the training set, the
// report and checkpoint say so, and --early-stop without a split is a usage error. Without --val-split, best is
// picked on test accuracy as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpointMeta } from '../../src/node/checkpoint.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'src/cli/main.ts');
function train(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, 'train', '--model', 'mlp', '--dataset', 'fashion-mnist-subset', '--train-limit', '400', '--test-limit', '100', ...args],
    { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CONVKIT_THREADS: '1' } });
}
const summaryOf = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

test('--early-stop without --val-split, and a --val-split outside (0, 1), are usage errors', () => {
  const noSplit = train('--early-stop', '3');
  assert.equal(noSplit.status, 2, noSplit.stderr);
  assert.match(noSplit.stderr, /^convkit: --early-stop 3 needs a validation split to watch: add --val-split F \(e\.g\. --val-split 0\.1\)/m);
  const whole = train('--val-split', '1');
  assert.equal(whole.status, 2, whole.stderr);
  assert.match(whole.stderr, /^convkit: option --val-split is the fraction of the training set to hold out, between 0 and 1/m);
  const tiny = train('--val-split', '0.001');
  assert.equal(tiny.status, 2, tiny.stderr);
  assert.match(tiny.stderr, /^convkit: --val-split 0\.001: .*leaves 0 for validation and 400 for training/m);
});

test('--val-split picks best on validation accuracy, says so, and --resume keeps the split', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-val-cli-'));
  try {
    const out = join(dir, 'run');
    const r = train('--val-split', '0.1', '--early-stop', '2', '--epochs', '2', '--schedule', 'step', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /360 train \/ 40 validation \(10 % of the training set, stratified, seed 0\) \/ 100 test images/);
    assert.match(r.stderr, /best: picked on validation accuracy; stops after 2 epoch\(s\) without a validation improvement; the test set is only reported/);
    assert.match(r.stderr, /val loss [\d.]+ acc [\d.]+%/);
    const summary = summaryOf(r.stdout);
    assert.equal((summary['best'] as { metric: string }).metric, 'validationAccuracy');
    assert.equal(summary['validationExamples'], 40);
    assert.equal(summary['validationSplit'], 0.1);
    assert.equal((await readCheckpointMeta(join(out, 'best'))).metrics.best?.metric, 'validationAccuracy');

    const changed = train('--val-split', '0.2', '--epochs', '3', '--out', out, '--resume');
    assert.equal(changed.status, 2, changed.stderr);
    assert.match(changed.stderr, /--resume: --val-split 0\.2 differs from the checkpoint's 0\.1/);
    const resumed = train('--epochs', '3', '--out', out, '--resume', '--json');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /360 train \/ 40 validation/);
    assert.equal((summaryOf(resumed.stdout)['best'] as { metric: string }).metric, 'validationAccuracy');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without --val-split, best is picked on test accuracy as before', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-val-cli-'));
  try {
    const r = train('--epochs', '1', '--out', join(dir, 'run'), '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /400 train \/ 100 test images/);
    assert.match(r.stderr, /best: picked on test accuracy \(pass --val-split F/);
    const summary = summaryOf(r.stdout);
    assert.equal((summary['best'] as { metric: string }).metric, 'testAccuracy');
    assert.equal(summary['validationExamples'], undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
