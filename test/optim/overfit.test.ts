import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nn from '../../src/nn/index.js';
import * as optim from '../../src/optim/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { crossEntropy, argmax } from '../../src/ops/index.js';
import { manualSeed } from '../../src/tensor/random.js';
import { loadFmnist16 } from './fixtures.js';

test('a small CNN overfits one batch of 16 real Fashion-MNIST images to 100% training accuracy', () => {
  const { pixels, labels } = loadFmnist16();
  const x = new Tensor(Float32Array.from(pixels, (v) => (v / 255 - 0.2860) / 0.3530), [16, 1, 28, 28]);
  manualSeed(0);
  const net = new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(16 * 7 * 7, 10),
  );
  const opt = new optim.Adam(net.parameters(), { lr: 3e-3 });
  const accuracy = (): number => {
    const pred = argmax(net.forward(x), 1).indices;
    return pred.filter((p, i) => p === labels[i]).length / labels.length;
  };
  let firstLoss = NaN, loss = NaN, steps = 0;
  for (; steps < 60; steps++) {
    opt.zeroGrad();
    const l = crossEntropy(net.forward(x), labels);
    l.backward();
    opt.step();
    loss = l.item();
    if (steps === 0) firstLoss = loss;
    if (loss < 0.02) break;
  }
  net.eval();
  const acc = accuracy();
  assert.equal(acc, 1, `training accuracy ${acc} after ${steps} steps (loss ${firstLoss.toFixed(3)} -> ${loss.toFixed(4)})`);
  assert.ok(loss < 0.05 && loss < firstLoss / 20, `loss ${firstLoss} -> ${loss}`);
});
