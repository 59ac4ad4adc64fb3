// dropout is random, so PyTorch fixtures cannot pin its values; check its statistics and contract instead:
// the drop rate, the 1/(1-p) scaling of the kept values, the gradient equal to the mask, eval / p = 0
// identity, p = 1 all zeros, and reproducibility from a seeded generator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Generator } from '../../src/tensor/random.js';
import { normalData } from '../helpers/gradcheck.js';

const N = 100_000;

for (const p of [0.1, 0.3, 0.5, 0.8]) {
  test(`dropout p=${p}: drop rate within 5 standard deviations, kept values scaled by 1/(1-p)`, () => {
    const x = new Tensor(normalData(N, 1), [100, 1000]);
    const y = F.dropout(x, { p, generator: new Generator(42) });
    let dropped = 0, scaleErrors = 0;
    for (let i = 0; i < N; i++) {
      if (y.data[i] === 0) dropped++;
      else if (Math.abs(y.data[i]! - x.data[i]! / (1 - p)) > 1e-6 * Math.abs(y.data[i]!)) scaleErrors++;
    }
    const sigma = Math.sqrt((p * (1 - p)) / N);
    assert.ok(Math.abs(dropped / N - p) < 5 * sigma, `drop rate ${dropped / N}, expected ${p} ± ${5 * sigma}`);
    assert.equal(scaleErrors, 0, 'kept values must be x / (1 - p)');
    // the expectation is preserved: mean of y over a constant input ≈ the constant
    const ones = new Tensor(new Float32Array(N).fill(1), [N]);
    const m = F.mean(F.dropout(ones, { p, generator: new Generator(7) })).item();
    const sigmaMean = Math.sqrt(p / (1 - p) / N);
    assert.ok(Math.abs(m - 1) < 5 * sigmaMean, `mean of dropout(1) = ${m}, expected 1 ± ${5 * sigmaMean}`);
  });
}

test('dropout gradient is the same mask as the forward pass', () => {
  const x = new Tensor(normalData(1000, 2), [10, 100]);
  x.requiresGrad = true;
  const y = F.dropout(x, { p: 0.4, generator: new Generator(3) });
  const gy = new Tensor(normalData(1000, 4), [10, 100]);
  y.backward(gy);
  for (let i = 0; i < 1000; i++) {
    const expected = y.data[i] === 0 ? 0 : gy.data[i]! / 0.6;
    assert.ok(Math.abs(x.grad!.data[i]! - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `grad[${i}] = ${x.grad!.data[i]}, expected ${expected}`);
  }
});

test('dropout is the identity in eval mode and for p = 0; p = 1 drops everything', () => {
  const x = new Tensor(normalData(500, 5), [5, 100]);
  assert.deepEqual(F.dropout(x, { p: 0.5, training: false }).data, x.data);
  assert.deepEqual(F.dropout(x, { p: 0 }).data, x.data);
  assert.ok(F.dropout(x, { p: 1, generator: new Generator(1) }).data.every((v) => v === 0));
});

test('dropout is reproducible from a seeded generator and differs across seeds', () => {
  const x = new Tensor(new Float32Array(2000).fill(1), [2000]);
  const a = F.dropout(x, { p: 0.5, generator: new Generator(11) });
  const b = F.dropout(x, { p: 0.5, generator: new Generator(11) });
  const c = F.dropout(x, { p: 0.5, generator: new Generator(12) });
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
});
