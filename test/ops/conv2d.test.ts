// conv2d and locallyConnected2d against PyTorch (fixtures from tools/gen_fixtures.py): output and the
// gradients of x, weight and bias for a grid of strides, paddings (numbers, pairs, 'same', 'valid'),
// dilations, groups (including depthwise), kernel shapes and input sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../../src/tensor/creation.js';
import * as F from '../../src/ops/index.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';
import { checkOutputAndGradients, fixtureLeaves } from '../helpers/op-fixture.js';

function padding(c: FixtureCase): number | [number, number] | 'same' | 'valid' {
  const p = c.params['padding'];
  if (p === 'same' || p === 'valid') return p;
  return c.intOrPair('padding');
}

for (const c of loadFixtures('conv2d')) {
  test(`conv2d matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const t = fixtureLeaves(c, ['x', 'w', 'b']);
    const y = F.conv2d(t.x!, t.w!, t.b ?? null, {
      stride: c.intOrPair('stride'), padding: padding(c), dilation: c.intOrPair('dilation'), groups: c.num('groups'),
    });
    checkOutputAndGradients(c, y, t);
  });
}

for (const c of loadFixtures('locally_connected2d')) {
  test(`locallyConnected2d matches the unfold reference: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const t = fixtureLeaves(c, ['x', 'w', 'b']);
    const p = c.params['padding'];
    const y = F.locallyConnected2d(t.x!, t.w!, t.b ?? null, {
      stride: c.intOrPair('stride'), padding: p === 'valid' ? 'valid' : c.intOrPair('padding'), dilation: c.intOrPair('dilation'),
    });
    checkOutputAndGradients(c, y, t);
  });
}

test('an empty batch [0, C, H, W]: conv2d and conv2dMaxPool2x2 give empty outputs and zero weight and bias gradients (no kernel divides by its images)', () => {
  // Winograd-sized (16 -> 16 3x3), LeNet's conv2 (direct paths) and conv1 (flat planes), a stride-2 GEMM
  for (const [c, o, h, k, options] of [[16, 16, 16, 3, { padding: 1 }], [6, 16, 14, 5, {}], [1, 6, 28, 5, { padding: 2 }], [3, 4, 9, 3, { stride: 2 }]] as const) {
    for (const pooled of [false, true]) {
      const x = new Tensor(new Float32Array(0), [0, c, h, h]);
      x.requiresGrad = true;
      const w = randn([o, c, k, k]), b = randn([o]);
      w.requiresGrad = true;
      b.requiresGrad = true;
      const y = pooled ? F.conv2dMaxPool2x2(x, w, b, { ...options, activation: 'relu' }) : F.conv2d(x, w, b, { ...options, activation: 'relu' });
      assert.equal(y.shape[0], 0);
      y.sum().backward();
      const label = `${c} -> ${o} ${k}x${k} ${JSON.stringify(options)}${pooled ? ' + pool' : ''}`;
      assert.ok(w.grad!.data.every((v) => v === 0) && b.grad!.data.every((v) => v === 0), `${label}: zero gradients`);
      assert.deepEqual(x.grad!.shape, [0, c, h, h], label);
    }
  }
});
