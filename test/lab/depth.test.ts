// Experiment 7's protocol: the lab's training loop applies the linear learning-rate warm-up step by step, the
// report's protocol text describes it, and the depth experiment runs several seeds and reports their spread.
// Mechanics only (tiny budgets on the embedded subset, reference backend): no assertion depends on a training outcome.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as models from '../../src/models/index.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { runLab } from '../../src/node/labRun.js';
import { describeBudget, PROTOCOLS } from '../../src/lab/protocol.js';
import { learningRateAt, seededModel, trainSteps } from '../../src/lab/train.js';
import { depthExperiment, depthAdamExperiment, type DepthRun } from '../../src/lab/experiments/depth.js';
import type { LabData } from '../../src/lab/types.js';

const train = loadEmbeddedFashionMnist('train');

test('trainSteps: a linear warm-up takes step t at lr * (s + (1 - s) * min(t, N) / N), then the full lr', () => {
  const lr = 0.05;
  const startFactor = 0.1;
  const warmupSteps = 4;
  const model = seededModel(0, () => models.create('mlp'));
  const out = trainSteps({ model, train, steps: 7, batchSize: 2, seed: 0, optimizer: { name: 'sgd', lr, momentum: 0.9, warmup: { steps: warmupSteps, startFactor } } });
  const expected = Array.from({ length: 7 }, (_, t) => lr * (startFactor + ((1 - startFactor) * Math.min(t, warmupSteps)) / warmupSteps));
  assert.equal(out.learningRates.length, 7);
  out.learningRates.forEach((got, t) => assert.ok(Math.abs(got - expected[t]!) < 1e-12, `step ${t + 1}: lr ${got}, expected ${expected[t]}`));
  assert.ok(Math.abs(out.learningRates[0]! - 0.005) < 1e-12);
  assert.ok(Math.abs(out.learningRates.at(-1)! - lr) < 1e-12);
});

test('trainSteps: without a warm-up every step uses the configured lr', () => {
  const model = seededModel(0, () => models.create('mlp'));
  const out = trainSteps({ model, train, steps: 3, batchSize: 2, seed: 0, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 } });
  assert.deepEqual(out.learningRates, [0.05, 0.05, 0.05]);
});

test('depth protocol: SGD warms up and decays at every scale, the report text says so, full scale runs 3 seeds for at least 2 epochs', () => {
  for (const scale of ['full', 'quick', 'smoke'] as const) {
    const budget = PROTOCOLS[scale].depth.budget;
    const warmup = budget.optimizer.warmup;
    assert.ok(warmup !== undefined && warmup.steps >= 1, `${scale}: depth needs a warm-up`);
    assert.equal(budget.earlyStopping, undefined, `${scale}: depth compares training loss on a fixed budget`);
    assert.match(describeBudget(budget), new RegExp(`SGD lr 0\\.05 momentum 0\\.9 weight decay 0\\.0001 after a linear warm-up from 0\\.005 over the first ${warmup.steps} steps?, then a cosine decay to 0 at the last step$`));
  }
  assert.ok(PROTOCOLS.full.depth.budget.epochs >= 2 && PROTOCOLS.full.depth.trainImages >= 55000);
  assert.equal(PROTOCOLS.full.depthAdam.budget.optimizer.warmup, undefined);
  assert.doesNotMatch(describeBudget(PROTOCOLS.full.depthAdam.budget), /warm-up/);
  assert.equal(depthExperiment.defaultSeeds.full, 3);
  assert.equal(depthExperiment.defaultSeeds.smoke, 1);
  assert.equal(depthAdamExperiment.defaultSeeds.full, 1);
});

test('learningRateAt: warm-up to the lr, then a half cosine that reaches 0 at the last step', () => {
  const spec = { name: 'sgd' as const, lr: 0.1, warmup: { steps: 10, startFactor: 0.1 }, cosine: true };
  assert.ok(Math.abs(learningRateAt(spec, 0, 110) - 0.01) < 1e-15);
  assert.ok(Math.abs(learningRateAt(spec, 5, 110) - 0.055) < 1e-15);
  assert.ok(Math.abs(learningRateAt(spec, 10, 110) - 0.1) < 1e-15);
  assert.ok(Math.abs(learningRateAt(spec, 60, 110) - 0.05) < 1e-12);
  assert.ok(learningRateAt(spec, 109, 110) < 1e-4 && learningRateAt(spec, 109, 110) > 0);
  assert.equal(learningRateAt({ name: 'adam', lr: 0.001 }, 50, 110), 0.001);
});

test('lab depth --smoke --seeds 2: every model runs once per seed and the table shows the spread', async () => {
  const out = mkdtempSync(join(tmpdir(), 'convkit-lab-depth-'));
  const data = async (): Promise<LabData> => ({ train, test: loadEmbeddedFashionMnist('test'), description: 'embedded Fashion-MNIST subset' });
  try {
    const r = await runLab({ experiments: ['depth'], scale: 'smoke', seeds: 2, outDir: out, backend: 'reference', data, log: () => {} });
    assert.deepEqual(r.failures, []);
    const json = JSON.parse(readFileSync(join(out, 'depth.json'), 'utf8')) as { seeds: number; protocol: string; markdown: string; results: { seeds: number[]; runs: DepthRun[] } };
    assert.equal(json.seeds, 2);
    assert.deepEqual(json.results.seeds, [0, 1]);
    assert.deepEqual(json.results.runs.map((x) => `${x.model}/${x.seed}`).sort(),
      ['plain20/0', 'plain20/1', 'plain56/0', 'plain56/1', 'resnet20/0', 'resnet20/1', 'resnet56/0', 'resnet56/1']);
    for (const run of json.results.runs) assert.ok(run.peakLoss >= run.lastLoss - 1e-12, `${run.model}: peak ${run.peakLoss} < last ${run.lastLoss}`);
    assert.match(json.protocol, /linear warm-up from 0\.005 over the first 1 step, then a cosine decay/);
    assert.match(json.protocol, /seeds 0, 1/);
    for (const m of ['plain20', 'plain56', 'resnet20', 'resnet56']) assert.match(json.markdown, new RegExp(`^\\| ${m} \\| [\\d,]+ \\| \\d+\\.\\d{3} ± \\d+\\.\\d{3} \\(\\d+\\.\\d{3}-\\d+\\.\\d{3}\\) \\|`, 'm'));
    assert.match(json.markdown, /of 2 seeds/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
