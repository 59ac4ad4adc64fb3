// Central-difference gradient checks (random cotangent; bound in test/helpers/gradcheck.ts) for batchNorm,
// dropout (fixed mask), localResponseNorm and every loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Generator } from '../../src/tensor/random.js';
import { gradcheck, randomLeaf } from '../helpers/gradcheck.js';

function constant(shape: number[], values: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, (_, i) => values(i)), shape);
}

for (const shape of [[6, 3], [3, 2, 4], [2, 3, 3, 4]]) {
  const c = shape[1]!;
  test(`gradcheck batchNorm training ${JSON.stringify(shape)} (x, weight, bias)`, () => {
    // fresh running statistics per evaluation, so the in-place update does not leak between probes
    const fn = (x: Tensor, w: Tensor, b: Tensor) =>
      F.batchNorm(x, constant([c], () => 0), constant([c], () => 1), w, b, { training: true, eps: 1e-3 });
    gradcheck(`batchNorm train ${shape}`, fn, [randomLeaf(shape, 1, 2), randomLeaf([c], 2), randomLeaf([c], 3)]);
    gradcheck(`batchNorm train ${shape} no affine`, (x) => F.batchNorm(x, null, null, null, null, { training: true }), [randomLeaf(shape, 4)]);
  });
  test(`gradcheck batchNorm eval ${JSON.stringify(shape)} (x, weight, bias)`, () => {
    const rm = constant([c], (i) => 0.3 * i - 0.2), rv = constant([c], (i) => 0.5 + i);
    gradcheck(`batchNorm eval ${shape}`, (x, w, b) => F.batchNorm(x, rm, rv, w, b, { training: false }),
      [randomLeaf(shape, 5), randomLeaf([c], 6), randomLeaf([c], 7)]);
  });
}

test('gradcheck dropout with a fixed mask', () => {
  // a fresh generator with the same seed per call gives the same mask for every probe
  gradcheck('dropout p=0.3', (x) => F.dropout(x, { p: 0.3, generator: new Generator(99) }), [randomLeaf([4, 10], 8)]);
});

test('gradcheck localResponseNorm', () => {
  gradcheck('LRN size 3', (x) => F.localResponseNorm(x, { size: 3, alpha: 1, beta: 0.75, k: 2 }), [randomLeaf([2, 5, 3, 3], 9)]);
  gradcheck('LRN size 2 (even)', (x) => F.localResponseNorm(x, { size: 2, alpha: 0.5, beta: 0.5, k: 1 }), [randomLeaf([1, 4, 3, 2], 10)]);
});

const targets = Int32Array.from([0, 3, 1, 4, 2, 3]);
for (const reduction of ['mean', 'sum', 'none'] as const) {
  test(`gradcheck crossEntropy and nllLoss, reduction ${reduction}`, () => {
    const weight = constant([5], (i) => 0.5 + 0.3 * i);
    gradcheck(`crossEntropy ${reduction}`, (x) => F.crossEntropy(x, targets, { reduction }), [randomLeaf([6, 5], 11, 2)]);
    gradcheck(`crossEntropy ${reduction} smoothing + weight`, (x) => F.crossEntropy(x, targets, { reduction, labelSmoothing: 0.2, weight }),
      [randomLeaf([6, 5], 12, 2)]);
    gradcheck(`nllLoss ${reduction} weight`, (x) => F.nllLoss(x, targets, { reduction, weight }), [randomLeaf([6, 5], 13)]);
  });
  test(`gradcheck mseLoss and bceWithLogits, reduction ${reduction}`, () => {
    gradcheck(`mseLoss ${reduction}`, (a, b) => F.mseLoss(a, b, { reduction }), [randomLeaf([4, 3], 14), randomLeaf([4, 3], 15)]);
    const target = constant([5, 4], (i) => ((i * 7) % 10) / 9);
    const posWeight = constant([4], (i) => 0.5 + i);
    gradcheck(`bceWithLogits ${reduction}`, (x) => F.bceWithLogits(x, target, { reduction }), [randomLeaf([5, 4], 16, 2)]);
    gradcheck(`bceWithLogits ${reduction} posWeight`, (x) => F.bceWithLogits(x, target, { reduction, posWeight }), [randomLeaf([5, 4], 17, 2)]);
  });
}

