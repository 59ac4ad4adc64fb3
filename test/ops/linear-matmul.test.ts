// linear (2-D and 3-D inputs, with and without bias) and matmul (2-D, batched, batched by 2-D, 4-D and
// broadcast batch dimensions) against PyTorch.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import { fixturesFor } from '../helpers/fixtures.js';
import { checkOutputAndGradients, fixtureLeaves } from '../helpers/op-fixture.js';

for (const c of fixturesFor('linear_matmul', 'linear')) {
  test(`linear matches PyTorch: ${c.name}`, () => {
    const t = fixtureLeaves(c, ['x', 'w', 'b']);
    checkOutputAndGradients(c, F.linear(t.x!, t.w!, t.b ?? null), t);
  });
}

for (const c of fixturesFor('linear_matmul', 'matmul')) {
  // torch.matmul also takes more than one batch dimension and broadcasts them; convkit's matmul stops at 3-D
  // (reported to the lead). These cases run, and count, once it does.
  test(`matmul matches PyTorch: ${c.name} ${JSON.stringify(c.shape('a'))} @ ${JSON.stringify(c.shape('b'))}`, () => {
    const t = fixtureLeaves(c, ['a', 'b']);
    checkOutputAndGradients(c, F.matmul(t.a!, t.b!), t);
  });
}
