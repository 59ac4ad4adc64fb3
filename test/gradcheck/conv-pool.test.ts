// Central-difference gradient checks (random cotangent; bound in test/helpers/gradcheck.ts) for conv2d,
// locallyConnected2d and every pool. Max pools get distinct inputs so no window has a near-tie.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { distinct, gradcheck, randomLeaf } from '../helpers/gradcheck.js';

const convConfigs: [string, number[], number[], F.Conv2dOptions][] = [
  ['3x3 stride 1 pad 1', [2, 3, 6, 5], [4, 3, 3, 3], { padding: 1 }],
  ['stride 2 dilation 2 pad 2', [1, 2, 9, 8], [3, 2, 3, 3], { stride: 2, padding: 2, dilation: 2 }],
  ['groups 2, 2x3 kernel', [2, 4, 5, 6], [4, 2, 2, 3], { groups: 2, padding: [1, 0] }],
  ['depthwise stride 3', [1, 3, 7, 7], [3, 1, 3, 3], { groups: 3, stride: 3, padding: 1 }],
  ['1x1', [2, 3, 4, 3], [2, 3, 1, 1], {}],
  ["'same' even kernel", [1, 2, 5, 6], [2, 2, 4, 4], { padding: 'same' }],
];

for (const [name, xs, ws, options] of convConfigs) {
  test(`gradcheck conv2d ${name} (x, weight, bias)`, () => {
    gradcheck(`conv2d ${name}`, (x, w, b) => F.conv2d(x, w, b, options), [randomLeaf(xs, 1), randomLeaf(ws, 2, 0.5), randomLeaf([ws[0]!], 3)]);
  });
}

test('gradcheck conv2d without bias', () => {
  gradcheck('conv2d no bias', (x, w) => F.conv2d(x, w, null, { stride: 2 }), [randomLeaf([2, 2, 5, 5], 4), randomLeaf([3, 2, 3, 3], 5)]);
});

test('gradcheck locallyConnected2d (x, weight, bias)', () => {
  // x [1,2,5,4], kernel 3x2, stride [1,2], padding [1,0] -> out 5x2 = 10 positions
  gradcheck('locallyConnected2d', (x, w, b) => F.locallyConnected2d(x, w, b, { stride: [1, 2], padding: [1, 0] }),
    [randomLeaf([1, 2, 5, 4], 6), randomLeaf([10, 3, 2, 3, 2], 7, 0.5), randomLeaf([3, 5, 2], 8)]);
  gradcheck('locallyConnected2d dilation 2, no bias', (x, w) => F.locallyConnected2d(x, w, null, { dilation: 2 }),
    [randomLeaf([2, 2, 6, 6], 9), randomLeaf([4, 2, 2, 3, 3], 10, 0.5)]);
});

const maxPoolConfigs: [string, number[], F.Pool2dOptions & { dilation?: number }][] = [
  ['k2', [2, 2, 6, 4], { kernelSize: 2 }],
  ['k3 s2 p1', [1, 3, 7, 6], { kernelSize: 3, stride: 2, padding: 1 }],
  ['k3 s2 p1 ceil', [1, 2, 8, 7], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }],
  ['k2x3 overlapping', [1, 2, 5, 7], { kernelSize: [2, 3], stride: 1 }],
  ['k3 dilation 2 ceil', [1, 2, 9, 8], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, dilation: 2 }],
];
for (const [name, xs, options] of maxPoolConfigs) {
  test(`gradcheck maxPool2d ${name}`, () => {
    gradcheck(`maxPool2d ${name}`, (x) => F.maxPool2d(x, options), [distinct(randomLeaf(xs, 11), 12)], { maxCoordinates: Infinity });
  });
}

const avgPoolConfigs: [string, number[], F.AvgPool2dOptions][] = [
  ['k2', [2, 2, 6, 4], { kernelSize: 2 }],
  ['k3 s2 p1 countIncludePad', [1, 3, 7, 6], { kernelSize: 3, stride: 2, padding: 1 }],
  ['k3 s2 p1 exclude pad', [1, 3, 7, 6], { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }],
  ['k3 s2 p1 ceil exclude pad', [1, 2, 8, 7], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }],
  ['k2 ceil divisorOverride 3', [1, 2, 5, 5], { kernelSize: 2, ceilMode: true, divisorOverride: 3 }],
];
for (const [name, xs, options] of avgPoolConfigs) {
  test(`gradcheck avgPool2d ${name}`, () => {
    gradcheck(`avgPool2d ${name}`, (x) => F.avgPool2d(x, options), [randomLeaf(xs, 13)]);
  });
}

test('gradcheck adaptive and global pools', () => {
  for (const [xs, out] of [[[2, 2, 6, 4], [3, 2]], [[1, 3, 7, 5], [3, 2]], [[1, 2, 3, 4], [5, 6]]] as [number[], [number, number]][]) {
    gradcheck(`adaptiveAvgPool2d ${xs} -> ${out}`, (x) => F.adaptiveAvgPool2d(x, out), [randomLeaf(xs, 14)]);
    gradcheck(`adaptiveMaxPool2d ${xs} -> ${out}`, (x) => F.adaptiveMaxPool2d(x, out), [distinct(randomLeaf(xs, 15), 16)], { maxCoordinates: Infinity });
  }
  gradcheck('globalAvgPool2d', (x: Tensor) => F.globalAvgPool2d(x), [randomLeaf([2, 3, 4, 5], 17)]);
});
