// The statistics behind "beyond seed noise" (95 % t-intervals for 3 seeds) and the report's PyTorch columns:
// rendered from a committed PyTorch result (test/lab/fixtures/pytorch-shuffle.json, hand-written numbers),
// "disagree" exactly where the two 95 % intervals do not overlap, and each implementation's verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { interval95, intervalsOverlap, tQuantile975, pctInterval } from '../../src/lab/stats.js';
import { agreement, parsePytorchResult } from '../../src/lab/pytorch.js';
import { renderReport } from '../../src/lab/report.js';
import { judgeShuffle } from '../../src/lab/experiments/shuffle.js';
import type { ExperimentRecord, Metrics } from '../../src/lab/types.js';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('tQuantile975: the printed t table (scipy.stats.t.ppf(0.975, df)) to 3 decimals, 1.96 past 30', () => {
  const scipy: Record<number, number> = { 1: 12.706204736174698, 2: 4.302652729749464, 3: 3.182446305284263, 5: 2.570581835636314, 10: 2.2281388519649385, 30: 2.0422724563012373 };
  for (const [df, t] of Object.entries(scipy)) close(tQuantile975(Number(df)), t, 6e-4, `df ${df}`);
  assert.equal(tQuantile975(31), 1.96);
  assert.throws(() => tQuantile975(0), /positive integer/);
});

test('interval95: mean ± t(0.975, n-1) * sd / sqrt(n), against values worked by hand', () => {
  const a = interval95([1, 2, 3]); // sd 1, t 4.303: half-width 4.303 / sqrt(3) = 2.48434
  close(a.mean, 2, 1e-12, 'mean');
  close(a.halfWidth, 2.484338, 1e-6, 'half-width');
  close(a.lo, -0.484338, 1e-6, 'lo');
  close(a.hi, 4.484338, 1e-6, 'hi');
  const b = interval95([0.9, 0.91, 0.92]); // sd 0.01: half-width 0.0248434
  close(b.lo, 0.8851566, 1e-7, 'lo');
  close(b.hi, 0.9348434, 1e-7, 'hi');
  assert.equal(pctInterval(b), '91.0% [88.5, 93.5]');
  const c = interval95([0, 1]); // sd 0.70711, t 12.706: half-width 12.706 * 0.70711 / 1.41421 = 6.353
  close(c.halfWidth, 6.353, 1e-9, 'n = 2');
  const one = interval95([0.5]);
  assert.ok(Number.isNaN(one.halfWidth));
  assert.equal(pctInterval(one), '50.0%');
});

test('intervalsOverlap: touching intervals overlap, separated ones do not, a single run says nothing', () => {
  const at = (mean: number, half: number) => ({ mean, lo: mean - half, hi: mean + half, halfWidth: half, n: 3 });
  assert.equal(intervalsOverlap(at(0.5, 0.5), at(1.5, 0.5)), true);
  assert.equal(intervalsOverlap(at(0.5, 0.4), at(1.5, 0.5)), false);
  assert.equal(intervalsOverlap(at(1.5, 0.5), at(0.5, 0.4)), false);
  assert.equal(intervalsOverlap(interval95([0.5]), at(0.5, 0.1)), undefined);
  assert.equal(agreement([0.9, 0.91, 0.92], [0.95, 0.951, 0.952]).agreement, 'disagree');
  assert.equal(agreement([0.9, 0.91, 0.92], [0.91, 0.912, 0.914]).agreement, 'agree');
  assert.equal(agreement([0.9], [0.91, 0.912, 0.914]).agreement, 'no interval');
});

const convkitMetrics: Metrics = {
  'mlp original': [0.88, 0.882, 0.884],
  'mlp shuffled': [0.879, 0.883, 0.885],
  'lenet5 original': [0.905, 0.907, 0.909],
  'lenet5 shuffled': [0.86, 0.865, 0.87],
};

function shuffleRecord(scale: 'full' | 'quick', metrics: Metrics = convkitMetrics): ExperimentRecord {
  const j = judgeShuffle(metrics);
  return {
    name: 'shuffle', index: 4, title: 'Pixel shuffle', claim: 'claim', command: 'convkit lab shuffle --out lab', scale, seeds: 3, backend: 'wasm', data: 'Fashion-MNIST',
    seconds: 10, startedAt: '2026-12-07T07:00:00Z', files: [], verdict: j.verdict, summary: j.summary, protocol: 'p', markdown: 'm', results: {}, metrics,
  };
}

