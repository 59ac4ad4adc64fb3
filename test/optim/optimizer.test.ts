import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as optim from '../../src/optim/index.js';
import { Parameter } from '../../src/nn/module.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { crossEntropy } from '../../src/ops/index.js';
import { loadTrajectories, SmallCNN } from './fixtures.js';

const p = (...values: number[]): Parameter => new Parameter(Float32Array.from(values), [values.length]);
const withGrad = (param: Parameter, ...g: number[]): Parameter => { param.grad = new Tensor(Float32Array.from(g), param.shape); return param; };

test('SGD: plain, momentum (first step copies the gradient), dampening, nesterov, weight decay', () => {
  const a = withGrad(p(1, 2), 0.5, -1);
  new optim.SGD([a], { lr: 0.1 }).step();
  assert.deepEqual([...a.data], [Math.fround(0.95), Math.fround(2.1)]);

  const b = p(1);
  const sgd = new optim.SGD([b], { lr: 0.1, momentum: 0.9, dampening: 0.5, weightDecay: 0.1 });
  withGrad(b, 1); sgd.step();           // d = 1 + 0.1*1 = 1.1; buf = 1.1; w = 1 - 0.11 = 0.89
  assert.ok(Math.abs(b.data[0]! - 0.89) < 1e-7);
  withGrad(b, 1); sgd.step();           // d = 1.089; buf = 0.99 + 0.5*1.089 = 1.5345; w = 0.89 - 0.15345
  assert.ok(Math.abs(b.data[0]! - (0.89 - 0.15345)) < 1e-6);

  const c = p(0);
  const nes = new optim.SGD([c], { lr: 1, momentum: 0.5, nesterov: true });
  withGrad(c, 1); nes.step();           // buf = 1; d = 1 + 0.5 = 1.5
  assert.equal(c.data[0], -1.5);
  withGrad(c, 1); nes.step();           // buf = 1.5; d = 1 + 0.75
  assert.equal(c.data[0], -3.25);
});

test('Adam first step moves each weight by about lr; AdamW also decays the weight', () => {
  const a = withGrad(p(1, -1), 3, -0.001);
  new optim.Adam([a], { lr: 0.01 }).step();
  assert.ok(Math.abs(a.data[0]! - 0.99) < 1e-6 && Math.abs(a.data[1]! + 0.99) < 1e-4);
  const w = withGrad(p(2), 0);
  new optim.AdamW([w], { lr: 0.1, weightDecay: 0.5 }).step();
  assert.ok(Math.abs(w.data[0]! - 2 * (1 - 0.05)) < 1e-6, 'zero gradient: only the decoupled decay acts');
  const l2 = withGrad(p(2), 0);
  new optim.Adam([l2], { lr: 0.1, weightDecay: 0.5 }).step();
  assert.ok(Math.abs(l2.data[0]! - 1.9) < 1e-6, 'Adam: the L2 term becomes the gradient, normalised to a step of lr');
});

test('parameters without a gradient are skipped; zeroGrad clears gradients', () => {
  const a = p(1), b = withGrad(p(1), 1);
  const opt = new optim.SGD([a, b], { lr: 0.5, momentum: 0.9 });
  opt.step();
  assert.equal(a.data[0], 1);
  assert.equal(b.data[0], 0.5);
  assert.deepEqual(Object.keys(opt.stateDict().state), ['1']);
  opt.zeroGrad();
  assert.equal(b.grad, null);
});

test('param groups: per-group options override the defaults', () => {
  const a = withGrad(p(1), 1), b = withGrad(p(1), 1);
  const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
  opt.step();
  assert.equal(a.data[0], Math.fround(0.9));
  assert.equal(b.data[0], 0.5);
  assert.equal(opt.paramGroups[1]!.momentum, 0);
  const c = withGrad(p(1), 1);
  opt.addParamGroup({ params: [c], lr: 1 });
  opt.step();
  assert.equal(c.data[0], 0);
  assert.throws(() => opt.addParamGroup({ params: [a] }), /a parameter appears in more than one group/);
});

test('invalid options are rejected with the optimizer and option named', () => {
  assert.throws(() => new optim.SGD([p(1)], { lr: -1 }), /SGD: invalid learning rate -1/);
  assert.throws(() => new optim.SGD([p(1)], { lr: 0.1, nesterov: true }), /SGD: nesterov needs momentum > 0 and dampening 0/);
  assert.throws(() => new optim.Adam([p(1)], { betas: [1, 0.999] }), /Adam: invalid beta1 1/);
  assert.throws(() => new optim.AdamW([p(1)], { eps: -1 }), /AdamW: invalid eps -1/);
  assert.throws(() => new optim.Adam([], {}), /Adam: got an empty parameter list/);
});

