import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nn from '../../src/nn/index.js';
import * as models from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { getBackend } from '../../src/backend/registry.js';
import { randn } from '../../src/tensor/creation.js';
import { noGrad } from '../../src/autograd/tape.js';
import { summary, formatSummary } from '../../src/inspect/index.js';

function smallNet(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 3, { padding: 1, groups: 2 }), new nn.LocallyConnected2d(16, 4, 3, { inputSize: [16, 16] }),
    new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Dropout(0.5), new nn.Linear(4, 10),
  );
}

test('summary: shapes, parameters and MACs per layer by the documented rules', () => {
  const s = summary(smallNet(), [3, 32, 32]);
  assert.deepEqual(s.inputShape, [1, 3, 32, 32]);
  assert.deepEqual(s.outputShape, [1, 10]);
  assert.deepEqual(s.rows.map((r) => [r.path, r.type, r.outputShape]), [
    ['0', 'Conv2d', [1, 8, 32, 32]], ['1', 'BatchNorm2d', [1, 8, 32, 32]], ['2', 'ReLU', [1, 8, 32, 32]], ['3', 'MaxPool2d', [1, 8, 16, 16]],
    ['4', 'Conv2d', [1, 16, 16, 16]], ['5', 'LocallyConnected2d', [1, 4, 14, 14]], ['6', 'AdaptiveAvgPool2d', [1, 4, 1, 1]],
    ['7', 'Flatten', [1, 4]], ['8', 'Dropout', [1, 4]], ['9', 'Linear', [1, 10]],
  ]);
  const macs = s.rows.map((r) => r.macs);
  // Conv2d: N·Cout·Hout·Wout·(Cin/groups)·kH·kW; LocallyConnected2d the same with groups 1; Linear in·out; others 0.
  assert.deepEqual(macs, [8 * 32 * 32 * 3 * 9, 0, 0, 0, 16 * 16 * 16 * 4 * 9, 4 * 14 * 14 * 16 * 9, 0, 0, 0, 4 * 10]);
  assert.equal(s.totalMacs, macs.reduce((a, b) => a + b, 0));
  const params = s.rows.map((r) => r.params);
  assert.deepEqual(params, [8 * 3 * 9 + 8, 16, 0, 0, 16 * 4 * 9 + 16, 196 * 4 * 16 * 9 + 4 * 196, 0, 0, 0, 50]);
  assert.equal(s.totalParams, params.reduce((a, b) => a + b, 0));
  assert.equal(s.trainableParams, s.totalParams);
});

test('summary: containers report their children\'s totals; the pass is invisible afterwards', () => {
  const net = models.create('resnet20', { inChannels: 3 }) as models.CifarResNet;
  net.train();
  const forward = net.layer1.forward;
  const backend = getBackend();
  const before = net.stateDict()['bn1.running_mean']!.data.slice();
  const s = summary(net, [3, 32, 32]);
  const layer2 = s.rows.find((r) => r.path === 'layer2')!;
  const children = s.rows.filter((r) => r.path.startsWith('layer2.') && r.leaf);
  assert.equal(layer2.leaf, false);
  assert.equal(layer2.depth, 1);
  assert.equal(layer2.params, children.reduce((a, r) => a + r.params, 0));
  assert.equal(layer2.macs, children.reduce((a, r) => a + r.macs, 0));
  assert.equal(s.totalParams, 269_722);
  assert.equal(s.totalMacs, 40_551_040); // resnet20 on CIFAR: the usual ~41 M (same count from PyTorch hooks on the twin)
  // Restored: training flags, forward methods, backend, running statistics.
  assert.equal(net.training, true);
  assert.ok([...net.modules()].every((m) => m.training));
  assert.equal(net.layer1.forward, forward);
  assert.ok(!Object.prototype.hasOwnProperty.call(net.layer1, 'forward'));
  assert.equal(getBackend(), backend);
  assert.deepEqual(net.stateDict()['bn1.running_mean']!.data, before);
  // And the model still computes real numbers.
  const y = noGrad(() => net.eval().forward(randn([1, 3, 32, 32])));
  assert.ok(y.data.some((v) => v !== 0));
});

test('summary: a wrong input names the layer', () => {
  const lenet = models.create('lenet5');
  assert.throws(() => summary(lenet, [3, 28, 28]), /Conv2d\(1->6\) in features\.0: expected input with 1 channel/);
  assert.throws(() => summary(lenet, [1, 0, 28]), /summary: inputShape must be positive integers/);
});

test('formatSummary: a table with totals and the counting rule', () => {
  const text = formatSummary(summary(skipInit(() => models.create('resnet50')), [3, 224, 224]), { maxDepth: 1 });
  assert.match(text, /^ResNet: input \[1, 3, 224, 224\] -> output \[1, 1000\]/);
  assert.match(text, /Total params: +25,557,032 \(25\.56 M; 97\.49 MiB as float32\)/);
  assert.match(text, /MACs per image: +4,089,184,256 \(4\.09 G\)/);
  assert.match(text, /layer4 +Sequential +\[1, 2048, 7, 7\]  +14,964,736 +809,238,528 +427 +32 +0/);
  assert.ok(!text.includes('layer1.0'), 'maxDepth 1 hides deeper rows');
  assert.match(text, /BatchNorm, activations, pooling and additions count 0/);
  const vgg = formatSummary(summary(skipInit(() => models.create('vgg16')), [3, 224, 224]));
  assert.match(vgg, /MACs per image: +15,470,264,320 \(15\.47 G\)/);
});
