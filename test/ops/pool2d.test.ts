// Pooling against PyTorch: maxPool2d / avgPool2d (ceilMode, padding, countIncludePad, divisorOverride,
// non-square kernels and strides) and adaptive average / max pooling (sizes that divide and that do not).
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import { fixturesFor, type FixtureCase } from '../helpers/fixtures.js';
import { checkOutputAndGradients, fixtureLeaves } from '../helpers/op-fixture.js';

function poolOptions(c: FixtureCase) {
  return {
    kernelSize: c.intOrPair('kernelSize'),
    ...(c.params['stride'] !== undefined ? { stride: c.intOrPair('stride') } : {}),
    padding: c.intOrPair('padding'),
    ceilMode: c.bool('ceilMode'),
  };
}

for (const c of fixturesFor('pool2d', 'maxPool2d')) {
  const dilation = c.intOrPair('dilation');
  // PyTorch's max_pool2d has dilation; convkit's maxPool2d rejects dilation != 1 (reported to the lead).
  test(`maxPool2d matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const t = fixtureLeaves(c, ['x']);
    const y = F.maxPool2d(t.x!, { ...poolOptions(c), ...(dilation !== 1 ? { dilation: dilation as number } : {}) });
    checkOutputAndGradients(c, y, t);
  });
}

for (const c of fixturesFor('pool2d', 'avgPool2d')) {
  test(`avgPool2d matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const t = fixtureLeaves(c, ['x']);
    const divisorOverride = c.optionalNum('divisorOverride');
    const y = F.avgPool2d(t.x!, {
      ...poolOptions(c), countIncludePad: c.bool('countIncludePad'), ...(divisorOverride !== undefined ? { divisorOverride } : {}),
    });
    checkOutputAndGradients(c, y, t);
  });
}

for (const op of ['adaptiveAvgPool2d', 'adaptiveMaxPool2d'] as const) {
  for (const c of fixturesFor('pool2d', op)) {
    test(`${op} matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
      const t = fixtureLeaves(c, ['x']);
      const y = F[op](t.x!, c.intOrPair('outputSize'));
      checkOutputAndGradients(c, y, t);
    });
  }
}

test('globalAvgPool2d equals adaptiveAvgPool2d(1) from PyTorch', () => {
  for (const c of fixturesFor('pool2d', 'adaptiveAvgPool2d').filter((k) => k.params['outputSize'] === 1)) {
    const t = fixtureLeaves(c, ['x']);
    checkOutputAndGradients(c, F.globalAvgPool2d(t.x!), t);
  }
});
