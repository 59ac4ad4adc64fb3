// checkpoint.json validated against its schema with bounds (issue 17, finding 5, and finding 1's "predict printed
// probabilities for a checkpoint whose normalization std was [0]"). Each edit below was a TypeError, a stack
// overflow, a crash on resume or gigabytes of memory; each must now be one CheckpointError naming the field,
// from every loader (the library's decodeCheckpoint, and the CLI's eval, predict and train --resume).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { CheckpointError, validateMeta } from '../../src/io/checkpoint.js';
import { manualSeed, models, optim } from '../../src/index.js';
import { saveCheckpoint } from '../../src/node/checkpoint.js';

type Json = Record<string, unknown>;
const root = fileURLToPath(new URL('../../', import.meta.url));

async function goodMeta(dir: string): Promise<Json> {
  manualSeed(2);
  const net = models.create('lenet5');
  const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
  await saveCheckpoint(dir, {
    meta: {
      model: { name: 'lenet5', config: {} },
      dataset: { name: 'fashion-mnist-subset', classNames: Array.from({ length: 10 }, (_, i) => `c${i}`), inputShape: [1, 28, 28], normalization: { mean: [0.286], std: [0.353] } },
      optimizer: { name: 'adam', hyperparameters: { lr: 1e-3 } }, scheduler: null, epoch: 1, globalStep: 10,
      rng: null, training: {}, metrics: { history: [], best: null },
    },
    modelState: net.stateDict(), optimizerState: opt.stateDict(),
  });
  return JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as Json;
}

/** Each case: what the edit does to checkpoint.json, and the message that must name it. */
const EDITS: [string, (m: Json) => void, RegExp][] = [
  ['normalization.std deleted', (m) => { delete ((m.dataset as Json).normalization as Json).std; }, /dataset\.normalization\.std must be 1\.\.1 positive numbers, got nothing/],
  ['normalization.std [0]', (m) => { ((m.dataset as Json).normalization as Json).std = [0]; }, /dataset\.normalization\.std must be 1\.\.1 positive numbers, got \[0\]/],
  ['deep nesting', (m) => { let v: unknown = 1; for (let i = 0; i < 100_000; i++) v = [v]; (m.training as Json).deep = v; }, /nested more than 64 levels deep/],
  ['betas 5000000', (m) => { ((m.optimizerState as Json).paramGroups as Json[])[0]!.betas = 5_000_000; }, /optimizerState\.paramGroups\[0\]\.betas must be two numbers in \[0, 1\), got 5000000/],
  ['metrics.best deleted', (m) => { delete (m.metrics as Json).best; }, /metrics\.best is missing/],
  ['inputShape [1, 5000000, 28]', (m) => { (m.dataset as Json).inputShape = [1, 5_000_000, 28]; }, /dataset\.inputShape \[1,5000000,28\] is out of bounds/],
  ['lr NaN (written as a string)', (m) => { ((m.optimizerState as Json).paramGroups as Json[])[0]!.lr = 'NaN'; }, /paramGroups\[0\]\.lr must be a finite number >= 0, got "NaN"/],
  ['epoch -1', (m) => { m.epoch = -1; }, /epoch must be a non-negative integer/],
  ['classNames of numbers', (m) => { (m.dataset as Json).classNames = [1, 2]; }, /dataset\.classNames must be a list of 1\.\.100000 strings/],
];

test('every hostile edit of checkpoint.json is a CheckpointError naming the field (validateMeta)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-schema-'));
  try {
    const good = await goodMeta(join(dir, 'ck'));
    assert.doesNotThrow(() => validateMeta(good));
    for (const [label, edit, pattern] of EDITS) {
      const m = structuredClone(good);
      edit(m);
      assert.throws(() => validateMeta(m, 'ck'), (e: unknown) => e instanceof CheckpointError && pattern.test(e.message), label);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI says so in one convkit: line (exit 2) from eval, predict and train --resume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-schema-cli-'));
  try {
    const run = join(dir, 'run');
    const good = await goodMeta(join(run, 'last'));
    const png = new PNG({ width: 28, height: 28 });
    png.data.fill(128);
    writeFileSync(join(dir, 'x.png'), PNG.sync.write(png));
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, CONVKIT_THREADS: '1' } });
    for (const [label, edit, pattern] of EDITS.filter(([l]) => l !== 'deep nesting')) {
      const m = structuredClone(good);
      edit(m);
      writeFileSync(join(run, 'last', 'checkpoint.json'), JSON.stringify(m));
      // eval and predict skip the optimizer state (a damaged one must not stop them); train --resume reads it.
      const optimizerOnly = /betas|lr NaN/.test(label);
      const commands = [['train', '--out', run, '--resume', '--epochs', '3']];
      if (!optimizerOnly) commands.push(['eval', '--checkpoint', join(run, 'last'), '--test-limit', '10'], ['predict', '--checkpoint', join(run, 'last'), join(dir, 'x.png')]);
      for (const args of commands) {
        const r = cli(...args);
        assert.equal(r.status, 2, `${label}: convkit ${args[0]} exit ${r.status}\n${r.stderr}`);
        assert.match(r.stderr, pattern, `${label}: convkit ${args[0]}`);
        assert.doesNotMatch(r.stderr, /internal error|TypeError|RangeError/, `${label}: convkit ${args[0]}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
