// The shape-only index plans elementwise kernels take (src/backend/loop-plans.ts): merged broadcast dims and
// (k1, r1, k2, r2) reductions. The kernels' results are checked against reference in wasm-kernels.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBroadcast, planReduce } from '../../src/backend/loop-plans.js';

test('planBroadcast merges dims both inputs walk as one run, keeps broadcast strides at 0, and gives one dim for scalars', () => {
  assert.deepEqual(planBroadcast([2, 3, 4], [4], [2, 3, 4]), { dims: [6, 4], sa: [4, 1], sb: [0, 1] });
  assert.deepEqual(planBroadcast([3, 5, 7], [3, 5, 7], [3, 5, 7]), { dims: [105], sa: [1], sb: [1] });
  assert.deepEqual(planBroadcast([4, 1], [1, 6], [4, 6]), { dims: [4, 6], sa: [1, 0], sb: [0, 1] });
  assert.deepEqual(planBroadcast([1], [1, 1], [1, 1]), { dims: [1], sa: [0], sb: [0] });
});

test('planReduce: kept and reduced runs as (k1, r1, k2, r2), rows as contiguous runs, null past four runs', () => {
  assert.deepEqual(planReduce([4, 3, 6, 5], [0, 2, 3]), [1, 4, 3, 30]);
  assert.deepEqual(planReduce([5, 9], [1]), [5, 1, 1, 9]);
  assert.deepEqual(planReduce([5, 9], [0]), [1, 5, 9, 1]);
  assert.deepEqual(planReduce([3, 1, 4], [1]), [12, 1, 1, 1]);
  assert.equal(planReduce([2, 3, 4, 5, 2], [0, 2, 4]), null);
});