const fixture = parsePytorchResult(JSON.parse(readFileSync(new URL('./fixtures/pytorch-shuffle.json', import.meta.url), 'utf8')), 'test/lab/fixtures/pytorch-shuffle.json');

test('the report sets PyTorch beside convkit from a committed JSON and says "disagree" where the 95 % intervals do not overlap', () => {
  const md = renderReport({ records: [shuffleRecord('full')], failures: [], seconds: 10, command: 'convkit lab shuffle', scale: 'full', backend: 'wasm', data: 'd', pytorch: { shuffle: fixture } });
  // Summary: each implementation's verdict (convkit: LeNet-5 loses 4.2 points; PyTorch's hand-written numbers: 0.2).
  assert.match(md, /^\| 4 \| \[Pixel shuffle\]\(#4-pixel-shuffle\) \| \*\*holds\*\* \| \*\*partly holds\*\* \(disagree on 2 metrics\) \|/m);
  assert.match(md, /\*\*Side by side with PyTorch\*\* \(`\/usr\/bin\/python3 tools\/lab_shuffle.py`; PyTorch 1\.13\.1 CPU/);
  const row = (metric: string): string => md.split('\n').find((l) => l.startsWith(`| ${metric} |`)) ?? assert.fail(`no row for ${metric}`);
  assert.equal(row('mlp original'), '| mlp original | 88.2% [87.7, 88.7] | 88.3% [87.8, 88.8] | 3 / 3 | agree |');
  assert.equal(row('mlp shuffled'), '| mlp shuffled | 88.2% [87.5, 89.0] | 88.2% [87.7, 88.7] | 3 / 3 | agree |');
  assert.equal(row('lenet5 original'), '| lenet5 original | 90.7% [90.2, 91.2] | 91.6% [91.4, 91.8] | 3 / 3 | **disagree** |');
  assert.match(row('lenet5 shuffled'), /\| \*\*disagree\*\* \|$/);
  assert.match(md, /Verdict from convkit's numbers: \*\*holds\*\*; from PyTorch's: \*\*partly holds\*\*\. The two implementations imply different verdicts\./);
  assert.match(md, /disagree beyond seed noise \(95 % intervals that do not overlap\) on 2 of 4 metrics: lenet5 original; lenet5 shuffled\./);
});

test('the report compares nothing across scales, and says "agree" when every interval overlaps', () => {
  const quick = renderReport({ records: [shuffleRecord('quick')], failures: [], seconds: 10, command: 'c', scale: 'quick', backend: 'wasm', data: 'd', pytorch: { shuffle: fixture } });
  assert.match(quick, /Not compared: those PyTorch numbers are at the full scale, these at the quick scale\./);
  assert.doesNotMatch(quick, /disagree/);
  const same = renderReport({ records: [shuffleRecord('full', fixture.metrics)], failures: [], seconds: 10, command: 'c', scale: 'full', backend: 'wasm', data: 'd', pytorch: { shuffle: fixture } });
  assert.doesNotMatch(same, /disagree/);
  assert.match(same, /No metric differs beyond seed noise/);
  assert.match(same, /from PyTorch's: \*\*partly holds\*\* \(the same\)/);
});

test('parsePytorchResult: refuses what the report could not use, naming the file and the field', () => {
  const good = JSON.parse(readFileSync(new URL('./fixtures/pytorch-shuffle.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  assert.throws(() => parsePytorchResult({ ...good, scale: 'huge' }, 'x.json'), /x\.json: "scale" must be one of full, quick, smoke/);
  assert.throws(() => parsePytorchResult({ ...good, metrics: { 'mlp original': [0.9, 'NaN'] } }, 'x.json'), /metric "mlp original" must be a non-empty list of finite numbers/);
  assert.throws(() => parsePytorchResult({ ...good, seeds: 3 }, 'x.json'), /"seeds" must be a list of integers/);
  assert.throws(() => parsePytorchResult([], 'x.json'), /expected a JSON object/);
});
