// The user's resume flow end to end: a seeded run interrupted with Ctrl-C (SIGINT) after its first epoch, then
// `convkit train ... --resume`, gives the same epoch-2 metrics as the same run left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const main = join(root, 'src/cli/main.ts');
const tsx = import.meta.resolve('tsx');
const work = mkdtempSync(join(tmpdir(), 'convkit-resume-cli-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const env = { ...process.env, CONVKIT_OFFLINE: '1', XDG_CACHE_HOME: join(work, 'cache') };
// The reference backend makes an epoch last a few seconds, so the interrupt lands inside epoch 2.
const run = ['train', '--dataset', 'fashion-mnist-subset', '--train-limit', '480', '--test-limit', '100', '--batch', '32',
  '--epochs', '2', '--schedule', 'step', '--augment', 'crop', '--seed', '3', '--backend', 'reference', '--json'];

type Epoch = Record<string, number | boolean | null | number[]>;
const epochs = (stdout: string): Epoch[] =>
  stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Epoch & { type: string }).filter((l) => l.type === 'epoch');
const comparable = (e: Epoch): Epoch => {
  const { seconds: _s, imagesPerSecond: _i, ...rest } = e;
  return rest;
};

test('Ctrl-C after epoch 1, then --resume: epoch 2 equals the uninterrupted run', { timeout: 120_000 }, async () => {
  const full = spawnSync(process.execPath, ['--import', tsx, main, ...run, '--out', 'full'], { cwd: work, env, encoding: 'utf8' });
  assert.equal(full.status, 0, full.stderr);
  const expected = epochs(full.stdout);
  assert.equal(expected.length, 2);

  const interrupted = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, main, ...run, '--out', 'split'], { cwd: work, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (epochs(stdout).length === 1) child.kill('SIGINT');
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(interrupted.code, 1, interrupted.stderr);
  assert.match(interrupted.stderr, /convkit: training interrupted; the last finished epoch is saved in .*split\/last; continue with the same command and --resume/);
  assert.equal(epochs(interrupted.stdout).length, 1);

  const resumed = spawnSync(process.execPath, ['--import', tsx, main, ...run, '--out', 'split', '--resume'], { cwd: work, env, encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  const got = epochs(resumed.stdout);
  assert.equal(got.length, 1);
  assert.deepEqual(comparable(epochs(interrupted.stdout)[0]!), comparable(expected[0]!));
  assert.deepEqual(comparable(got[0]!), comparable(expected[1]!));
});
