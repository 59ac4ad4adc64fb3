// pad ([left, right, top, bottom], constant value) and concat (several tensors, any dim) against PyTorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../src/ops/index.js';
import { tensor } from '../../src/tensor/creation.js';
import { fixturesFor } from '../helpers/fixtures.js';
import { checkOutputAndGradients, fixtureLeaves } from '../helpers/op-fixture.js';

for (const c of fixturesFor('shape_ops', 'pad')) {
  test(`pad matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const t = fixtureLeaves(c, ['x']);
    const padding = c.params['padding'] as number[];
    checkOutputAndGradients(c, F.pad(t.x!, padding, c.num('value')), t);
  });
}

for (const c of fixturesFor('shape_ops', 'concat')) {
  test(`concat matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const names = Array.from({ length: c.num('count') }, (_, i) => `x${i}`);
    const t = fixtureLeaves(c, names);
    checkOutputAndGradients(c, F.concat(names.map((n) => t[n]!), c.num('dim')), t);
  });
}

test('concat keeps its own list of inputs: appending to the caller\'s array afterwards changes no gradient', () => {
  // DenseNet blocks concat their feature list, then push the next layer's output onto the same array.
  const a = tensor([1, 2], [1, 2], { requiresGrad: true }), b = tensor([3, 4, 5, 6], [2, 2], { requiresGrad: true });
  const late = tensor([7, 8], [1, 2], { requiresGrad: true });
  const features = [a, b];
  const y = F.concat(features, 0);
  features.push(late);
  F.mul(y, tensor([1, 2, 3, 4, 5, 6], [3, 2])).sum().backward();
  assert.deepEqual([...a.grad!.data], [1, 2]);
  assert.deepEqual([...b.grad!.data], [3, 4, 5, 6]);
  assert.equal(late.grad, null, 'a tensor appended after the concat is not one of its inputs');
});
