// F.linear / F.conv2d with `activation`: one autograd op whose output and gradients have the SAME BITS as the
// unfused ops (linear or conv2d, then relu / sigmoid / tanh), on whichever backend runs this file (the op suite,
// test/backend/op-suite.test.ts, runs it on every backend, with 1 and 2 threads where it has threads). Bit equality holds because the
// fused pass does the same float32 bias addition and the same activation arithmetic as the separate passes,
// and its backward the same per-element gradient formula (a product with the 0/1 mask for relu).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Generator } from '../../src/tensor/random.js';
import type { Activation } from '../../src/backend/backend.js';
import { getBackend } from '../../src/backend/registry.js';

const ACTIVATIONS: readonly Exclude<Activation, 'none'>[] = ['relu', 'sigmoid', 'tanh'];
const apply = (a: Activation, t: Tensor): Tensor => (a === 'relu' ? F.relu(t) : a === 'sigmoid' ? F.sigmoid(t) : a === 'tanh' ? F.tanh(t) : t);

function leaf(shape: number[], seed: number, scale = 1): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const t = new Tensor(Float32Array.from({ length: n }, () => g.normal() * scale), shape);
  t.requiresGrad = true;
  return t;
}

/** The float32 bit patterns, every NaN as one value (wasm leaves the sign and payload of a NaN unspecified). */
function bits(t: Tensor | null): number[] {
  assert.ok(t, 'gradient present');
  return Array.from(new Uint32Array(Float32Array.from(t.data).buffer), (u, i) => (Number.isNaN(t.data[i]) ? -1 : u));
}

/** Run fn on fresh copies of the inputs with cotangent gy; return the output and every input's gradient. */
function run(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], gySeed: number): { out: number[]; grads: number[][] } {
  const copies = inputs.map((t) => { const c = new Tensor(Float32Array.from(t.data), t.shape); c.requiresGrad = true; return c; });
  const y = fn(...copies);
  const gy = leaf([...y.shape], gySeed);
  // Special cotangents: a masked -1 gives -0 and a masked inf gives NaN through the unfused mask product.
  gy.data[0] = -1; gy.data[1] = Infinity;
  gy.requiresGrad = false;
  y.backward(gy);
  return { out: bits(y), grads: copies.map((c) => bits(c.grad)) };
}

function assertFusedEqualsUnfused(label: string, fused: (...xs: Tensor[]) => Tensor, unfused: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): void {
  const a = run(fused, inputs, 99), b = run(unfused, inputs, 99);
  assert.deepEqual(a.out, b.out, `${label}: output bits`);
  a.grads.forEach((g, i) => assert.deepEqual(g, b.grads[i], `${label}: gradient of input ${i} bits`));
}

test('F.linear with activation equals the activation of F.linear, bit for bit (values and gradients)', () => {
  for (const activation of ACTIVATIONS) {
    const x = leaf([6, 7], 1), w = leaf([5, 7], 2, 0.5), b = leaf([5], 3);
    // Exact zeros before the activation: a zero input row and a zero bias entry give pre-activation 0 (relu's kink).
    x.data.fill(0, 0, 7); b.data[0] = 0;
    assertFusedEqualsUnfused(`linear ${activation}`, (xx, ww, bb) => F.linear(xx, ww, bb, { activation }),
      (xx, ww, bb) => apply(activation, F.linear(xx, ww, bb)), [x, w, b]);
    assertFusedEqualsUnfused(`linear ${activation}, 3-D input, no bias`, (xx, ww) => F.linear(xx, ww, null, { activation }),
      (xx, ww) => apply(activation, F.linear(xx, ww)), [leaf([2, 3, 9], 4), leaf([13, 9], 5, 0.4)]);
  }
  // 'none' is plain linear: the same op.
  const x = leaf([3, 4], 6), w = leaf([2, 4], 7), b = leaf([2], 8);
  assertFusedEqualsUnfused('linear none', (xx, ww, bb) => F.linear(xx, ww, bb, { activation: 'none' }), (xx, ww, bb) => F.linear(xx, ww, bb), [x, w, b]);
});

test('F.conv2d with activation equals the activation of F.conv2d, bit for bit (values and gradients)', () => {
  const geometries: F.Conv2dOptions[] = [{ padding: 1 }, { stride: 2 }, { groups: 2, padding: 'same' }];
  for (const activation of ACTIVATIONS) {
    for (const [i, options] of geometries.entries()) {
      const x = leaf([2, 4, 7, 6], 10 + i), w = leaf([6, 4 / (options.groups ?? 1), 3, 3], 20 + i, 0.4), b = leaf([6], 30 + i);
      assertFusedEqualsUnfused(`conv2d ${activation} ${JSON.stringify(options)}`, (xx, ww, bb) => F.conv2d(xx, ww, bb, { ...options, activation }),
        (xx, ww, bb) => apply(activation, F.conv2d(xx, ww, bb, options)), [x, w, b]);
    }
    assertFusedEqualsUnfused(`conv2d ${activation} no bias`, (xx, ww) => F.conv2d(xx, ww, null, { activation }),
      (xx, ww) => apply(activation, F.conv2d(xx, ww, null)), [leaf([1, 2, 5, 5], 40), leaf([3, 2, 3, 3], 41)]);
  }
});

