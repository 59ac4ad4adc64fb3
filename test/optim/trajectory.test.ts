import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as optim from '../../src/optim/index.js';
import { crossEntropy } from '../../src/ops/index.js';
import { loadTrajectories, maxRelativeError, SmallCNN, type TrajectoryRun } from './fixtures.js';

// 20 steps of each optimizer + schedule on a small CNN with PyTorch's initial weights and a batch of 16
// real Fashion-MNIST images: the loss at every step and the final weights (and BN running statistics)
// must equal PyTorch's within 1e-4 relative.
const { meta, tensor, stateDict } = loadTrajectories();
const x = tensor(meta.input);
const y = Int32Array.from(meta.labels);

function makeOptimizer(run: TrajectoryRun, net: SmallCNN): optim.Optimizer<optim.ParamGroupBase> {
  const o = run.options;
  const params = net.parameters();
  switch (run.optimizer) {
    case 'SGD': return new optim.SGD(params, { lr: o.lr as number, momentum: o.momentum as number, nesterov: o.nesterov as boolean, weightDecay: o.weightDecay as number });
    case 'Adam': return new optim.Adam(params, { lr: o.lr as number, weightDecay: (o.weightDecay as number) ?? 0, amsgrad: (o.amsgrad as boolean) ?? false, ...(o.betas ? { betas: o.betas as [number, number] } : {}) });
    case 'AdamW': return new optim.AdamW(params, { lr: o.lr as number, weightDecay: o.weightDecay as number });
  }
}

function makeScheduler(run: TrajectoryRun, opt: optim.Optimizer<optim.ParamGroupBase>): optim.LRScheduler {
  const s = run.schedulerOptions;
  switch (run.scheduler) {
    case 'StepLR': return new optim.StepLR(opt, { stepSize: s.stepSize as number, gamma: s.gamma as number });
    case 'CosineAnnealingLR': return new optim.CosineAnnealingLR(opt, { tMax: s.tMax as number, etaMin: s.etaMin as number });
    case 'OneCycleLR': return new optim.OneCycleLR(opt, { maxLr: s.maxLr as number, totalSteps: s.totalSteps as number });
    case 'MultiStepLR': return new optim.MultiStepLR(opt, { milestones: s.milestones as number[], gamma: s.gamma as number });
  }
}

for (const run of meta.runs) {
  test(`${run.optimizer} + ${run.scheduler} (${run.name}): 20 steps equal PyTorch's losses and final weights`, (t) => {
    let worstLoss = 0, worstWeight = 0;
    const net = new SmallCNN();
    net.loadStateDict(stateDict(meta.initial));
    net.train();
    const opt = makeOptimizer(run, net);
    const sched = makeScheduler(run, opt);
    for (let step = 0; step < meta.steps; step++) {
      assert.ok(Math.abs(opt.paramGroups[0]!.lr - run.lrs[step]!) <= 1e-12 * run.lrs[step]!, `lr at step ${step}: ${opt.paramGroups[0]!.lr} vs ${run.lrs[step]}`);
      opt.zeroGrad();
      const loss = crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
      sched.step();
      const expected = run.losses[step]!;
      const rel = Math.abs(loss.item() - expected) / Math.abs(expected);
      worstLoss = Math.max(worstLoss, rel);
      assert.ok(rel <= 1e-4, `loss at step ${step}: ${loss.item()} vs PyTorch ${expected} (relative error ${rel.toExponential(2)})`);
    }
    const final = stateDict(run.final);
    const ours = net.stateDict();
    assert.deepEqual(Object.keys(ours), Object.keys(final));
    for (const [key, expected] of Object.entries(final)) {
      const err = maxRelativeError(ours[key]!.data, expected.data);
      worstWeight = Math.max(worstWeight, err);
      assert.ok(err <= 1e-4, `${key}: max relative error ${err.toExponential(2)} vs PyTorch`);
    }
    t.diagnostic(`worst relative error: loss ${worstLoss.toExponential(1)}, weights ${worstWeight.toExponential(1)}`);
  });
}
