import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as models from '../../src/models/index.js';
import { layerLedger, modelLedger, formatLayerLedger, formatModelLedger, defaultLedgerGeometry } from '../../src/inspect/index.js';

test('the seed\'s arithmetic: 200x200x3 into 1000 dense units costs 120,001,000 parameters', () => {
  const l = layerLedger({ input: [3, 200, 200], units: 1000 });
  assert.equal(l.dense.params, 120_001_000);
  assert.equal(l.dense.weights, 120_000_000);
  assert.equal(l.dense.connectionsPerUnit, 120_000);
  // Same 1000 output units as 10 channels on a 10x10 grid of 20x20 windows:
  assert.deepEqual([l.kernel, l.stride, l.padding, l.channels, l.outputGrid], [20, 20, 0, 10, [10, 10]]);
  assert.equal(l.local.outputUnits, 1000);
  assert.equal(l.local.params, 1000 * 20 * 20 * 3 + 1000); // each unit its own 1,200 weights and a bias
  assert.equal(l.conv.params, 10 * 20 * 20 * 3 + 10); // 10 shared filters
  assert.equal(l.local.params, 1_201_000);
  assert.equal(l.conv.params, 12_010);
  // Sharing saves parameters, not arithmetic.
  assert.equal(l.local.macs, l.conv.macs);
  assert.equal(l.conv.macs, 1_200_000);
  assert.equal(l.dense.macs, 120_000_000);
  assert.ok(Math.abs(l.localitySaving - 120_001_000 / 1_201_000) < 1e-9);
  assert.ok(Math.abs(l.sharingSaving - 1_201_000 / 12_010) < 1e-9);
  const text = formatLayerLedger(l);
  for (const s of ['120,001,000', '1,201,000', '12,010', 'Local connectivity saves 99.9x', 'Weight sharing saves 100x']) assert.ok(text.includes(s), s);
});

test('explicit geometry: a 3x3 "same" conv with 8 channels on 28x28x1', () => {
  const l = layerLedger({ input: [1, 28, 28], units: 8 * 28 * 28, kernel: 3, padding: 1 });
  assert.deepEqual(l.outputGrid, [28, 28]);
  assert.equal(l.channels, 8);
  assert.equal(l.dense.params, 784 * 6272 + 6272);
  assert.equal(l.local.params, 784 * 8 * 9 + 6272);
  assert.equal(l.conv.params, 8 * 9 + 8);
  assert.equal(layerLedger({ input: [1, 28, 28], units: 10, bias: false }).dense.params, 7840);
  assert.throws(() => layerLedger({ input: [1, 28, 28], units: 1000, kernel: 3, padding: 1 }), /1000 units do not divide evenly over a 28x28 output grid; give channels/);
  assert.throws(() => layerLedger({ input: [3, 200, 200], units: 0 }), /units must be an integer >= 1, got 0/);
  assert.throws(() => layerLedger({ input: [3, 20, 20], units: 10, kernel: 30 }), /does not fit a 20x20 input/);
  assert.deepEqual(defaultLedgerGeometry(32, 32, 10), { kernel: 32, stride: 32, padding: 0, channels: 10 });
});

test('modelLedger: lenet5 against the dense network with the same layer widths', () => {
  const m = modelLedger(models.create('lenet5'), [1, 28, 28]);
  assert.deepEqual(m.rows.map((r) => [r.path, r.inputUnits, r.outputUnits, r.params]), [
    ['features.0', 784, 4704, 156], ['features.3', 1176, 1600, 2416],
    ['classifier.0', 400, 120, 48_120], ['classifier.2', 120, 84, 10_164], ['classifier.4', 84, 10, 850],
  ]);
  assert.equal(m.totalParams, 61_706);
  assert.equal(m.otherParams, 0);
  // conv1 dense: 784·4704 + 4704; unshared: 28·28 positions × 150 weights + 4704 biases.
  assert.equal(m.rows[0]!.denseParams, 784 * 4704 + 4704);
  assert.equal(m.rows[0]!.unsharedParams, 784 * 150 + 4704);
  assert.equal(m.rows[1]!.unsharedParams, 100 * 2400 + 1600);
  assert.equal(m.rows[2]!.denseParams, 48_120);
  assert.equal(m.denseParams, 784 * 4704 + 4704 + 1176 * 1600 + 1600 + 48_120 + 10_164 + 850);
  assert.equal(m.totalMacs, 784 * 150 + 100 * 2400 + 48_000 + 10_080 + 840);
  assert.match(formatModelLedger(m), /Without weight sharing: 6\.86x the parameters; dense network of the same widths: 91\.3x the parameters and 13\.5x the MACs/);
});

test('modelLedger counts BatchNorm outside the weighted layers', () => {
  const m = modelLedger(models.create('resnet20', { inChannels: 3 }), [3, 32, 32]);
  assert.equal(m.rows.length, 20); // 19 convs + 1 linear: the "20" of ResNet-20
  assert.equal(m.totalParams, 269_722);
  assert.equal(m.otherParams, 2 * (16 + 6 * 16 + 6 * 32 + 6 * 64)); // BatchNorm weight + bias of 19 layers
});
