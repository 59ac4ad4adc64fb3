// Central-difference gradient checks (random cotangent; see test/helpers/gradcheck.ts for the bound) for the
// elementwise ops, activations and reductions. Non-smooth ops get inputs away from their kinks.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { awayFromKinks, distinct, gradcheck, normalData, randomLeaf } from '../helpers/gradcheck.js';

const H = 1e-2;
const MARGIN = 3 * H; // kinks stay further than the perturbation from every coordinate

function positiveLeaf(shape: number[], seed: number, low = 0.5): Tensor {
  const t = randomLeaf(shape, seed);
  for (let i = 0; i < t.data.length; i++) t.data[i] = low + Math.abs(t.data[i]!);
  return t;
}

/** b, and a = b + an offset of random sign and magnitude >= 0.1, so maximum/minimum never tie within h. */
function separatedPair(shapeA: number[], shapeB: number[], seed: number): [Tensor, Tensor] {
  const b = randomLeaf(shapeB, seed);
  const a = randomLeaf(shapeA, seed + 1);
  const bb = F.add(F.mul(new Tensor(new Float32Array(a.numel), shapeA), 0), b.detach()); // b broadcast to a's shape
  const offsets = normalData(a.numel, seed + 2);
  for (let i = 0; i < a.data.length; i++) a.data[i] = bb.data[i]! + Math.sign(offsets[i]!) * (0.1 + Math.abs(offsets[i]!));
  return [a, b];
}

const shapePairs: [string, number[], number[]][] = [
  ['same shape', [2, 3, 4], [2, 3, 4]], ['row broadcast', [2, 3, 4], [4]], ['column broadcast', [2, 3, 4], [3, 1]],
  ['both broadcast', [2, 1, 4], [1, 3, 1]], ['0-d operand', [3, 4], []],
];

for (const [name, sa, sb] of shapePairs) {
  test(`gradcheck add/sub/mul (${name})`, () => {
    for (const op of [F.add, F.sub, F.mul]) gradcheck(`${op.name} ${name}`, op, [randomLeaf(sa, 1), randomLeaf(sb, 2)]);
    gradcheck(`add ${name} reversed`, F.add, [randomLeaf(sb, 3), randomLeaf(sa, 4)]);
  });
  test(`gradcheck div (${name})`, () => {
    const b = randomLeaf(sb, 6);
    awayFromKinks(b, [0], 0.5);
    gradcheck(`div ${name}`, F.div, [randomLeaf(sa, 5), b]);
  });
  test(`gradcheck pow with a tensor exponent (${name})`, () => {
    gradcheck(`pow ${name}`, F.pow, [positiveLeaf(sa, 7), randomLeaf(sb, 8, 0.5)]);
  });
  test(`gradcheck maximum/minimum (${name})`, () => {
    const [a, b] = separatedPair(sa, sb, 9);
    gradcheck(`maximum ${name}`, F.maximum, [a, b]);
    gradcheck(`minimum ${name}`, F.minimum, [a, b]);
  });
}

test('gradcheck binary ops with a number operand', () => {
  gradcheck('add number', (x) => F.add(x, 1.5), [randomLeaf([3, 4], 10)]);
  gradcheck('number sub', (x) => F.sub(1.5, x), [randomLeaf([3, 4], 11)]);
  gradcheck('mul number', (x) => F.mul(x, -2.5), [randomLeaf([3, 4], 12)]);
  gradcheck('number div', (x) => F.div(2, x), [awayFromKinks(randomLeaf([3, 4], 13), [0], 0.5)]);
  gradcheck('pow number', (x) => F.pow(x, 2.5), [positiveLeaf([3, 4], 14)]);
  gradcheck('number pow', (x) => F.pow(1.7, x), [randomLeaf([3, 4], 15)]);
  gradcheck('maximum number', (x) => F.maximum(x, 0.3), [awayFromKinks(randomLeaf([3, 4], 16), [0.3], MARGIN)]);
  gradcheck('minimum number', (x) => F.minimum(x, 0.3), [awayFromKinks(randomLeaf([3, 4], 17), [0.3], MARGIN)]);
});

