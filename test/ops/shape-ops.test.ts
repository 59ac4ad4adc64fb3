// pad ([left, right, top, bottom], constant value) and concat (several tensors, any dim) against PyTorch.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
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
