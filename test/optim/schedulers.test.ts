import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as optim from '../../src/optim/index.js';
import { Parameter } from '../../src/nn/module.js';
import { loadSchedulerCases, type SchedulerCase } from './fixtures.js';

const param = (): Parameter => new Parameter(new Float32Array(1), [1]);

function makeOptimizer(kind: SchedulerCase['optimizer']): optim.Optimizer<optim.ParamGroupBase> {
  if (kind === 'adam') return new optim.Adam([param()], { lr: 0.1 });
  if (kind === 'sgd2') return new optim.SGD([{ params: [param()] }, { params: [param()], lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
  return new optim.SGD([param()], { lr: 0.1, momentum: 0.9 });
}

function makeScheduler(c: SchedulerCase, opt: optim.Optimizer<optim.ParamGroupBase>): optim.LRScheduler {
  // The fixture stores each scheduler's options under convkit's names, so they pass straight through.
  const o = c.options;
  switch (c.scheduler) {
    case 'StepLR': return new optim.StepLR(opt, o as ConstructorParameters<typeof optim.StepLR>[1]);
    case 'MultiStepLR': return new optim.MultiStepLR(opt, o as ConstructorParameters<typeof optim.MultiStepLR>[1]);
    case 'CosineAnnealingLR': return new optim.CosineAnnealingLR(opt, o as ConstructorParameters<typeof optim.CosineAnnealingLR>[1]);
    case 'LinearLR': return new optim.LinearLR(opt, o as ConstructorParameters<typeof optim.LinearLR>[1]);
    case 'OneCycleLR': return new optim.OneCycleLR(opt, o as unknown as optim.OneCycleOptions);
    case 'SequentialLR': {
      const opts = c.options as { warmup: { startFactor: number; totalIters: number }; cosine: { tMax: number }; milestones: number[] };
      return new optim.SequentialLR(opt, [new optim.LinearLR(opt, opts.warmup), new optim.CosineAnnealingLR(opt, opts.cosine)], opts.milestones);
    }
    default: throw new Error(`unknown scheduler ${c.scheduler}`);
  }
}

const momentumOf = (opt: optim.Optimizer<optim.ParamGroupBase>): number => {
  const g = opt.paramGroups[0] as optim.ParamGroupBase & { momentum?: number; betas?: readonly number[] };
  return g.betas ? g.betas[0]! : g.momentum!;
};

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(b), 1e-300) || a === b;

for (const c of loadSchedulerCases()) {
  test(`${c.scheduler} ${JSON.stringify(c.options)} on ${c.optimizer}: lr (and momentum) sequence equals PyTorch's`, () => {
    const opt = makeOptimizer(c.optimizer);
    const sched = makeScheduler(c, opt);
    for (let step = 0; step < c.lrs.length; step++) {
      if (step > 0) { opt.step(); sched.step(); }
      const lrs = sched.getLastLr();
      c.lrs[step]!.forEach((expected, gi) => assert.ok(close(lrs[gi]!, expected), `step ${step} group ${gi}: lr ${lrs[gi]} vs PyTorch ${expected}`));
      assert.deepEqual(lrs, opt.paramGroups.map((g) => g.lr));
      assert.ok(close(momentumOf(opt), c.momentum[step]!), `step ${step}: momentum ${momentumOf(opt)} vs PyTorch ${c.momentum[step]}`);
    }
  });

  test(`${c.scheduler} ${JSON.stringify(c.options)}: stateDict round trip continues identically`, () => {
    const half = Math.floor((c.lrs.length - 1) / 2);
    const optA = makeOptimizer(c.optimizer);
    const a = makeScheduler(c, optA);
    for (let i = 0; i < half; i++) { optA.step(); a.step(); }
    const saved = JSON.parse(JSON.stringify({ sched: a.stateDict(), opt: optA.stateDict() })) as { sched: optim.SchedulerStateDict; opt: optim.OptimizerStateDict };
    const optB = makeOptimizer(c.optimizer);
    const b = makeScheduler(c, optB);
    optB.loadStateDict(saved.opt);
    b.loadStateDict(saved.sched);
    assert.deepEqual(b.getLastLr(), a.getLastLr());
    for (let i = half; i < c.lrs.length - 1; i++) {
      optA.step(); a.step();
      optB.step(); b.step();
      assert.deepEqual(b.getLastLr(), a.getLastLr(), `step ${i + 1}`);
      assert.equal(momentumOf(optB), momentumOf(optA));
    }
  });
}

test('OneCycleLR refuses to step past totalSteps; schedulers validate options', () => {
  const opt = new optim.SGD([param()], { lr: 0.1, momentum: 0.9 });
  const s = new optim.OneCycleLR(opt, { maxLr: 1, totalSteps: 3 });
  s.step(); s.step(); s.step();
  assert.throws(() => s.step(), /OneCycleLR: tried to step 5 times; the schedule has totalSteps = 3/);
  assert.throws(() => new optim.OneCycleLR(opt, { maxLr: 1 }), /give totalSteps, or epochs and stepsPerEpoch/);
  assert.throws(() => new optim.StepLR(opt, { stepSize: 0 }), /stepSize must be a positive integer/);
  assert.throws(() => new optim.CosineAnnealingLR(opt, { tMax: 0 }), /tMax must be > 0/);
  assert.throws(() => new optim.LinearLR(opt, { startFactor: 0 }), /startFactor must be in \(0, 1\]/);
  const other = new optim.SGD([param()], { lr: 0.1 });
  assert.throws(() => new optim.SequentialLR(opt, [new optim.StepLR(other, { stepSize: 1 })], []), /scheduler 0 belongs to a different optimizer/);
  assert.throws(() => new optim.SequentialLR(opt, [new optim.StepLR(opt, { stepSize: 1 })], [3]), /expected 0 milestones for 1 schedulers, got 1/);
});

test('step(epoch) uses the closed form like PyTorch', () => {
  const opt = new optim.SGD([param()], { lr: 1 });
  const s = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
  s.step(5);
  assert.deepEqual(s.getLastLr(), [0.25]);
  const c = new optim.CosineAnnealingLR(new optim.SGD([param()], { lr: 2 }), { tMax: 4 });
  c.step(2);
  assert.ok(Math.abs(c.getLastLr()[0]! - 1) < 1e-15);
});
