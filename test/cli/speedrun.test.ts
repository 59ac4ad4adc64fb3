// convkit speedrun: a tiny target on the embedded subset (fast), the JSON report's fields, the time read at the
// first epoch that met the target, --print-recipe for tools/torch_speedrun.py, and the summary's arithmetic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizeTimes, type SpeedrunSeedResult } from '../../src/cli/commands/speedrun.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'src/cli/main.ts');
function speedrun(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, 'speedrun', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CONVKIT_THREADS: '1' } });
}

test('a tiny target on the embedded subset: the time is read at the first epoch that met it, with the CPU and load', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-speedrun-'));
  try {
    const file = join(dir, 'run.json');
    const r = speedrun('--recipe', '91', '--dataset', 'fashion-mnist-subset', '--target', '0.5', '--seeds', '1', '--json', file);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^speedrun 91: 50\.0% test accuracy on fashion-mnist-subset \(target overridden; the recipe's is 91\.0%\)/m);
    assert.match(r.stdout, /^chosen on: .*validation/m);
    assert.match(r.stdout, /^machine: .+, \d+ CPUs, load average [\d.]+ [\d.]+ [\d.]+; backend /m);
    assert.match(r.stdout, /^seed 0: [\d.]+ % at epoch \d+ after [\d.]+ s of training/m);
    assert.match(r.stdout, /^time to 50\.0%: mean [\d.]+ s, sd 0\.0 s, .*\(1 of 1 seeds reached it\)/m);
    const report = JSON.parse(readFileSync(file, 'utf8')) as {
      tool: string; target: number; targetOverridden: boolean; machine: { cpu: string; loadAverage: { start: number[]; end: number[] } };
      runs: SpeedrunSeedResult[]; summary: { meanSeconds: number; reached: number };
    };
    assert.equal(report.tool, 'convkit');
    assert.equal(report.target, 0.5);
    assert.equal(report.targetOverridden, true);
    assert.ok(report.machine.cpu.length > 0);
    assert.equal(report.machine.loadAverage.start.length, 3);
    const run = report.runs[0]!;
    assert.equal(run.reached, true);
    // The reported epoch is the FIRST whose test accuracy met the target, and the run stopped there.
    const first = run.epochs.findIndex((e) => e.testAccuracy >= 0.5) + 1;
    assert.equal(run.epoch, first);
    assert.equal(run.epochs.length, first);
    assert.equal(run.secondsToTarget, run.epochs[first - 1]!.trainSeconds);
    assert.ok(run.secondsToTarget! > 0 && run.wallSecondsToTarget! >= run.secondsToTarget!);
    assert.equal(report.summary.meanSeconds, run.secondsToTarget);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--print-recipe gives the recipe and its model as PyTorch source; an unknown recipe is a usage error', () => {
  const r = speedrun('--recipe', '93', '--print-recipe');
  assert.equal(r.status, 0, r.stderr);
  const recipe = JSON.parse(r.stdout) as { name: string; target: number; model: string; modelSource: string; augment: string };
  assert.equal(recipe.name, '93');
  assert.equal(recipe.target, 0.93);
  assert.equal(recipe.model, 'vggsmall_bn');
  assert.match(recipe.modelSource, /def create_model\(\):/);
  assert.match(recipe.modelSource, /nn\.BatchNorm2d\(32/);
  const bad = speedrun('--recipe', '99');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^convkit: --recipe 99: no such recipe \(recipes: 91, 93, 94\)/m);
});

test('summarizeTimes: mean, sample sd, min and max over the seeds that reached the target', () => {
  const run = (seed: number, secondsToTarget: number | null): SpeedrunSeedResult => ({
    seed, reached: secondsToTarget !== null, epoch: secondsToTarget === null ? null : 3, secondsToTarget, wallSecondsToTarget: secondsToTarget, epochs: [],
  });
  assert.deepEqual(summarizeTimes([run(0, 10), run(1, 12), run(2, 14)]), { reached: 3, of: 3, meanSeconds: 12, sdSeconds: 2, minSeconds: 10, maxSeconds: 14 });
  assert.deepEqual(summarizeTimes([run(0, 10), run(1, null)]), { reached: 1, of: 2, meanSeconds: 10, sdSeconds: 0, minSeconds: 10, maxSeconds: 10 });
  assert.deepEqual(summarizeTimes([run(0, null)]), { reached: 0, of: 1, meanSeconds: null, sdSeconds: null, minSeconds: null, maxSeconds: null });
});
