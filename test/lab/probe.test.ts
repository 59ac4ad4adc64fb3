// Mechanics of the equivariance measurement: a conv stack commutes with shifts to float error on the interior,
// pooling breaks it for shifts that are not a multiple of its stride, a locally connected layer does not commute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed } from '../../src/tensor/random.js';
import { Conv2d, LocallyConnected2d } from '../../src/nn/layers/conv.js';
import { ReLU } from '../../src/nn/layers/activation.js';
import { MaxPool2d } from '../../src/nn/layers/pooling.js';
import { Sequential } from '../../src/nn/layers/container.js';
import { Flatten, Linear } from '../../src/nn/layers/linear.js';
import { equivarianceError, interiorRange, leafLayers, shiftPlanes, traceLayers } from '../../src/lab/probe.js';
import { measureModel } from '../../src/lab/experiments/equivariance.js';
import { models } from '../../src/index.js';

function randomImages(n: number, h: number, w: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n * h * w);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

test('shiftPlanes moves content right/down and fills the border', () => {
  const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...shiftPlanes(x, [1, 1, 3, 3], 0, 1, -1)], [-1, 1, 2, -1, 4, 5, -1, 7, 8]);
  assert.deepEqual([...shiftPlanes(x, [1, 1, 3, 3], -1, 0, 0)], [4, 5, 6, 7, 8, 9, 0, 0, 0]);
});

test('interiorRange excludes units whose receptive field touches padding or the shifted-in border', () => {
  // 3x3 conv with padding 1 on 28 pixels: rf 3, jump 1, start 0 -> units 1..26 see no padding.
  assert.deepEqual(interiorRange(28, 3, 1, 0, 0, 28), [1, 26]);
  // With a 2-pixel margin for the shift: units 3..24.
  assert.deepEqual(interiorRange(28, 3, 1, 0, 2, 28), [3, 24]);
});

test('a conv+ReLU stack is translation-equivariant to float error on the interior; LC is not', () => {
  manualSeed(3);
  const conv = new Sequential(new Conv2d(1, 4, 3, { padding: 1 }), new ReLU(), new Conv2d(4, 4, 3, { padding: 1 }));
  const lc = new Sequential(new LocallyConnected2d(1, 4, 3, { padding: 1, inputSize: [16, 16] }));
  const shape = [2, 1, 16, 16] as const;
  const x = randomImages(2, 16, 16, 7);
  for (const dx of [1, 3]) {
    const sx = shiftPlanes(x, shape, 0, dx, 0);
    const a = traceLayers(conv, x, shape).at(-1)!;
    const b = traceLayers(conv, sx, shape).at(-1)!;
    const m = equivarianceError(a.data, b.data, a.shape, 0, dx, [1, 1], interiorRange(16, 5, 1, 0, 0, 16), interiorRange(16, 5, 1, 0, dx, 16));
    assert.ok(m.interiorPositions > 0);
    assert.ok(m.aligned);
    assert.ok(m.relativeError < 1e-6, `conv equivariance error ${m.relativeError}`);
    const la = traceLayers(lc, x, shape).at(-1)!;
    const lb = traceLayers(lc, sx, shape).at(-1)!;
    const l = equivarianceError(la.data, lb.data, la.shape, 0, dx, [1, 1], interiorRange(16, 3, 1, 0, 0, 16), interiorRange(16, 3, 1, 0, dx, 16));
    assert.ok(l.relativeError > 0.1, `LC error ${l.relativeError} should be large`);
  }
});

test('max pooling is exact for shifts by a multiple of its stride and not for odd shifts', () => {
  manualSeed(5);
  const net = new Sequential(new Conv2d(1, 3, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(3 * 8 * 8, 4));
  const x = randomImages(2, 16, 16, 11);
  const rows = measureModel('tiny', net, { data: x, shape: [2, 1, 16, 16] }, [1, 2]);
  const pool = rows.find((r) => r.type === 'MaxPool2d')!;
  assert.equal(pool.jump, 2);
  const [one, two] = pool.errors;
  assert.equal(one!.aligned, false);
  assert.ok(one!.relativeError > 1e-2, `1-px shift through pooling: ${one!.relativeError}`);
  assert.equal(two!.aligned, true);
  assert.ok(two!.relativeError < 1e-6, `2-px shift through pooling: ${two!.relativeError}`);
  const linear = rows.find((r) => r.type === 'Linear')!;
  assert.equal(linear.errors[0]!.metric, 'change');
});

test('traceLayers records every leaf in call order during the real forward, for chains and for residual nets', () => {
  manualSeed(1);
  const net = new Sequential(new Conv2d(1, 2, 3), new ReLU());
  assert.deepEqual(leafLayers(net).map((l) => l.path), ['0', '1']);
  const outs = traceLayers(net, randomImages(1, 6, 6, 1), [1, 1, 6, 6]);
  assert.deepEqual(outs.map((o) => o.shape), [[1, 2, 4, 4], [1, 2, 4, 4]]);
  // A forward that is not a chain: the leaf's own output is recorded (not the +1 after it), and a leaf called
  // twice is listed twice.
  const conv = new Conv2d(1, 1, 1);
  class Twice extends Sequential {
    override forward(x: Parameters<Sequential['forward']>[0]) { return conv.forward(super.forward(x)).add(1); }
  }
  const twice = new Twice(conv);
  const x = randomImages(1, 4, 4, 1);
  const traced = traceLayers(twice, x, [1, 1, 4, 4]);
  assert.deepEqual(traced.map((o) => o.path), ['0', '0 (call 2)']);
  const once = Array.from(x, (v) => v * conv.weight.data[0]! + conv.bias!.data[0]!);
  traced[0]!.data.forEach((v, i) => assert.ok(Math.abs(v - once[i]!) < 1e-6));
  // The wrappers are gone afterwards: forward is the class's again.
  assert.equal(Object.prototype.hasOwnProperty.call(conv, 'forward'), false);
  // A CIFAR ResNet: every convolution of every block, with the shapes summary() reports.
  const resnet = models.create('resnet20', { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
  const layers = traceLayers(resnet, randomImages(1, 28, 28, 1), [1, 1, 28, 28]);
  assert.equal(layers.filter((l) => l.type === 'Conv2d').length, 19);
  assert.deepEqual(layers.at(-1)!.shape, [1, 10]);
});
