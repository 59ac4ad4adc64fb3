// PyTorch weights in convkit: the fixtures were written by `tools/export_torch_weights.py --fixture` from
// PyTorch twins of resnet20 (option A), resnet20b (option B) and lenet5, with randomised BatchNorm statistics,
// together with an input and PyTorch's eval-mode logits. No PyTorch is needed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as models from '../../src/models/index.js';
import { loadWeights, saveWeights, stateDictFromSafetensors } from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { noGrad } from '../../src/autograd/tape.js';
import { Tensor } from '../../src/tensor/tensor.js';

const fixture = (name: string): Uint8Array => readFileSync(new URL(`../fixtures/zoo/${name}`, import.meta.url));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const [name, options] of [
  ['resnet20', { inChannels: 3, inputSize: [32, 32] }],
  ['resnet20b', { inChannels: 3, inputSize: [32, 32] }],
  ['lenet5', {}],
] as const) {
  test(`${name}: PyTorch weights give PyTorch's logits`, () => {
    const net = skipInit(() => models.create(name, options));
    const result = loadWeights(net, fixture(`${name}.safetensors`), { fileName: `${name}.safetensors` });
    assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
    const io = stateDictFromSafetensors(fixture(`${name}_io.safetensors`));
    const logits = noGrad(() => net.eval().forward(io['input']!));
    assert.deepEqual([...logits.shape], [...io['logits']!.shape]);
    const diff = maxAbsDiff(logits.data, io['logits']!.data);
    assert.ok(diff < 1e-5, `max |convkit - PyTorch| = ${diff}`);
    // The logits are not trivially equal: the images are told apart.
    assert.ok(maxAbsDiff(logits.data.subarray(0, 10), logits.data.subarray(10, 20)) > 1e-2);
  });
}

test('saveWeights -> loadWeights round-trips every parameter and buffer', () => {
  const a = models.create('resnet20b', { inChannels: 3 });
  const b = skipInit(() => models.create('resnet20b', { inChannels: 3 }));
  loadWeights(b, saveWeights(a));
  const sa = a.stateDict(), sb = b.stateDict();
  for (const k of Object.keys(sa)) assert.deepEqual(sb[k]!.data, sa[k]!.data, k);
});

test('loading mis-keyed weights lists every offending key, with both shapes for mis-shaped ones', () => {
  const bytes = fixture('resnet20b.safetensors');
  // Option B weights into option A: the projection shortcuts are unexpected.
  const a = models.create('resnet20', { inChannels: 3 });
  const before = a.stateDict()['conv1.weight']!.data.slice();
  assert.throws(() => loadWeights(a, bytes, { fileName: 'resnet20b.safetensors' }), (e: Error) => {
    assert.match(e.message, /^resnet20b\.safetensors: loadStateDict\(CifarResNet\): 12 unexpected keys: /);
    for (const stage of [2, 3]) {
      for (const k of ['shortcut.0.weight', 'shortcut.1.weight', 'shortcut.1.bias', 'shortcut.1.running_mean', 'shortcut.1.running_var', 'shortcut.1.num_batches_tracked']) {
        assert.ok(e.message.includes(`layer${stage}.0.${k}`), `layer${stage}.0.${k}`);
      }
    }
    return true;
  });
  assert.deepEqual(a.stateDict()['conv1.weight']!.toFloat32Array(), before, 'nothing is loaded when keys do not match');

  // Grey-image model, 100 classes: two mis-shaped keys, each with the model's and the file's shape.
  const grey = models.create('resnet20b', { inChannels: 1, numClasses: 100 });
  assert.throws(() => loadWeights(grey, bytes), (e: Error) => {
    assert.match(e.message, /3 mis-shaped keys: conv1\.weight expected \[16, 1, 3, 3\], got \[16, 3, 3, 3\], linear\.weight expected \[100, 64\], got \[10, 64\], linear\.bias expected \[100\], got \[10\]/);
    return true;
  });

  // A renamed and a dropped key: one missing, one unexpected, both listed.
  const sd = stateDictFromSafetensors(bytes);
  sd['fc.weight'] = sd['linear.weight']!;
  delete sd['linear.weight'];
  delete sd['bn1.running_var'];
  const b = models.create('resnet20b', { inChannels: 3 });
  assert.throws(() => b.loadStateDict(sd), (e: Error) => {
    assert.match(e.message, /2 missing keys: bn1\.running_var, linear\.weight; 1 unexpected key: fc\.weight/);
    return true;
  });
  // Non-strict loading reports the differences instead of failing on them.
  const r = b.loadStateDict(sd, { strict: false });
  assert.deepEqual(r, { missingKeys: ['bn1.running_var', 'linear.weight'], unexpectedKeys: ['fc.weight'] });
});

test('torchvision-keyed weights load by key into the classic models (keys and shapes are torchvision\'s)', () => {
  // A stand-in for an exported torchvision file: every key of resnet18 with torchvision's shapes.
  const expected = JSON.parse(readFileSync(new URL('../fixtures/zoo/torchvision_counts.json', import.meta.url), 'utf8')) as {
    models: Record<string, { stateDict: Record<string, number[]> }>;
  };
  const sd: Record<string, Tensor> = {};
  let i = 0;
  for (const [key, shape] of Object.entries(expected.models['resnet18']!.stateDict)) {
    const n = shape.reduce((a, b) => a * b, 1);
    sd[key] = new Tensor(new Float32Array(n).fill(++i / 1000), shape);
  }
  const net = skipInit(() => models.create('resnet18'));
  assert.deepEqual(net.loadStateDict(sd), { missingKeys: [], unexpectedKeys: [] });
  assert.equal(net.stateDict()['layer4.1.bn2.running_var']!.data[0], sd['layer4.1.bn2.running_var']!.data[0]);
});
