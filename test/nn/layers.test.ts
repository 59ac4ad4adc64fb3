import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nn from '../../src/nn/index.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const shapeOf = (m: nn.Module, input: readonly number[]): number[] => [...m.forward(randn(input)).shape];

test('Conv2d output shapes follow floor((H + 2p - d(k-1) - 1)/s) + 1, and same/valid', () => {
  assert.deepEqual(shapeOf(new nn.Conv2d(1, 6, 5, { padding: 2 }), [2, 1, 28, 28]), [2, 6, 28, 28]);
  assert.deepEqual(shapeOf(new nn.Conv2d(3, 8, 3, { stride: 2 }), [1, 3, 9, 10]), [1, 8, 4, 4]);
  assert.deepEqual(shapeOf(new nn.Conv2d(4, 4, [3, 5], { padding: [1, 0], dilation: [1, 2] }), [1, 4, 7, 11]), [1, 4, 7, 3]);
  assert.deepEqual(shapeOf(new nn.Conv2d(4, 8, 4, { padding: 'same' }), [1, 4, 6, 5]), [1, 8, 6, 5]);
  assert.deepEqual(shapeOf(new nn.Conv2d(4, 8, 3, { padding: 'valid' }), [1, 4, 6, 5]), [1, 8, 4, 3]);
  const depthwise = new nn.Conv2d(6, 6, 3, { groups: 6, padding: 1 });
  assert.deepEqual(depthwise.weight.shape, [6, 1, 3, 3]);
  assert.deepEqual(shapeOf(depthwise, [2, 6, 5, 5]), [2, 6, 5, 5]);
  assert.deepEqual(new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }).outputSize([28, 28]), [14, 14]);
  assert.deepEqual(new nn.Conv2d(3, 8, 4, { padding: 'same' }).outputSize([7, 6]), [7, 6]);
});

test('Conv2d rejects bad arguments at construction with the layer name', () => {
  assert.throws(() => new nn.Conv2d(6, 4, 3, { groups: 4 }), /Conv2d: groups \(4\) must divide inChannels \(6\)/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { padding: -1 }), /Conv2d: padding must be non-negative/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { padding: 'same', stride: 2 }), /padding 'same' needs stride 1/);
  assert.throws(() => new nn.Conv2d(0, 4, 3), /inChannels must be a positive integer/);
});

test('LocallyConnected2d: one filter bank per output position', () => {
  const lc = new nn.LocallyConnected2d(2, 3, 3, { inputSize: [6, 5], stride: 1, padding: 1 });
  assert.deepEqual(lc.weight.shape, [6 * 5, 3, 2, 3, 3]);
  assert.deepEqual(lc.bias!.shape, [3, 6, 5]);
  assert.deepEqual(shapeOf(lc, [4, 2, 6, 5]), [4, 3, 6, 5]);
  const lc2 = new nn.LocallyConnected2d(1, 6, 5, { inputSize: [28, 28] });
  assert.deepEqual(lc2.outputSize, [24, 24]);
  assert.equal(lc2.numParameters(), 24 * 24 * 6 * 25 + 6 * 24 * 24);
  assert.throws(() => lc.forward(randn([1, 2, 7, 5])), { message: 'LocallyConnected2d(2->3): expected input [N,2,6,5] (inputSize is fixed at construction), got [1, 2, 7, 5]' });
  assert.throws(() => new nn.LocallyConnected2d(1, 1, 5, { inputSize: [3, 3] }), /does not fit inputSize \(3, 3\)/);
  // initialised like a conv with fanIn = C_in * kh * kw
  const bound = 1 / Math.sqrt(1 * 25);
  assert.ok(lc2.weight.data.every((v) => Math.abs(v) <= bound));
});

