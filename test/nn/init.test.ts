import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nn from '../../src/nn/index.js';
import { zeros } from '../../src/tensor/creation.js';
import { manualSeed, Generator } from '../../src/tensor/random.js';

const stats = (d: Float32Array): { mean: number; std: number; min: number; max: number } => {
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (const v of d) { s += v; s2 += v * v; min = Math.min(min, v); max = Math.max(max, v); }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(s2 / d.length - mean * mean), min, max };
};

test('calculateFanInAndFanOut and calculateGain match PyTorch', () => {
  assert.deepEqual(nn.init.calculateFanInAndFanOut([16, 6, 5, 5]), { fanIn: 150, fanOut: 400 });
  assert.deepEqual(nn.init.calculateFanInAndFanOut([10, 784]), { fanIn: 784, fanOut: 10 });
  assert.throws(() => nn.init.calculateFanInAndFanOut([5]), /at least 2 dimensions/);
  assert.equal(nn.init.calculateGain('relu'), Math.SQRT2);
  assert.equal(nn.init.calculateGain('tanh'), 5 / 3);
  assert.ok(Math.abs(nn.init.calculateGain('leakyRelu', Math.sqrt(5)) - Math.sqrt(1 / 3)) < 1e-15);
  assert.ok(Math.abs(nn.init.calculateGain('leakyRelu') - Math.sqrt(2 / 1.0001)) < 1e-15);
});

test('default Conv2d / Linear init: weight and bias within 1/sqrt(fanIn), roughly uniform', () => {
  manualSeed(0);
  const conv = new nn.Conv2d(16, 32, 3);
  const bound = 1 / Math.sqrt(16 * 9);
  const w = stats(conv.weight.data);
  assert.ok(w.max <= bound && w.min >= -bound);
  assert.ok(w.max > 0.98 * bound && w.min < -0.98 * bound, 'fills the interval');
  assert.ok(Math.abs(w.std - bound / Math.sqrt(3)) < 0.03 * bound, `std ${w.std} vs ${bound / Math.sqrt(3)}`);
  const b = stats(conv.bias!.data);
  assert.ok(b.max <= bound && b.min >= -bound);
  const fc = new nn.Linear(400, 120);
  const fb = 1 / Math.sqrt(400);
  const fw = stats(fc.weight.data);
  assert.ok(fw.max <= fb && fw.min >= -fb && Math.abs(fw.mean) < 0.02 * fb);
  const bn = new nn.BatchNorm2d(4);
  assert.deepEqual([...bn.weight!.data], [1, 1, 1, 1]);
  assert.deepEqual([...bn.bias!.data], [0, 0, 0, 0]);
});

test('manualSeed makes layer initialisation reproducible', () => {
  manualSeed(42);
  const a = new nn.Linear(30, 20);
  manualSeed(42);
  const b = new nn.Linear(30, 20);
  assert.deepEqual(a.weight.data, b.weight.data);
  assert.deepEqual(a.bias!.data, b.bias!.data);
  const c = new nn.Linear(30, 20);
  assert.notDeepEqual(a.weight.data, c.weight.data);
});

test('kaiming and xavier: standard deviations and bounds', () => {
  manualSeed(3);
  const t = zeros([256, 128, 3, 3]); // fanIn 1152, fanOut 2304
  const kn = stats(nn.init.kaimingNormal_(t, { mode: 'fanOut', nonlinearity: 'relu' }).data);
  assert.ok(Math.abs(kn.std - Math.sqrt(2 / 2304)) < 0.01 * Math.sqrt(2 / 2304), `kaimingNormal std ${kn.std}`);
  assert.ok(Math.abs(kn.mean) < 1e-3);
  const ku = stats(nn.init.kaimingUniform_(t, { nonlinearity: 'relu' }).data);
  const kuBound = Math.sqrt(2) * Math.sqrt(3 / 1152);
  assert.ok(ku.max <= kuBound && ku.min >= -kuBound && ku.max > 0.99 * kuBound);
  const xu = stats(nn.init.xavierUniform_(t, 2).data);
  const xuBound = 2 * Math.sqrt(6 / (1152 + 2304));
  assert.ok(xu.max <= xuBound && xu.min >= -xuBound && xu.max > 0.99 * xuBound);
  const xn = stats(nn.init.xavierNormal_(t).data);
  assert.ok(Math.abs(xn.std - Math.sqrt(2 / 3456)) < 0.01 * Math.sqrt(2 / 3456));
  const nrm = stats(nn.init.normal_(t, 3, 0.5).data);
  assert.ok(Math.abs(nrm.mean - 3) < 0.01 && Math.abs(nrm.std - 0.5) < 0.01);
  const uni = stats(nn.init.uniform_(t, -1, 2).data);
  assert.ok(uni.min >= -1 && uni.max < 2 && Math.abs(uni.mean - 0.5) < 0.01);
  assert.ok(nn.init.zeros_(t).data.every((v) => v === 0));
  assert.ok(nn.init.ones_(t).data.every((v) => v === 1));
  assert.ok(nn.init.constant_(t, 0.25).data.every((v) => v === 0.25));
});

test('an explicit generator leaves the default one alone', () => {
  manualSeed(9);
  const before = new nn.Linear(4, 4).weight.toFloat32Array();
  manualSeed(9);
  nn.init.normal_(zeros([100]), 0, 1, { generator: new Generator(1) });
  assert.deepEqual(new nn.Linear(4, 4).weight.toFloat32Array(), before);
});
