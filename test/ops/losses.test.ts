// Losses against PyTorch: crossEntropy (reduction mean/sum/none, label smoothing, class weights, both, ignoreIndex,
// [N, C, H, W] logits),
// nllLoss (with and without weights, ignoreIndex), mseLoss and bceWithLogits (with and without posWeight).
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import { fixturesFor, type FixtureCase } from '../helpers/fixtures.js';
import { checkOutputAndGradients, fixtureLeaves } from '../helpers/op-fixture.js';

function reduction(c: FixtureCase): 'mean' | 'sum' | 'none' {
  const r = c.str('reduction');
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${c.label}: unknown reduction ${r}`);
  return r;
}

for (const c of fixturesFor('losses', 'crossEntropy')) {
  test(`crossEntropy matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const t = fixtureLeaves(c, ['logits']);
    const y = F.crossEntropy(t.logits!, c.i32('target'), {
      reduction: reduction(c), labelSmoothing: c.num('labelSmoothing'), weight: c.optionalTensor('weight'),
      ignoreIndex: c.optionalNum('ignoreIndex'),
    });
    checkOutputAndGradients(c, y, t);
  });
}

for (const c of fixturesFor('losses', 'nllLoss')) {
  test(`nllLoss matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const t = fixtureLeaves(c, ['input']);
    const y = F.nllLoss(t.input!, c.i32('target'), { reduction: reduction(c), weight: c.optionalTensor('weight'), ignoreIndex: c.optionalNum('ignoreIndex') });
    checkOutputAndGradients(c, y, t);
  });
}

for (const c of fixturesFor('losses', 'mseLoss')) {
  test(`mseLoss matches PyTorch (gradients of input and target): ${c.name}`, () => {
    const t = fixtureLeaves(c, ['input', 'target']);
    const y = F.mseLoss(t.input!, t.target!, { reduction: reduction(c) });
    checkOutputAndGradients(c, y, t);
  });
}

for (const c of fixturesFor('losses', 'bceWithLogits')) {
  test(`bceWithLogits matches PyTorch: ${c.name} ${JSON.stringify(c.params)}`, () => {
    const t = fixtureLeaves(c, ['input']);
    const y = F.bceWithLogits(t.input!, c.tensor('target'), { reduction: reduction(c), posWeight: c.optionalTensor('posWeight') });
    checkOutputAndGradients(c, y, t);
  });
}
