// batchNorm against PyTorch for [N,C], [N,C,L] and [N,C,H,W]: training (batch statistics, running-stat update
// with momentum and the unbiased variance) and eval (running statistics), with and without affine parameters.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/compare.js';
import { checkOutputAndGradients, fixtureLeaves } from '../helpers/op-fixture.js';

for (const c of loadFixtures('batch_norm')) {
  test(`batchNorm matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const t = fixtureLeaves(c, ['x', 'weight', 'bias']);
    const runningMean = c.tensor('running_mean'), runningVar = c.tensor('running_var');
    const y = F.batchNorm(t.x!, runningMean, runningVar, t.weight ?? null, t.bias ?? null, {
      training: c.bool('training'), momentum: c.num('momentum'), eps: c.num('eps'),
    });
    assertClose(runningMean, c.f32('running_mean_after'), `${c.label} running mean after the step`);
    assertClose(runningVar, c.f32('running_var_after'), `${c.label} running variance after the step`);
    checkOutputAndGradients(c, y, t);
  });
}

test('batchNorm in training mode without running statistics still normalises by the batch', () => {
  for (const c of loadFixtures('batch_norm').filter((k) => k.bool('training'))) {
    const t = fixtureLeaves(c, ['x', 'weight', 'bias']);
    const y = F.batchNorm(t.x!, null, null, t.weight ?? null, t.bias ?? null, { training: true, momentum: c.num('momentum'), eps: c.num('eps') });
    checkOutputAndGradients(c, y, t);
  }
});
