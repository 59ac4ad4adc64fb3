// Cross-entropy (and softmax / logSoftmax) are invariant to adding a constant to the logits: the loss and
// its gradient do not change, whether one constant for the batch or one per row.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/compare.js';
import { normalData } from '../helpers/gradcheck.js';

const N = 5, C = 7;
const target = Int32Array.from([0, 6, 3, 3, 1]);
const weight = new Tensor(Float32Array.from({ length: C }, (_, i) => 0.4 + 0.2 * i), [C]);

function logits(seed: number): Tensor {
  const t = new Tensor(normalData(N * C, seed, 2), [N, C]);
  t.requiresGrad = true;
  return t;
}
function shifted(base: Tensor, perRow: (row: number) => number): Tensor {
  const data = base.data.map((v, i) => v + perRow(Math.floor(i / C)));
  const t = new Tensor(data, base.shape);
  t.requiresGrad = true;
  return t;
}

const variants: [string, F.CrossEntropyOptions][] = [
  ['mean', {}], ['sum', { reduction: 'sum' }], ['none', { reduction: 'none' }],
  ['label smoothing + class weights', { labelSmoothing: 0.15, weight }],
];
const constants: [string, (row: number) => number][] = [
  ['+7.5 everywhere', () => 7.5], ['-3 everywhere', () => -3], ['a different constant per row', (r) => 4 * r - 9],
];

for (const [name, options] of variants) {
  test(`crossEntropy (${name}) is unchanged by adding a constant to the logits`, () => {
    const base = logits(1);
    const loss = F.crossEntropy(base, target, options);
    const gy = new Tensor(normalData(loss.numel, 2), loss.shape);
    loss.backward(gy);
    for (const [cname, perRow] of constants) {
      const moved = shifted(base, perRow);
      const movedLoss = F.crossEntropy(moved, target, options);
      assertClose(movedLoss, loss.data, `${name}, ${cname}: loss`);
      movedLoss.backward(gy);
      assertClose(moved.grad!, base.grad!.data, `${name}, ${cname}: gradient`);
    }
  });
}

test('softmax and logSoftmax shift with the logits as they should', () => {
  const base = logits(3);
  const moved = shifted(base, (r) => 2 * r + 1);
  assertClose(F.softmax(moved, -1), F.softmax(base, -1).data, 'softmax(x + c) = softmax(x)');
  assertClose(F.logSoftmax(moved, -1), F.logSoftmax(base, -1).data, 'logSoftmax(x + c) = logSoftmax(x)');
});
