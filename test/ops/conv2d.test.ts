// conv2d and locallyConnected2d against PyTorch (fixtures from tools/gen_fixtures.py): output and the
// gradients of x, weight and bias for a grid of strides, paddings (numbers, pairs, 'same', 'valid'),
// dilations, groups (including depthwise), kernel shapes and input sizes.
import { test } from 'node:test';
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
