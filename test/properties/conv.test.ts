// Properties of convolution that hold whatever the numbers: linearity in x and in w, commuting with integer
// translation away from the border, the adjoint identities that tie the forward kernel to the backward
// kernels, and the locally connected layer reducing to conv2d when its filters are tied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { getBackend } from '../../src/backend/registry.js';
import { assertClose } from '../helpers/compare.js';
import { normalData } from '../helpers/gradcheck.js';

function randn(shape: number[], seed: number): Tensor {
  return new Tensor(normalData(shape.reduce((a, b) => a * b, 1), seed), shape);
}
function dot(a: ArrayLike<number>, b: ArrayLike<number>): { value: number; magnitude: number } {
  let value = 0, magnitude = 0;
  for (let i = 0; i < a.length; i++) { value += a[i]! * b[i]!; magnitude += Math.abs(a[i]! * b[i]!); }
  return { value, magnitude };
}

const configs: [string, number[], number[], F.Conv2dOptions][] = [
  ['3x3 pad 1', [2, 3, 7, 6], [4, 3, 3, 3], { padding: 1 }],
  ['stride 2 dilation 2', [1, 2, 9, 10], [3, 2, 3, 3], { stride: 2, dilation: 2, padding: 2 }],
  ['groups 2 non-square', [2, 4, 6, 7], [6, 2, 2, 3], { groups: 2, padding: [1, 0], stride: [1, 2] }],
  ['depthwise', [1, 3, 6, 6], [3, 1, 3, 3], { groups: 3, padding: 1 }],
  ["'same' even kernel", [1, 2, 6, 5], [2, 2, 4, 2], { padding: 'same' }],
  ['stride 3 no pad', [2, 2, 10, 8], [2, 2, 3, 2], { stride: 3 }],
];

for (const [name, xs, ws, options] of configs) {
  test(`conv2d is linear in x and in w: ${name}`, () => {
    const x1 = randn(xs, 1), x2 = randn(xs, 2), w1 = randn(ws, 3), w2 = randn(ws, 4);
    const [a, b] = [0.7, -1.3];
    const lhsX = F.conv2d(F.add(F.mul(x1, a), F.mul(x2, b)), w1, null, options);
    const rhsX = F.add(F.mul(F.conv2d(x1, w1, null, options), a), F.mul(F.conv2d(x2, w1, null, options), b));
    assertClose(lhsX, rhsX.data, `${name}: conv(a·x1 + b·x2, w) vs a·conv(x1, w) + b·conv(x2, w)`);
    const lhsW = F.conv2d(x1, F.add(F.mul(w1, a), F.mul(w2, b)), null, options);
    const rhsW = F.add(F.mul(F.conv2d(x1, w1, null, options), a), F.mul(F.conv2d(x1, w2, null, options), b));
    assertClose(lhsW, rhsW.data, `${name}: conv(x, a·w1 + b·w2) vs a·conv(x, w1) + b·conv(x, w2)`);
    // and a zero input gives a zero output (no hidden bias)
    assert.ok(F.conv2d(F.mul(x1, 0), w1, null, options).data.every((v) => v === 0), `${name}: conv(0, w) is not 0`);
  });

  test(`adjoint identities <conv(x), y> = <x, backwardInput(y)> = <w, backwardWeight(x, y)>: ${name}`, () => {
    const x = randn(xs, 5), w = randn(ws, 6);
    const out = F.conv2d(x, w, null, options);
    const y = randn([...out.shape], 7);
    const g = F.conv2dGeometry('conv2d', x.shape, ws[0]!, ws[1]!, ws[2]!, ws[3]!, options);
    const be = getBackend();
    const gx = new Float32Array(x.numel), gw = new Float32Array(w.numel);
    be.conv2dBackwardInput(y.data, w.data, g, gx);
    be.conv2dBackwardWeight(x.data, y.data, g, gw);
    const lhs = dot(out.data, y.data), viaInput = dot(x.data, gx), viaWeight = dot(w.data, gw);
    // float32 kernels, float64 dots: the three agree to ~1e-6 of the sum of |terms|
    const bound = 1e-5 * Math.max(lhs.magnitude, viaInput.magnitude, viaWeight.magnitude);
    assert.ok(Math.abs(lhs.value - viaInput.value) <= bound, `${name}: <conv(x),y> = ${lhs.value}, <x, conv2dBackwardInput(y)> = ${viaInput.value}`);
    assert.ok(Math.abs(lhs.value - viaWeight.value) <= bound, `${name}: <conv(x),y> = ${lhs.value}, <w, conv2dBackwardWeight(x,y)> = ${viaWeight.value}`);
    // autograd's gradient is the same backward kernel
    const xl = new Tensor(x.data.slice(), x.shape); xl.requiresGrad = true;
    F.conv2d(xl, w, null, options).backward(y);
    assertClose(xl.grad!, gx, `${name}: autograd gradient vs conv2dBackwardInput`);
  });
}