test('Linear, Flatten, Identity', () => {
  assert.deepEqual(shapeOf(new nn.Linear(12, 5), [3, 12]), [3, 5]);
  assert.deepEqual(shapeOf(new nn.Linear(12, 5), [2, 7, 12]), [2, 7, 5]);
  assert.equal(new nn.Linear(12, 5, { bias: false }).bias, null);
  assert.deepEqual(shapeOf(new nn.Flatten(), [2, 3, 4, 5]), [2, 60]);
  assert.deepEqual(shapeOf(new nn.Flatten(2), [2, 3, 4, 5]), [2, 3, 20]);
  const x = randn([2, 3]);
  assert.equal(new nn.Identity().forward(x), x);
  assert.throws(() => new nn.Linear(12, 5).forward(randn([2, 3, 2, 2])), /Linear\(12->5\): expected input with 12 features \[N,12\], got \[2, 3, 2, 2\] \(flatten the input first/);
});

test('pooling layers: output sizes incl. ceilMode, padding and adaptive', () => {
  assert.deepEqual(shapeOf(new nn.MaxPool2d(2), [1, 3, 28, 28]), [1, 3, 14, 14]);
  assert.deepEqual(shapeOf(new nn.MaxPool2d(3, { stride: 2 }), [1, 3, 8, 8]), [1, 3, 3, 3]);
  assert.deepEqual(shapeOf(new nn.MaxPool2d(3, { stride: 2, ceilMode: true }), [1, 3, 8, 8]), [1, 3, 4, 4]);
  assert.deepEqual(shapeOf(new nn.MaxPool2d(3, { stride: 1, padding: 1 }), [1, 3, 5, 6]), [1, 3, 5, 6]);
  assert.deepEqual(shapeOf(new nn.AvgPool2d(2), [2, 1, 7, 7]), [2, 1, 3, 3]);
  assert.deepEqual(shapeOf(new nn.AvgPool2d([2, 3], { stride: [1, 2], padding: [1, 1] }), [2, 1, 7, 7]), [2, 1, 8, 4]);
  assert.deepEqual(shapeOf(new nn.AdaptiveAvgPool2d(1), [2, 5, 7, 9]), [2, 5, 1, 1]);
  assert.deepEqual(shapeOf(new nn.AdaptiveAvgPool2d([3, 2]), [2, 5, 7, 9]), [2, 5, 3, 2]);
  assert.deepEqual(shapeOf(new nn.AdaptiveMaxPool2d([2, 2]), [2, 5, 7, 9]), [2, 5, 2, 2]);
  // values: max and average of a known 2x2 block
  const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
  assert.deepEqual([...new nn.MaxPool2d(2).forward(x).data], [4]);
  assert.deepEqual([...new nn.AvgPool2d(2).forward(x).data], [2.5]);
  assert.throws(() => new nn.MaxPool2d(2).forward(randn([3, 28, 28])), /MaxPool2d: expected a 4-D input \[N,C,H,W\], got \[3, 28, 28\]/);
});

test('activations keep the shape and compute the right values', () => {
  const x = tensor([-2, -0.5, 0, 1.5], [2, 2]);
  const run = (m: nn.Module): number[] => [...m.forward(x).data].map((v) => Math.round(v * 1e5) / 1e5);
  assert.deepEqual(run(new nn.ReLU()), [0, 0, 0, 1.5]);
  assert.deepEqual(run(new nn.LeakyReLU(0.1)), [-0.2, -0.05, 0, 1.5]);
  assert.deepEqual(run(new nn.ELU()), [Math.round((Math.exp(-2) - 1) * 1e5) / 1e5, Math.round((Math.exp(-0.5) - 1) * 1e5) / 1e5, 0, 1.5]);
  assert.deepEqual(run(new nn.Sigmoid()), [-2, -0.5, 0, 1.5].map((v) => Math.round(1e5 / (1 + Math.exp(-v))) / 1e5));
  assert.deepEqual(run(new nn.Tanh()), [-2, -0.5, 0, 1.5].map((v) => Math.round(Math.tanh(v) * 1e5) / 1e5));
  assert.deepEqual(run(new nn.GELU()), [-0.0455, -0.15427, 0, 1.39979]);
  const sm = new nn.Softmax(1).forward(x);
  assert.deepEqual(sm.shape, [2, 2]);
  assert.ok(Math.abs(sm.data[0]! + sm.data[1]! - 1) < 1e-6);
  const lsm = new nn.LogSoftmax(1).forward(x);
  assert.ok(Math.abs(Math.exp(lsm.data[2]!) - sm.data[2]!) < 1e-6);
});

test('BatchNorm2d: batch statistics in training, running statistics (momentum, unbiased var) and eval', () => {
  const bn = new nn.BatchNorm2d(2);
  const x = tensor([1, 2, 3, 4, 10, 10, 10, 10, 5, 6, 7, 8, 20, 20, 20, 22], [2, 2, 2, 2]);
  const y = bn.forward(x);
  // channel 0 values 1..8: mean 4.5, biased var 5.25
  assert.ok(Math.abs(y.data[0]! - (1 - 4.5) / Math.sqrt(5.25 + 1e-5)) < 1e-5);
  assert.ok(Math.abs(bn.runningMean!.data[0]! - 0.45) < 1e-6);
  assert.ok(Math.abs(bn.runningVar!.data[0]! - (0.9 + 0.1 * 6)) < 1e-6, 'unbiased variance 6 enters the running average');
  assert.equal(bn.numBatchesTracked!.data[0], 1);
  bn.forward(x);
  assert.equal(bn.numBatchesTracked!.data[0], 2);
  bn.eval();
  const ye = bn.forward(x);
  const rm = bn.runningMean!.data[0]!, rv = bn.runningVar!.data[0]!;
  assert.ok(Math.abs(ye.data[0]! - (1 - rm) / Math.sqrt(rv + 1e-5)) < 1e-5);
  assert.equal(bn.numBatchesTracked!.data[0], 2, 'eval does not count batches');
  assert.throws(() => bn.forward(randn([2, 3, 2, 2])), { message: 'BatchNorm2d(2): expected input with 2 channels [N,C,H,W], got [2, 3, 2, 2]' });
});

test('BatchNorm: momentum null is a cumulative average; no running stats; no affine', () => {
  const bn = new nn.BatchNorm1d(1, { momentum: null });
  bn.forward(tensor([0, 2], [2, 1]));
  bn.forward(tensor([4, 6], [2, 1]));
  assert.ok(Math.abs(bn.runningMean!.data[0]! - 3) < 1e-6, 'average of batch means 1 and 5');
  const plain = new nn.BatchNorm1d(3, { trackRunningStats: false, affine: false });
  assert.deepEqual(Object.keys(plain.stateDict()), []);
  assert.equal(plain.numParameters(), 0);
  plain.eval();
  const y = plain.forward(tensor([1, 2, 3, 3, 4, 9], [2, 3]));
  assert.ok(Math.abs(y.data[0]! + 1) < 1e-3, 'uses batch statistics even in eval');
  assert.deepEqual(shapeOf(new nn.BatchNorm1d(4), [3, 4, 5]), [3, 4, 5]);
  assert.deepEqual(Object.keys(new nn.BatchNorm2d(4).stateDict()), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
});

test('Dropout: zeroes about p in training (seeded), identity in eval', () => {
  const d = new nn.Dropout(0.3);
  manualSeed(5);
  const x = randn([100, 100]);
  manualSeed(7);
  const a = d.forward(x);
  manualSeed(7);
  const b = d.forward(x);
  assert.deepEqual(a.data, b.data);
  let zeros = 0;
  for (let i = 0; i < a.numel; i++) {
    if (a.data[i] === 0) zeros++;
    else assert.ok(Math.abs(a.data[i]! - x.data[i]! / 0.7) < 1e-5);
  }
  assert.ok(Math.abs(zeros / a.numel - 0.3) < 0.02, `dropped fraction ${zeros / a.numel}`);
  d.eval();
  assert.deepEqual(d.forward(x).data, x.data);
});

test('LocalResponseNorm keeps the shape', () => {
  assert.deepEqual(shapeOf(new nn.LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 }), [2, 8, 4, 4]), [2, 8, 4, 4]);
});