test('steps reuse their state buffers (no allocation per step)', () => {
  for (const make of [
    (ps: Parameter[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 }),
    (ps: Parameter[]) => new optim.Adam(ps, { amsgrad: true }),
    (ps: Parameter[]) => new optim.AdamW(ps),
  ]) {
    const a = p(1, 2, 3);
    const opt = make([a]);
    withGrad(a, 1, 1, 1); opt.step();
    const internal = (opt as unknown as { state: Map<Parameter, Record<string, unknown>> }).state.get(a)!;
    const buffers = Object.values(internal).filter((v) => v instanceof Float32Array);
    assert.ok(buffers.length >= 1);
    withGrad(a, 2, 2, 2); opt.step();
    const after = Object.values((opt as unknown as { state: Map<Parameter, Record<string, unknown>> }).state.get(a)!).filter((v) => v instanceof Float32Array);
    assert.deepEqual(after.length, buffers.length);
    after.forEach((buf, i) => assert.equal(buf, buffers[i], 'same Float32Array object'));
  }
});

test('optimizer stateDict round trip (through JSON + buffers) continues training identically', () => {
  const { meta, tensor, stateDict } = loadTrajectories();
  const x = tensor(meta.input);
  const y = Int32Array.from(meta.labels);
  for (const kind of ['sgd', 'adam', 'adamw'] as const) {
    const make = (net: SmallCNN): optim.Optimizer<optim.ParamGroupBase> =>
      kind === 'sgd' ? new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })
        : kind === 'adam' ? new optim.Adam(net.parameters(), { lr: 0.003, amsgrad: true }) : new optim.AdamW(net.parameters(), { lr: 0.003 });
    const trainStep = (net: SmallCNN, opt: optim.Optimizer<optim.ParamGroupBase>, sched: optim.LRScheduler): number => {
      opt.zeroGrad();
      const loss = crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
      sched.step();
      return loss.item();
    };
    const a = new SmallCNN();
    a.loadStateDict(stateDict(meta.initial));
    const optA = make(a);
    const schedA = new optim.CosineAnnealingLR(optA, { tMax: 8 });
    for (let i = 0; i < 3; i++) trainStep(a, optA, schedA);

    // Save: model tensors and optimizer buffers copied, the rest through JSON (as a checkpoint would).
    const modelSnapshot = Object.fromEntries(Object.entries(a.stateDict()).map(([k, t]) => [k, new Tensor(t.toFloat32Array(), t.shape)]));
    const sd = optA.stateDict();
    const json = JSON.parse(JSON.stringify({ ...sd, state: {} })) as optim.OptimizerStateDict;
    json.state = sd.state; // Float32Array buffers travel separately (e.g. in safetensors)
    const schedJson = JSON.parse(JSON.stringify(schedA.stateDict())) as optim.SchedulerStateDict;

    const b = new SmallCNN();
    b.loadStateDict(modelSnapshot);
    const optB = make(b);
    const schedB = new optim.CosineAnnealingLR(optB, { tMax: 8 });
    optB.loadStateDict(json);
    schedB.loadStateDict(schedJson);
    for (let i = 0; i < 4; i++) assert.equal(trainStep(b, optB, schedB), trainStep(a, optA, schedA), `${kind} step ${i}`);
    for (const [k, t] of Object.entries(a.stateDict())) assert.deepEqual(b.stateDict()[k]!.data, t.data, `${kind} ${k}`);
  }
});

test('loadStateDict rejects a state dict for a different parameter layout', () => {
  const opt = new optim.Adam([p(1, 2)]);
  const other = new optim.Adam([p(1, 2), p(3)]);
  assert.throws(() => opt.loadStateDict(other.stateDict()), /group 0 has 2 parameters in the state dict but 1 here/);
  const c = withGrad(p(1, 2, 3), 1, 1, 1);
  const big = new optim.Adam([c]);
  big.step();
  assert.throws(() => opt.loadStateDict(big.stateDict()), /state 0\.expAvg has 3 values, the parameter has 2/);
});

test('clipGradNorm scales gradients to the max norm and returns the total norm (2 and inf)', () => {
  const a = withGrad(p(0, 0), 3, 0), b = withGrad(p(0), 4);
  const total = optim.clipGradNorm([a, b], 1);
  assert.ok(Math.abs(total - 5) < 1e-12);
  const coef = 1 / (5 + 1e-6);
  assert.ok(Math.abs(a.grad!.data[0]! - 3 * coef) < 1e-7 && Math.abs(b.grad!.data[0]! - 4 * coef) < 1e-7);
  const c = withGrad(p(0, 0), 0.3, -0.4);
  assert.ok(Math.abs(optim.clipGradNorm([c], 1) - 0.5) < 1e-7);
  assert.deepEqual([...c.grad!.data], [Math.fround(0.3), Math.fround(-0.4)], 'below the max norm: unchanged');
  const d = withGrad(p(0, 0), 2, -6);
  assert.equal(optim.clipGradNorm([d], 3, Infinity), 6);
  assert.ok(Math.abs(d.grad!.data[1]! + 3) < 1e-5);
  const e = withGrad(p(0), NaN);
  assert.throws(() => optim.clipGradNorm([e], 1, 2, { errorIfNonfinite: true }), /total norm of order 2 of the gradients is NaN/);
  const f = withGrad(p(0, 0), 5, -0.5);
  optim.clipGradValue([f], 1);
  assert.deepEqual([...f.grad!.data], [1, -0.5]);
});
