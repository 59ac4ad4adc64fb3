// nn.optimizeForInference (src/nn/inference.ts) folds every eval-mode BatchNorm2d that a traced Conv2d output feeds
// into that convolution. On every zoo model with batch norm, with non-trivial running statistics and affine
// parameters, the folded copy gives the model's eval outputs up to float32 rounding, folds the conv -> BN pairs
// (resnet/vgg/googlenet/inception: all of them; densenet's pre-activation BNs follow a concat and stay),
// and leaves the model itself unchanged. A BN whose input another op also reads is not folded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nn from '../../src/nn/index.js';
import * as models from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { noGrad } from '../../src/autograd/tape.js';
import { useBackend, getBackend } from '../../src/backend/registry.js';
import { add } from '../../src/ops/index.js';
import { randn } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { backendScope } from '../../src/train/scope.js';
import type { Module } from '../../src/nn/module.js';
import { fastestBackend } from './support/fastest-backend.js';

/** Deterministic hash weights (PyTorch-like scale) and per-channel BN statistics far from the identity. */
function fill(net: Module): void {
  let seed = 12345;
  const next = (): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 4294967296; };
  for (const [name, p] of net.namedParameters()) {
    if (!name.endsWith('weight') || p.ndim < 2) continue;
    const bound = Math.sqrt(3 / (p.numel / p.shape[0]!));
    for (let i = 0; i < p.numel; i++) p.data[i] = (next() * 2 - 1) * bound;
  }
  for (const m of net.modules()) {
    if (!(m instanceof nn.BatchNorm2d)) continue;
    for (let c = 0; c < m.numFeatures; c++) {
      m.runningMean!.data[c] = next() - 0.5;
      m.runningVar!.data[c] = 0.25 + next();
      if (m.weight) m.weight.data[c] = 0.5 + next();
      if (m.bias) m.bias.data[c] = next() - 0.5;
    }
  }
}

const countBN = (net: Module): number => [...net.modules()].filter((m) => m instanceof nn.BatchNorm2d).length;
/**
 * BatchNorm2d the fold must leave: densenet's pre-activation norms (each dense layer's first, after a concat, each
 * transition's, the last; its bottleneck's second, after the 1x1 conv, folds) and googlenet_aux's two auxiliary
 * heads' (they run in training only, so the eval trace never reaches them).
 */
const KEPT: Record<string, number> = { googlenet_aux: 2, densenet121: 62, densenet169: 86, densenet_bc100: 51, densenet_bc40: 21 };

const fast = await fastestBackend();
const withBN = models.list().map((m) => m.name).filter((name) => countBN(skipInit(() => models.create(name))) > 0);

test('the zoo has models with batch norm to fold', () => assert.ok(withBN.length >= 20, withBN.join(', ')));

for (const name of withBN) {
  test(`${name}: the folded copy gives the eval outputs, folds its conv -> BN pairs, leaves the model as it was`, () => {
    const previous = getBackend();
    if (fast) useBackend(fast);
    try {
      manualSeed(7);
      const imagenet = (models.list().find((m) => m.name === name)!.defaultInputSize?.[0] ?? 0) > 100;
      const size = imagenet ? 64 : 32;
      const net = skipInit(() => models.create(name, { numClasses: 10, inChannels: 3, inputSize: [size, size] }));
      fill(net);
      net.eval();
      const x = randn([2, 3, size, size]);
      const before = Object.entries(net.stateDict()).map(([k, t]) => [k, Float32Array.from(t.data)] as const);
      backendScope()(() => {
        const folded = nn.optimizeForInference(net, x);
        const want = noGrad(() => net.forward(x)).data, got = noGrad(() => folded.forward(x)).data;
        let scale = 0, err = 0;
        for (let i = 0; i < want.length; i++) { scale = Math.max(scale, Math.abs(want[i]!)); err = Math.max(err, Math.abs(got[i]! - want[i]!)); }
        assert.ok(scale > 0 && err <= 2e-5 * scale, `max error ${err} against max |y| ${scale}`);
        assert.equal(countBN(folded), KEPT[name] ?? 0, 'BatchNorm2d left in the copy');
        assert.equal(countBN(net), countBN(skipInit(() => models.create(name))), 'the model keeps its BatchNorm2d');
      });
      const after = net.stateDict();
      for (const [k, data] of before) assert.deepEqual(Float32Array.from(after[k]!.data), data, `${k} unchanged`);
    } finally {
      useBackend(previous);
    }
  });
}

/** conv -> BN, but the block also adds the convolution's own output: folding would change what the add reads. */
class SharedOutput extends nn.Module {
  readonly conv = this.registerModule('conv', new nn.Conv2d(3, 4, 3, { padding: 1 }));
  readonly bn = this.registerModule('bn', new nn.BatchNorm2d(4));
  forward(x: Tensor): Tensor { const y = this.conv.forward(x); return add(this.bn.forward(y), y); }
}

test('a BatchNorm2d whose input another op also reads is not folded', () => {
  manualSeed(3);
  const net = new SharedOutput();
  fill(net);
  net.eval();
  const x = randn([2, 3, 8, 8]);
  const folded = nn.optimizeForInference(net, x);
  assert.equal(countBN(folded), 1);
  assert.deepEqual(noGrad(() => folded.forward(x)).data, noGrad(() => net.forward(x)).data);
});

test('a conv -> BN pair inside a Sequential is folded and the BN removed, so Conv2d, ReLU fuse again', () => {
  manualSeed(4);
  const net = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(4), new nn.ReLU());
  fill(net);
  net.eval();
  const x = randn([2, 3, 8, 8]);
  const folded = nn.optimizeForInference(net, x) as nn.Sequential;
  assert.equal(folded.length, 2);
  assert.ok(folded.at(0) instanceof nn.Conv2d && folded.at(1) instanceof nn.ReLU);
  assert.deepEqual(Object.keys(folded.stateDict()), ['0.weight', '0.bias']);
  const want = noGrad(() => net.forward(x)).data, got = noGrad(() => folded.forward(x)).data;
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)));
});

/** Separate ReLU passes (unary 'relu') while fn runs on the current backend. */
function reluPasses(fn: () => void): number {
  const inner = getBackend();
  let passes = 0;
  useBackend({ ...inner, unary(op, x, out) { if (op === 'relu') passes++; inner.unary(op, x, out); } });
  try { fn(); } finally { useBackend(inner); }
  return passes;
}

// The conv -> BN -> ReLU units written as calls (nn.convNormReLU) and the residual joins (nn.addReLU): once the BN is
// folded, every ReLU of these models runs in a convolution's output pass or in the join.
for (const [name, size] of [['resnet20', 32], ['resnet18', 64], ['resnet50', 64], ['googlenet', 64]] as const) {
  test(`${name}: the folded copy runs no separate ReLU pass (each one is in a convolution's output pass or a residual join)`, () => {
    const previous = getBackend();
    if (fast) useBackend(fast);
    try {
      manualSeed(8);
      const net = skipInit(() => models.create(name, { numClasses: 10, inChannels: 3, inputSize: [size, size] }));
      fill(net);
      net.eval();
      const x = randn([1, 3, size, size]);
      backendScope()(() => {
        const folded = nn.optimizeForInference(net, x);
        assert.ok(reluPasses(() => noGrad(() => net.forward(x))) > 0, 'the model itself runs ReLU passes');
        assert.equal(reluPasses(() => noGrad(() => folded.forward(x))), 0, 'ReLU passes in the folded copy');
      });
    } finally {
      useBackend(previous);
    }
  });
}