test('Sequential: indexing, length, iteration, named children, append', () => {
  const s = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU());
  assert.equal(s.length, 2);
  assert.ok(s.at(0) instanceof nn.Linear);
  assert.ok(s.at(-1) instanceof nn.ReLU);
  assert.throws(() => s.at(2), /index 2 is out of range for 2 modules/);
  s.append(new nn.Linear(3, 1));
  assert.deepEqual(Object.keys(s.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.equal([...s].length, 3);
  assert.deepEqual(shapeOf(s, [5, 4]), [5, 1]);
  const named = nn.Sequential.named([['conv', new nn.Conv2d(1, 2, 3)], ['act', new nn.ReLU()]]);
  assert.deepEqual(Object.keys(named.stateDict()), ['conv.weight', 'conv.bias']);
  assert.throws(() => named.forward(randn([1, 3, 5, 5])), /Conv2d\(1->2\) in conv:/);
});

test('gradients reach every parameter of a conv-bn-relu-pool-linear stack', () => {
  const net = new nn.Sequential(new nn.Conv2d(1, 2, 3, { padding: 1 }), new nn.BatchNorm2d(2), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(2 * 3 * 3, 3));
  const y: Tensor = net.forward(randn([4, 1, 6, 6]));
  y.sum().backward();
  for (const [name, p] of net.namedParameters()) {
    assert.ok(p.grad !== null, `${name} has a gradient`);
    assert.deepEqual(p.grad!.shape, p.shape);
  }
});
