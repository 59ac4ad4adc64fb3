// Optimizer state read back from a file (found by the fuzz harness, issue 17): moments replaced by numbers, a step
// count that is a string, or betas out of range were accepted and broke the next step ("number 5000000 is not
// iterable", NaN updates). loadStateDict now refuses them with a message naming the entry, and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parameter } from '../../src/nn/module.js';
import { Adam } from '../../src/optim/adam.js';
import { SGD } from '../../src/optim/sgd.js';
import type { OptimizerStateDict } from '../../src/optim/optimizer.js';

function trainedAdam(): { opt: Adam; sd: OptimizerStateDict } {
  const p = new Parameter(new Float32Array([1, 2, 3]), [3]);
  const opt = new Adam([p], { lr: 0.1 });
  p.grad = new Parameter(new Float32Array([0.5, -0.5, 1]), [3], false);
  opt.step();
  return { opt, sd: opt.stateDict() };
}

test('hostile optimizer state is refused by name, and the optimizer is left as it was', () => {
  const cases: [string, (sd: OptimizerStateDict) => void, RegExp][] = [
    ['expAvg = -1', (sd) => { (sd.state as Record<string, Record<string, unknown>>)['0']!.expAvg = -1; }, /state 0\.expAvg must be a tensor of 3 values, got -1/],
    ['step = "1e999"', (sd) => { (sd.state as Record<string, Record<string, unknown>>)['0']!.step = '1e999'; }, /state 0\.step must be a non-negative integer, got "1e999"/],
    ['step = 1.5', (sd) => { (sd.state as Record<string, Record<string, unknown>>)['0']!.step = 1.5; }, /state 0\.step must be a non-negative integer/],
    ['betas = [5000000, 0.999]', (sd) => { (sd.paramGroups[0] as Record<string, unknown>).betas = [5_000_000, 0.999]; }, /group 0: Adam: invalid beta1 5000000/],
    ['lr = -1', (sd) => { (sd.paramGroups[0] as Record<string, unknown>).lr = -1; }, /group 0: Adam: invalid learning rate -1/],
  ];
  for (const [label, edit, pattern] of cases) {
    const { opt, sd } = trainedAdam();
    const before = JSON.stringify(opt.paramGroups.map((g) => ({ ...g, params: [] })));
    const copy = structuredClone(sd);
    edit(copy);
    assert.throws(() => opt.loadStateDict(copy), pattern, label);
    assert.equal(JSON.stringify(opt.paramGroups.map((g) => ({ ...g, params: [] }))), before, `${label}: the groups changed`);
  }
  // An intact state dict still loads, and SGD's momentum buffer too.
  const { opt, sd } = trainedAdam();
  assert.doesNotThrow(() => opt.loadStateDict(structuredClone(sd)));
  const q = new Parameter(new Float32Array([1, 1]), [2]);
  const sgd = new SGD([q], { lr: 0.1, momentum: 0.9 });
  q.grad = new Parameter(new Float32Array([1, 1]), [2], false);
  sgd.step();
  assert.doesNotThrow(() => sgd.loadStateDict(structuredClone(sgd.stateDict())));
});