test('gradcheck unary ops', () => {
  gradcheck('neg', F.neg, [randomLeaf([3, 5], 20)]);
  gradcheck('exp', F.exp, [randomLeaf([3, 5], 21)]);
  gradcheck('log', F.log, [positiveLeaf([3, 5], 22, 0.3)]);
  gradcheck('sqrt', F.sqrt, [positiveLeaf([3, 5], 23, 0.3)]);
  gradcheck('abs', F.abs, [awayFromKinks(randomLeaf([3, 5], 24), [0], MARGIN)]);
  gradcheck('square', F.square, [randomLeaf([3, 5], 25)]);
  gradcheck('clone', F.clone, [randomLeaf([3, 5], 26)]);
  gradcheck('clamp', (x) => F.clamp(x, -0.5, 0.7), [awayFromKinks(randomLeaf([4, 5], 27), [-0.5, 0.7], MARGIN)]);
  gradcheck('clamp min only', (x) => F.clamp(x, -0.3), [awayFromKinks(randomLeaf([4, 5], 28), [-0.3], MARGIN)]);
});

test('gradcheck activations', () => {
  const kinked = (seed: number) => awayFromKinks(randomLeaf([2, 3, 4, 5], seed, 2), [0], MARGIN);
  gradcheck('relu', F.relu, [kinked(30)]);
  gradcheck('leakyRelu 0.2', (x) => F.leakyRelu(x, 0.2), [kinked(31)]);
  gradcheck('leakyRelu default', (x) => F.leakyRelu(x), [kinked(32)]);
  gradcheck('elu', (x) => F.elu(x), [kinked(33)]);
  gradcheck('elu 0.5', (x) => F.elu(x, 0.5), [kinked(34)]);
  gradcheck('gelu', F.gelu, [randomLeaf([2, 3, 4, 5], 35, 2)]);
  gradcheck('sigmoid', F.sigmoid, [randomLeaf([2, 3, 4, 5], 36, 3)]);
  gradcheck('tanh', F.tanh, [randomLeaf([2, 3, 4, 5], 37, 2)]);
  gradcheck('softmax last', (x) => F.softmax(x, -1), [randomLeaf([2, 3, 4, 5], 38, 2)]);
  gradcheck('softmax dim 1', (x) => F.softmax(x, 1), [randomLeaf([2, 3, 4, 5], 39, 2)]);
  gradcheck('logSoftmax last', (x) => F.logSoftmax(x, -1), [randomLeaf([2, 3, 4, 5], 40, 2)]);
  gradcheck('logSoftmax dim 0', (x) => F.logSoftmax(x, 0), [randomLeaf([2, 3, 4, 5], 41, 2)]);
});

test('gradcheck sum and mean over all, one and several dims, keepdim', () => {
  for (const [dim, keepdim] of [[undefined, false], [0, false], [1, true], [-1, false], [[0, 2], true], [[1, 2, 3], false]] as const) {
    const d = dim as number | number[] | undefined;
    gradcheck(`sum ${JSON.stringify(dim)} ${keepdim}`, (x) => F.sum(x, d, keepdim), [randomLeaf([2, 3, 4, 5], 50)]);
    gradcheck(`mean ${JSON.stringify(dim)} ${keepdim}`, (x) => F.mean(x, d, keepdim), [randomLeaf([2, 3, 4, 5], 51)]);
  }
});

test('gradcheck max and min over all and one dim (distinct values)', () => {
  for (const [dim, keepdim] of [[undefined, false], [0, false], [1, true], [-1, false], [2, true]] as const) {
    const x = () => distinct(randomLeaf([2, 3, 4, 5], 60), 61);
    // every coordinate: the gradient is sparse (one winner per reduced slice)
    gradcheck(`max ${dim} ${keepdim}`, (t) => F.max(t, dim, keepdim), [x()], { maxCoordinates: Infinity });
    gradcheck(`min ${dim} ${keepdim}`, (t) => F.min(t, dim, keepdim), [x()], { maxCoordinates: Infinity });
  }
});