test('the fused ops are one autograd node and reject an unknown activation', () => {
  const x = leaf([2, 3], 50), w = leaf([4, 3], 51), b = leaf([4], 52);
  const y = F.linear(x, w, b, { activation: 'relu' });
  assert.equal(y.gradFn?.op, 'linear');
  assert.deepEqual(y.gradFn?.inputs.map((t) => t), [x, w, b]);
  const bad = { activation: 'gelu' as Activation };
  assert.throws(() => F.linear(x, w, b, bad), /linear: activation must be one of 'none', 'relu', 'sigmoid', 'tanh', got 'gelu'/);
  assert.throws(() => F.conv2d(leaf([1, 1, 3, 3], 53), leaf([1, 1, 2, 2], 54), null, bad), /conv2d: activation must be one of/);
});

test('F.addActivation equals the activation of F.add, bit for bit (values and gradients), and broadcasts as the two ops', () => {
  for (const activation of ['none', ...ACTIVATIONS] as const) {
    // large enough for several tasks of a threaded kernel; exact cancellations give pre-activation 0 (relu's kink)
    const a = leaf([3, 4, 40, 41], 11), b = leaf([3, 4, 40, 41], 12);
    for (let i = 0; i < 50; i++) b.data[i * 97] = -a.data[i * 97]!;
    a.data[5] = -0; b.data[5] = -0; a.data[6] = NaN;
    assertFusedEqualsUnfused(`addActivation ${activation}`, (x, y) => F.addActivation(x, y, activation),
      (x, y) => apply(activation, F.add(x, y)), [a, b]);
    assertFusedEqualsUnfused(`addActivation ${activation}, broadcast [2,3] + [3]`, (x, y) => F.addActivation(x, y, activation),
      (x, y) => apply(activation, F.add(x, y)), [leaf([2, 3], 13), leaf([3], 14)]);
  }
  assert.throws(() => F.addActivation(leaf([2], 1), leaf([2], 2), 'gelu' as Activation), /addActivation: activation must be one of 'none', 'relu', 'sigmoid', 'tanh', got 'gelu'/);
});

test('F.conv2dMaxPool2x2 while recording equals maxPool2d of the activated F.conv2d, bit for bit (values and gradients)', () => {
  // 9 images: several blocks of a threaded fused kernel. Odd output sizes (floor pooling drops a row and a column).
  const cases: { label: string; x: Tensor; w: Tensor; b: Tensor | null; options: F.Conv2dOptions }[] = [
    { label: 'LeNet conv1 (pad 2)', x: leaf([9, 1, 12, 12], 60), w: leaf([6, 1, 5, 5], 61, 0.4), b: leaf([6], 62), options: { padding: 2 } },
    { label: 'odd 11x9 output, stride 1', x: leaf([3, 4, 13, 11], 63), w: leaf([5, 4, 3, 3], 64, 0.3), b: leaf([5], 65), options: {} },
    { label: 'no bias, groups 2', x: leaf([2, 4, 8, 8], 66), w: leaf([6, 2, 3, 3], 67, 0.3), b: null, options: { padding: 1, groups: 2 } },
  ];
  const c0 = cases[0]!;
  // Channel 1 all negative (every window without a positive value: relu's kink under pooling), channel 2 exactly
  // zero (zero weights and bias: +0 / -0 ties), and a NaN pixel (windows with one and with several NaN values).
  c0.b!.data[1] = -50;
  c0.w.data.fill(0, 2 * 25, 3 * 25); c0.b!.data[2] = 0;
  c0.x.data[4 * 144 + 5 * 12 + 6] = NaN;
  for (const { label, x, w, b, options } of cases) {
    for (const activation of ['none', 'relu'] as const) {
      const inputs = b ? [x, w, b] : [x, w];
      assertFusedEqualsUnfused(`conv2dMaxPool2x2 ${activation} ${label}`, (xx, ww, bb) => F.conv2dMaxPool2x2(xx, ww, bb ?? null, { ...options, activation }),
        (xx, ww, bb) => F.maxPool2d(apply(activation, F.conv2d(xx, ww, bb ?? null, options)), { kernelSize: 2 }), inputs);
    }
  }
  // Where the backend's fused kernel writes the winners' indices (native), training records one op; elsewhere two.
  const y = F.conv2dMaxPool2x2(c0.x, c0.w, c0.b, { padding: 2, activation: 'relu' });
  assert.deepEqual(y.shape, [9, 6, 6, 6]);
  assert.equal(y.gradFn?.op, getBackend().name === 'native' ? 'conv2dMaxPool2x2' : 'maxPool2d');
  // sigmoid keeps the two ops (its gradient at a second NaN of a window would differ)
  assert.equal(F.conv2dMaxPool2x2(c0.x, c0.w, c0.b, { padding: 2, activation: 'sigmoid' }).gradFn?.op, 'maxPool2d');
});
