// Central-difference gradient checks (random cotangent; bound in test/helpers/gradcheck.ts) for the shape
// ops (reshape, flatten, permute, transpose, narrow, select, concat, pad) and matmul / linear.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import { gradcheck, randomLeaf } from '../helpers/gradcheck.js';
import { noGrad } from '../../src/autograd/tape.js';
import type { Tensor } from '../../src/tensor/tensor.js';

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

// The fused ops (F.linear / F.conv2d with `activation`). ReLU is only differentiable away from its kink, so
// for relu the inputs are drawn from the first seed whose pre-activations all lie further from 0 than any
// central-difference step can move them (step 1e-2 times the largest input/weight magnitude, doubled).
function kinkSafeSeed(make: (seed: number) => Tensor[], pre: (...xs: Tensor[]) => Tensor): Tensor[] {
  for (let seed = 100; seed < 400; seed++) {
    const inputs = make(seed);
    const scale = Math.max(1, ...inputs.map((t) => Math.max(...Array.from(t.data, Math.abs))));
    const z = noGrad(() => pre(...inputs));
    if (Array.from(z.data).every((v) => Math.abs(v) > 4e-2 * scale)) return inputs;
  }
  throw new Error('no seed keeps the pre-activations away from the relu kink');
}

test('gradcheck fused linear and conv2d with relu, sigmoid and tanh', () => {
  for (const activation of ['relu', 'sigmoid', 'tanh'] as const) {
    const linearInputs = (s: number) => [randomLeaf([3, 5], s), randomLeaf([4, 5], s + 1000, 0.4), randomLeaf([4], s + 2000)];
    const linearLeaves = activation === 'relu' ? kinkSafeSeed(linearInputs, (x, w, b) => F.linear(x, w, b)) : linearInputs(60);
    gradcheck(`linear ${activation}`, (x, w, b) => F.linear(x, w, b, { activation }), linearLeaves);
    const convInputs = (s: number) => [randomLeaf([1, 2, 4, 4], s), randomLeaf([2, 2, 2, 2], s + 1000, 0.4), randomLeaf([2], s + 2000)];
    const conv = { stride: 1, padding: 0 } as const;
    const convLeaves = activation === 'relu' ? kinkSafeSeed(convInputs, (x, w, b) => F.conv2d(x, w, b, conv)) : convInputs(70);
    gradcheck(`conv2d ${activation}`, (x, w, b) => F.conv2d(x, w, b, { ...conv, activation }), convLeaves);
  }
});
