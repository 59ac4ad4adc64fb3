// Central-difference gradient checks (random cotangent; bound in test/helpers/gradcheck.ts) for the shape
// ops (reshape, flatten, permute, transpose, narrow, select, concat, pad) and matmul / linear.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import { gradcheck, randomLeaf } from '../helpers/gradcheck.js';

test('gradcheck shape ops', () => {
  // a random cotangent makes even a pure permutation of values a real check: a wrong index order fails
  gradcheck('reshape', (x) => F.reshape(x, [4, 6]), [randomLeaf([2, 3, 4], 1)]);
  gradcheck('flatten 1..', (x) => F.flatten(x, 1), [randomLeaf([2, 3, 2, 2], 2)]);
  gradcheck('permute', (x) => F.permute(x, [2, 0, 3, 1]), [randomLeaf([2, 3, 4, 2], 3)]);
  gradcheck('transpose', (x) => F.transpose(x, 0, 2), [randomLeaf([2, 3, 4], 4)]);
  gradcheck('narrow', (x) => F.narrow(x, 1, 1, 2), [randomLeaf([2, 4, 3], 5)]);
  gradcheck('select', (x) => F.select(x, 2, 1), [randomLeaf([2, 3, 4], 6)]);
  gradcheck('concat dim 1', (a, b, c) => F.concat([a, b, c], 1), [randomLeaf([2, 1, 3], 7), randomLeaf([2, 3, 3], 8), randomLeaf([2, 2, 3], 9)]);
  gradcheck('concat last', (a, b) => F.concat([a, b], -1), [randomLeaf([2, 3, 2], 10), randomLeaf([2, 3, 1], 11)]);
  gradcheck('pad', (x) => F.pad(x, [1, 2, 0, 3], -1), [randomLeaf([1, 2, 3, 4], 12)]);
});

test('gradcheck matmul (2-D, batched, batched by 2-D, broadcast batch dims) and linear', () => {
  gradcheck('matmul 2-D', F.matmul, [randomLeaf([4, 6], 20), randomLeaf([6, 3], 21)]);
  gradcheck('matmul batched', F.matmul, [randomLeaf([3, 4, 5], 22), randomLeaf([3, 5, 2], 23)]);
  gradcheck('matmul batched by 2-D', F.matmul, [randomLeaf([2, 3, 4], 24), randomLeaf([4, 5], 25)]);
  gradcheck('matmul broadcast batch dims', F.matmul, [randomLeaf([2, 1, 3, 4], 31), randomLeaf([3, 4, 2], 32)]);
  gradcheck('linear', (x, w, b) => F.linear(x, w, b), [randomLeaf([5, 7], 26), randomLeaf([4, 7], 27, 0.4), randomLeaf([4], 28)]);
  gradcheck('linear 3-D input, no bias', (x, w) => F.linear(x, w), [randomLeaf([2, 3, 4], 29), randomLeaf([6, 4], 30, 0.5)]);
});