/** x shifted by (dy, dx): out[.., r, c] = x[.., r - dy, c - dx], zero where that falls outside. */
function shift(x: Tensor, dy: number, dx: number): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float32Array(x.numel);
  for (let p = 0; p < n * c; p++) {
    for (let r = 0; r < h; r++) {
      for (let q = 0; q < w; q++) {
        const sr = r - dy, sq = q - dx;
        if (sr >= 0 && sr < h && sq >= 0 && sq < w) out[(p * h + r) * w + q] = x.data[(p * h + sr) * w + sq]!;
      }
    }
  }
  return new Tensor(out, x.shape);
}

const translations: [string, number[], number[], { stride: number; padding: number; dilation: number }, [number, number][]][] = [
  ['3x3 stride 1 pad 1', [1, 2, 12, 11], [3, 2, 3, 3], { stride: 1, padding: 1, dilation: 1 }, [[1, 0], [0, 2], [-2, 1], [3, -3]]],
  ['5x5 dilation 2', [2, 1, 16, 14], [2, 1, 5, 5], { stride: 1, padding: 0, dilation: 2 }, [[2, 1], [-1, -2]]],
  ['stride 2 (shifts by multiples of the stride)', [1, 3, 14, 13], [2, 3, 3, 3], { stride: 2, padding: 1, dilation: 1 }, [[2, 0], [-2, 4], [4, -2]]],
];

for (const [name, xs, ws, options, shifts] of translations) {
  test(`conv2d commutes with integer translation away from the border: ${name}`, () => {
    const x = randn(xs, 8), w = randn(ws, 9);
    const y = F.conv2d(x, w, null, options);
    const [, , h, wid] = xs as [number, number, number, number];
    const [kh, kw] = [ws[2]!, ws[3]!];
    const { stride: s, padding: p, dilation: d } = options;
    const [oh, ow] = [y.shape[2]!, y.shape[3]!];
    for (const [dy, dx] of shifts) {
      const ys = F.conv2d(shift(x, dy, dx), w, null, options);
      const [ody, odx] = [dy / s, dx / s];
      // an output cell of the shifted input is interior when its whole window reads real (not shifted-in, not padded) pixels
      const inside = (o: number, k: number, size: number, delta: number) => {
        for (let t = 0; t < k; t++) {
          const r = o * s - p + t * d;
          if (r < 0 || r >= size || r - delta < 0 || r - delta >= size) return false;
        }
        return true;
      };
      let compared = 0;
      for (let i = 0; i < oh; i++) {
        if (!inside(i, kh, h, dy)) continue;
        for (let j = 0; j < ow; j++) {
          if (!inside(j, kw, wid, dx)) continue;
          for (let plane = 0; plane < y.shape[0]! * y.shape[1]!; plane++) {
            const got = ys.data[(plane * oh + i) * ow + j]!, want = y.data[(plane * oh + i - ody) * ow + j - odx]!;
            assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)),
              `${name}, shift (${dy}, ${dx}): output (${i}, ${j}) of plane ${plane} is ${got}, expected ${want} from (${i - ody}, ${j - odx})`);
            compared++;
          }
        }
      }
      assert.ok(compared >= 8, `${name}, shift (${dy}, ${dx}): only ${compared} interior outputs compared`);
    }
  });
}

test('locallyConnected2d with the same filter at every position equals conv2d', () => {
  const x = randn([2, 3, 7, 6], 10), w = randn([4, 3, 3, 2], 11), b = randn([4], 12);
  const options = { stride: [2, 1] as [number, number], padding: 1 };
  const conv = F.conv2d(x, w, b, options);
  const [oh, ow] = [conv.shape[2]!, conv.shape[3]!];
  const tied = new Float32Array(oh * ow * w.numel);
  for (let pos = 0; pos < oh * ow; pos++) tied.set(w.data, pos * w.numel);
  const tiedBias = new Float32Array(4 * oh * ow);
  for (let o = 0; o < 4; o++) tiedBias.fill(b.data[o]!, o * oh * ow, (o + 1) * oh * ow);
  const lc = F.locallyConnected2d(x, new Tensor(tied, [oh * ow, 4, 3, 3, 2]), new Tensor(tiedBias, [4, oh, ow]), options);
  assertClose(lc, conv.data, 'tied locallyConnected2d vs conv2d', { shape: conv.shape });
});
