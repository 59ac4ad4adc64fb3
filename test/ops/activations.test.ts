// Activations, softmax / logSoftmax and localResponseNorm against PyTorch (inputs scaled to reach the
// saturated regions of sigmoid / tanh / elu; gelu is the exact erf form).
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';
import { checkOutputAndGradients, fixtureLeaves } from '../helpers/op-fixture.js';

const run: Record<string, (x: Tensor, c: FixtureCase) => Tensor> = {
  relu: (x) => F.relu(x),
  leakyRelu: (x, c) => (c.params['negativeSlope'] === undefined ? F.leakyRelu(x) : F.leakyRelu(x, c.num('negativeSlope'))),
  elu: (x, c) => (c.params['alpha'] === undefined ? F.elu(x) : F.elu(x, c.num('alpha'))),
  gelu: (x) => F.gelu(x),
  sigmoid: (x) => F.sigmoid(x),
  tanh: (x) => F.tanh(x),
  softmax: (x, c) => F.softmax(x, c.num('dim')),
  logSoftmax: (x, c) => F.logSoftmax(x, c.num('dim')),
  localResponseNorm: (x, c) => F.localResponseNorm(x, { size: c.num('size'), alpha: c.num('alpha'), beta: c.num('beta'), k: c.num('k') }),
};

for (const c of loadFixtures('activations')) {
  test(`${c.op} matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const fn = run[c.op];
    if (!fn) throw new Error(`no runner for ${c.op}`);
    const t = fixtureLeaves(c, ['x']);
    checkOutputAndGradients(c, fn(t.x!, c), t);
  });
}
