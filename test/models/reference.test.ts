import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as models from '../../src/models/index.js';
import * as nn from '../../src/nn/index.js';
import { randn } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';

test('reference models have exactly the specified parameter counts', () => {
  assert.equal(models.create('mlp').numParameters(), 269_322);
  assert.equal(models.create('lenet5').numParameters(), 61_706);
  assert.equal(models.create('vggsmall').numParameters(), 870_634);
});

test('state-dict keys follow torchvision naming (features / classifier)', () => {
  assert.deepEqual(Object.keys(models.create('lenet5').stateDict()), [
    'features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias',
    'classifier.0.weight', 'classifier.0.bias', 'classifier.2.weight', 'classifier.2.bias', 'classifier.4.weight', 'classifier.4.bias',
  ]);
  assert.deepEqual(Object.keys(models.create('mlp').stateDict()), [
    'classifier.0.weight', 'classifier.0.bias', 'classifier.2.weight', 'classifier.2.bias', 'classifier.4.weight', 'classifier.4.bias',
  ]);
  const vgg = models.create('vggsmall').stateDict();
  assert.deepEqual(Object.keys(vgg).filter((k) => k.endsWith('weight')), [
    'features.0.weight', 'features.2.weight', 'features.5.weight', 'features.7.weight', 'classifier.0.weight', 'classifier.2.weight',
  ]);
  assert.deepEqual(vgg['classifier.0.weight']!.shape, [256, 3136]);
});

test('forward shapes, and other input sizes / channels / classes', () => {
  const x = randn([2, 1, 28, 28]);
  for (const name of ['mlp', 'lenet5', 'vggsmall']) assert.deepEqual([...models.create(name).forward(x).shape], [2, 10], name);
  const lenet32 = models.create('lenet5', { inChannels: 3, inputSize: [32, 32], numClasses: 7 });
  assert.deepEqual([...lenet32.forward(randn([1, 3, 32, 32])).shape], [1, 7]);
  assert.deepEqual(lenet32.stateDict()['classifier.0.weight']!.shape, [120, 16 * 6 * 6]);
  assert.deepEqual([...models.create('vggsmall', { inputSize: [32, 24] }).forward(randn([1, 1, 32, 24])).shape], [1, 10]);
  assert.deepEqual([...models.create('mlp', { inChannels: 3, inputSize: [8, 8] }).forward(randn([4, 3, 8, 8])).shape], [4, 10]);
});

test('a wrong input names the layer and its path inside the model', () => {
  const lenet = models.create('lenet5');
  assert.throws(() => lenet.forward(randn([8, 3, 28, 28])), { message: 'Conv2d(1->6) in features.0: expected input with 1 channel [N,1,H,W], got [8, 3, 28, 28]' });
  assert.throws(() => lenet.forward(randn([2, 1, 32, 32])), { message: 'Linear(400->120) in classifier.0: expected input with 400 features [N,400], got [2, 576]' });
  const mlp = models.create('mlp');
  assert.throws(() => mlp.forward(randn([2, 1, 32, 32])), /Linear\(784->256\) in classifier\.0: expected input with 784 features/);
});

test('registry: list, unknown names and bad options', () => {
  const list = models.list();
  assert.deepEqual(list.slice(0, 3).map((m) => m.name), ['mlp', 'lenet5', 'vggsmall']);
  for (const m of list) assert.ok(m.description.length > 10 && m.contribution.length > 10, m.name);
  assert.ok(models.has('LeNet5'));
  assert.throws(() => models.create('resnet999'), /unknown model 'resnet999' \(available: mlp, lenet5, vggsmall/);
  assert.throws(() => models.create('lenet5', { numClasses: 0 }), /models.create\('lenet5'\): numClasses must be a positive integer, got 0/);
  assert.throws(() => models.create('lenet5', { inputSize: [8, 8] }), /lenet5: inputSize \[8, 8\] is too small/);
  assert.throws(() => models.registerModel({ name: 'lenet5', description: 'x', contribution: 'y', create: () => new nn.Identity() }), /already registered/);
});

test('manualSeed makes model creation reproducible', () => {
  manualSeed(11);
  const a = models.create('lenet5').stateDict();
  manualSeed(11);
  const b = models.create('lenet5').stateDict();
  for (const k of Object.keys(a)) assert.deepEqual(a[k]!.data, b[k]!.data, k);
});

test('toString prints the architecture like PyTorch', () => {
  assert.equal(String(models.create('lenet5')), [
    'LeNet5(',
    '  (features): Sequential(',
    '    (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))',
    '    (1): ReLU()',
    '    (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)',
    '    (3): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))',
    '    (4): ReLU()',
    '    (5): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)',
    '  )',
    '  (classifier): Sequential(',
    '    (0): Linear(in_features=400, out_features=120, bias=True)',
    '    (1): ReLU()',
    '    (2): Linear(in_features=120, out_features=84, bias=True)',
    '    (3): ReLU()',
    '    (4): Linear(in_features=84, out_features=10, bias=True)',
    '  )',
    ')',
  ].join('\n'));
});
