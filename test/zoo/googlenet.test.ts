// GoogLeNet specifics: auxiliary classifiers (training mode only, through forwardWithAux) and torchvision's
// transform_input. Small inputs keep it fast: the network is fully convolutional up to adaptive pooling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoogLeNet } from '../../src/models/index.js';
import { randn } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';
import { noGrad } from '../../src/autograd/tape.js';
import { Tensor } from '../../src/tensor/tensor.js';

test('auxiliary classifiers run in training mode only, and only with auxLogits', () => {
  manualSeed(0);
  const net = new GoogLeNet({ numClasses: 5, inChannels: 3 }, { auxLogits: true });
  const x = randn([2, 3, 64, 64]);
  const train = noGrad(() => net.train().forwardWithAux(x));
  assert.deepEqual([...train.logits.shape], [2, 5]);
  assert.deepEqual([...train.aux1!.shape], [2, 5]);
  assert.deepEqual([...train.aux2!.shape], [2, 5]);
  const evaluated = noGrad(() => net.eval().forwardWithAux(x));
  assert.equal(evaluated.aux1, null);
  assert.equal(evaluated.aux2, null);
  assert.deepEqual([...noGrad(() => net.forward(x)).shape], [2, 5]);
  const plain = new GoogLeNet({ numClasses: 5, inChannels: 3 });
  assert.equal(plain.aux1, null);
  assert.equal(noGrad(() => plain.train().forwardWithAux(x)).aux1, null);
  assert.ok(!Object.keys(plain.stateDict()).some((k) => k.startsWith('aux')));
});

test('transformInput maps ImageNet normalisation to (x - 0.5) / 0.5, as torchvision', () => {
  manualSeed(1);
  const withTransform = new GoogLeNet({ numClasses: 4, inChannels: 3 }, { transformInput: true }).eval();
  const without = new GoogLeNet({ numClasses: 4, inChannels: 3 }).eval();
  without.loadStateDict(withTransform.stateDict());
  const x = randn([1, 3, 32, 32]);
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const manual = new Float32Array(x.data.length);
  const plane = 32 * 32;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) manual[c * plane + i] = x.data[c * plane + i]! * (std[c]! / 0.5) + (mean[c]! - 0.5) / 0.5;
  }
  const a = noGrad(() => withTransform.forward(x));
  const b = noGrad(() => without.forward(new Tensor(manual, [1, 3, 32, 32])));
  for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(a.data[i]! - b.data[i]!) < 1e-5, `logit ${i}`);
  assert.throws(() => new GoogLeNet({ numClasses: 4, inChannels: 1 }, { transformInput: true }), /transformInput needs 3 input channels, got 1/);
});