// crossEntropy is one fused op (softmaxCrossEntropy); the gradchecks above go through it. Here it is also checked
// against the same loss built from differentiable parts: logSoftmax, nllLoss and the label-smoothing term.
function composedCrossEntropy(x: Tensor, target: Int32Array, reduction: 'mean' | 'sum' | 'none', eps: number, weight: Tensor | null,
  ignoreIndex: number): Tensor {
  const logp = F.logSoftmax(x, 1);
  const nll = F.nllLoss(logp, target, { reduction, weight, ignoreIndex });
  const c = x.shape[1]!;
  const kept = constant([target.length], (i) => (target[i] === ignoreIndex ? 0 : 1));
  const smooth = F.mul(F.neg(F.sum(weight ? F.mul(logp, weight) : logp, 1)), kept);
  let total = 0;
  for (const t of target) if (t !== ignoreIndex) total += weight ? weight.data[t]! : 1;
  const smoothReduced = reduction === 'none' ? smooth : reduction === 'sum' ? F.sum(smooth) : F.mul(F.sum(smooth), 1 / total);
  return F.add(F.mul(nll, 1 - eps), F.mul(smoothReduced, eps / c));
}

const withIgnored = Int32Array.from([0, -100, 1, 4, -100, 3]);
for (const reduction of ['mean', 'sum', 'none'] as const) {
  test(`gradcheck crossEntropy with ignored rows, reduction ${reduction}`, () => {
    const weight = constant([5], (i) => 0.5 + 0.3 * i);
    gradcheck(`crossEntropy ${reduction} ignoreIndex`, (x) => F.crossEntropy(x, withIgnored, { reduction }), [randomLeaf([6, 5], 21, 2)]);
    gradcheck(`crossEntropy ${reduction} ignoreIndex smoothing + weight`,
      (x) => F.crossEntropy(x, withIgnored, { reduction, labelSmoothing: 0.2, weight }), [randomLeaf([6, 5], 22, 2)]);
    gradcheck(`crossEntropy ${reduction} ignoreIndex = class 3`,
      (x) => F.crossEntropy(x, targets, { reduction, weight, ignoreIndex: 3 }), [randomLeaf([6, 5], 23, 2)]);
  });
  test(`fused crossEntropy equals logSoftmax + nllLoss + smoothing (value and gradient), reduction ${reduction}`, () => {
    for (const [target, ignoreIndex] of [[targets, -100], [withIgnored, -100], [targets, 3]] as const) {
      for (const labelSmoothing of [0, 0.15]) {
        for (const weighted of [false, true]) {
          const weight = weighted ? constant([5], (i) => 0.4 + 0.25 * i) : null;
          const run = (fused: boolean) => {
            const x = randomLeaf([6, 5], 20, 3);
            const y = fused ? F.crossEntropy(x, target, { reduction, labelSmoothing, weight, ignoreIndex })
              : composedCrossEntropy(x, target, reduction, labelSmoothing, weight, ignoreIndex);
            y.backward(new Tensor(Float32Array.from({ length: y.numel }, (_, i) => 1 + 0.5 * i), y.shape));
            return { y: y.data, gx: x.grad!.data, op: y.gradFn?.op };
          };
          const fused = run(true), composed = run(false);
          const label = `target ${Array.from(target)} ignoreIndex ${ignoreIndex} smoothing ${labelSmoothing} weighted ${weighted}`;
          assert.equal(fused.op, 'softmaxCrossEntropy', `${label}: crossEntropy is the fused op`);
          for (const [a, b, what] of [[fused.y, composed.y, 'loss'], [fused.gx, composed.gx, 'gradient']] as const) {
            for (let i = 0; i < a.length; i++) {
              assert.ok(Math.abs(a[i]! - b[i]!) <= 2e-6 * (1 + Math.abs(b[i]!)), `${label}: ${what}[${i}] fused ${a[i]} vs composed ${b[i]}`);
            }
          }
        }
      }
    }
  });
}

test('gradcheck crossEntropy on [N, C, H, W] logits (per-position targets, one ignored)', () => {
  const target = Int32Array.from([0, 2, -100, 1, 3, 0, 2, 2, 1, 0, 3, 1]); // [2, 3, 2] flattened
  const weight = constant([4], (i) => 0.6 + 0.2 * i);
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    gradcheck(`crossEntropy NCHW ${reduction}`, (x) => F.crossEntropy(x, target, { reduction, labelSmoothing: 0.1, weight }),
      [randomLeaf([2, 4, 3, 2], 24, 2)]);
  }
});
