// The gradient checker itself: it must pass correct gradients (the other files) and FAIL wrong ones. Each
// case here feeds it a realistic mistake through `analyticFn` (autograd of a subtly different function) and
// asserts the check catches it, so the tolerance in test/helpers/gradcheck.ts is shown to be tight enough.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { compareGradients, gradientViolations, randomLeaf } from '../helpers/gradcheck.js';

function assertCaught(label: string, results: ReturnType<typeof compareGradients>): void {
  const bad = gradientViolations(results);
  assert.ok(bad.length > 0, `${label}: the gradient check accepted a wrong gradient`);
}

test('the check accepts a correct conv2d gradient', () => {
  const inputs = [randomLeaf([1, 2, 5, 5], 1), randomLeaf([3, 2, 3, 3], 2)];
  const results = compareGradients((x, w) => F.conv2d(x, w, null, { padding: 1 }), inputs);
  assert.deepEqual(gradientViolations(results), []);
});

test('the check catches a sign error', () => {
  const fn = (x: Tensor) => F.tanh(x);
  assertCaught('sign', compareGradients(fn, [randomLeaf([3, 4], 3)], { analyticFn: (x) => F.neg(F.tanh(x)) }));
});

test('the check catches a gradient off by 10% (a wrong divisor)', () => {
  // avgPool excluding padding vs including it: same windows, divisors differ only at the border (9 vs 6 or 4)
  const options = { kernelSize: 3, stride: 2, padding: 1 };
  assertCaught('divisor', compareGradients((x) => F.avgPool2d(x, { ...options, countIncludePad: false }), [randomLeaf([1, 1, 5, 5], 4)],
    { analyticFn: (x) => F.avgPool2d(x, options) }));
  assertCaught('scale 1.1', compareGradients((x) => F.mul(x, 1.1), [randomLeaf([3, 4], 5)], { analyticFn: (x) => x.clone() }));
});

test('the check catches a missing term (batch norm without the gradient through its batch statistics)', () => {
  const x = randomLeaf([6, 2], 6, 2);
  // eval mode with the batch's own statistics: same output as training mode, gradient lacks the mean/var terms
  const mean = new Float32Array(2), variance = new Float32Array(2);
  for (let c = 0; c < 2; c++) {
    let s = 0, q = 0;
    for (let i = 0; i < 6; i++) s += x.data[i * 2 + c]!;
    for (let i = 0; i < 6; i++) q += (x.data[i * 2 + c]! - s / 6) ** 2;
    mean[c] = s / 6; variance[c] = q / 6;
  }
  const frozen = (t: Tensor) => F.batchNorm(t, new Tensor(mean, [2]), new Tensor(variance, [2]), null, null, { training: false });
  assertCaught('batchNorm', compareGradients((t) => F.batchNorm(t, null, null, null, null, { training: true }), [x], { analyticFn: frozen }));
});

test('the check catches a transposed kernel (correlation vs convolution)', () => {
  const w = randomLeaf([2, 1, 3, 3], 7);
  const flipped = new Tensor(new Float32Array(w.numel), w.shape);
  for (let o = 0; o < 2; o++) for (let i = 0; i < 9; i++) flipped.data[o * 9 + i] = w.data[o * 9 + (8 - i)]!;
  assertCaught('flip', compareGradients((x) => F.conv2d(x, w, null, { padding: 1 }), [randomLeaf([1, 1, 5, 5], 8)],
    { analyticFn: (x) => F.conv2d(x, flipped, null, { padding: 1 }) }));
});
