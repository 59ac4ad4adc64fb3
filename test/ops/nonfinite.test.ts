// NaN and infinity through every op, forward and backward, exactly as in PyTorch (issue 17, finding 1:
// `F.relu(tensor([NaN]))` gave 0, PyTorch gives NaN; one NaN weight then spread silently through a saved
// checkpoint). Fixtures: tools/gen_nonfinite_fixtures.py. NaN must be NaN where PyTorch has NaN, an infinity
// the same infinity, and every finite value close. Run on every backend by test/backend/op-suite.test.ts.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';
import { checkOutputAndGradients, fixtureLeaves } from '../helpers/op-fixture.js';

type Runner = (t: Record<string, Tensor | undefined>, c: FixtureCase) => Tensor;
const unary = (fn: (x: Tensor) => Tensor): Runner => (t) => fn(t.x!);
const RUN: Record<string, Runner> = {
  relu: unary(F.relu), sigmoid: unary(F.sigmoid), tanh: unary(F.tanh), gelu: unary(F.gelu),
  leakyRelu: unary((x) => F.leakyRelu(x, 0.1)), elu: unary((x) => F.elu(x)),
  exp: unary(F.exp), log: unary(F.log), sqrt: unary(F.sqrt), abs: unary(F.abs), neg: unary(F.neg),
  clamp: unary((x) => F.clamp(x, -0.5, 0.5)),
  binary: (t, c) => {
    const op = String(c.params['op']);
    const fns: Record<string, (a: Tensor, b: Tensor) => Tensor> = { add: F.add, mul: F.mul, sub: F.sub, div: F.div, max: F.maximum, min: F.minimum, pow: F.pow };
    return fns[op]!(t.a!, t.b!);
  },
  sum: (t) => F.sum(t.x!, 1), mean: (t) => F.mean(t.x!, 1), max: (t) => F.max(t.x!, 1),
  softmax: (t) => F.softmax(t.x!, 1), logSoftmax: (t) => F.logSoftmax(t.x!, 1),
  crossEntropy: (t, c) => F.crossEntropy(t.logits!, c.i32('target'), { reduction: 'none' }),
  conv2d: (t) => F.conv2d(t.x!, t.w!, t.b ?? null, { padding: 1 }),
  linear: (t) => F.linear(t.x!, t.w!, t.b ?? null),
  maxPool2d: (t, c) => (c.params['overlap'] ? F.maxPool2d(t.x!, { kernelSize: 3, stride: 2, padding: 1 }) : F.maxPool2d(t.x!, { kernelSize: 2 })),
  avgPool2d: (t) => F.avgPool2d(t.x!, { kernelSize: 2 }),
  batchNorm: (t) => F.batchNorm(t.x!, null, null, t.weight ?? null, t.bias ?? null, { training: true }),
  matmul: (t) => F.matmul(t.a!, t.b!),
  nllLoss: (t, c) => F.nllLoss(t.x!, c.i32('target'), { reduction: 'none' }),
  localResponseNorm: (t) => F.localResponseNorm(t.x!, { size: 3 }),
  adaptiveAvgPool2d: (t) => F.adaptiveAvgPool2d(t.x!, 3),
  globalAvgPool2d: (t) => F.globalAvgPool2d(t.x!),
  pad: (t) => F.pad(t.x!, [1, 2, 0, 1]),
  concat: (t) => F.concat([t.x!, F.mul(t.x!, 2)], 1),
  locallyConnected2d: (t) => F.locallyConnected2d(t.x!, t.w!, t.b ?? null, {}),
};

for (const c of loadFixtures('nonfinite')) {
  test(`NaN and infinity through ${c.op} as in PyTorch: ${c.name}`, () => {
    const run = RUN[c.op];
    if (!run) throw new Error(`no runner for ${c.op}`);
    const t = fixtureLeaves(c, ['x', 'a', 'b', 'w', 'logits', 'weight', 'bias']);
    checkOutputAndGradients(c, run(t, c), t);
  });
}
