// Parameter counts, state-dict keys/shapes and MACs of the zoo against torchvision (classic models) and the
// papers / PyTorch re-implementations (small models). Expectations for the classic models come from
// tools/torchvision_counts.py (Debian python3-torchvision 0.14), committed as test/fixtures/zoo/torchvision_counts.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as models from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { summary } from '../../src/inspect/index.js';

interface TorchvisionEntry { params: number; macs: number; outputShape: number[]; stateDict: Record<string, number[]> }
const fixture = JSON.parse(readFileSync(new URL('../fixtures/zoo/torchvision_counts.json', import.meta.url), 'utf8')) as {
  models: Record<string, TorchvisionEntry>;
};

const CLASSIC = [
  'alexnet', 'vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn',
  'googlenet', 'googlenet_aux', 'resnet18', 'resnet34', 'resnet50', 'resnet101', 'densenet121', 'densenet169',
];

test('the fixture covers every classic model, with the published parameter counts', () => {
  assert.deepEqual(Object.keys(fixture.models).sort(), [...CLASSIC].sort());
  // Spot checks against torchvision's documentation, so a regenerated fixture cannot drift silently.
  assert.equal(fixture.models['resnet50']!.params, 25_557_032);
  assert.equal(fixture.models['vgg16']!.params, 138_357_544);
  assert.equal(fixture.models['alexnet']!.params, 61_100_840);
  assert.equal(fixture.models['googlenet']!.params, 6_624_904);
  assert.equal(fixture.models['densenet121']!.params, 7_978_856);
});

for (const name of CLASSIC) {
  test(`${name}: parameters, state-dict keys (in order) and shapes, MACs and output shape equal torchvision's`, () => {
    const expected = fixture.models[name]!;
    const net = skipInit(() => models.create(name));
    assert.equal(net.numParameters(), expected.params, 'parameter count');
    const sd = net.stateDict();
    assert.deepEqual(Object.keys(sd), Object.keys(expected.stateDict), 'state-dict keys');
    for (const [key, shape] of Object.entries(expected.stateDict)) assert.deepEqual([...sd[key]!.shape], shape, key);
    const s = summary(net, [3, 224, 224]);
    assert.equal(s.totalMacs, expected.macs, 'MACs at 224x224');
    assert.deepEqual([...s.outputShape], expected.outputShape);
  });
}

test('MACs match the commonly published figures (ResNet-50 ~4.1 G, VGG-16 ~15.5 G, AlexNet ~0.71 G)', () => {
  const g = (name: string): number => fixture.models[name]!.macs / 1e9;
  assert.ok(Math.abs(g('resnet50') - 4.09) < 0.01, `resnet50 ${g('resnet50')}`);
  assert.ok(Math.abs(g('vgg16') - 15.47) < 0.01, `vgg16 ${g('vgg16')}`);
  assert.ok(Math.abs(g('alexnet') - 0.714) < 0.001, `alexnet ${g('alexnet')}`);
  assert.ok(Math.abs(g('resnet18') - 1.81) < 0.01, `resnet18 ${g('resnet18')}`);
});

test('small models have the parameter counts of their papers / PyTorch re-implementations', () => {
  const cifar = { inChannels: 3, inputSize: [32, 32] as [number, number] };
  const cases: [string, models.ModelOptions, number][] = [
    ['mlp', {}, 269_322],
    ['lenet5', {}, 61_706],
    ['vggsmall', {}, 870_634],
    ['vggsmall_bn', {}, 871_018], // vggsmall + 2·(32+32+64+64) BatchNorm parameters
    ['cnn2_bn', {}, 207_018], // conv 160 + BN 32 + conv 4,640 + BN 64 + fc 1568·128+128 + fc 128·10+10
    ['lcnet', {}, 19_170_058], // vggsmall with LocallyConnected2d: ~19.2 M
    ['resnet20', cifar, 269_722], // He et al. 2015: 0.27 M (option A)
    ['resnet20b', cifar, 272_474], // option B
    ['resnet32', cifar, 464_154], // 0.46 M
    ['resnet56', cifar, 853_018], // 0.85 M
    ['resnet32b', cifar, 466_906], // option B adds the same 2,752 (two 1x1 projections + BN) at every depth
    ['resnet56b', cifar, 855_770],
    ['plain20', cifar, 269_722], // no shortcut parameters either way
    ['plain32', cifar, 464_154],
    ['plain56', cifar, 853_018],
    ['densenet_bc100', cifar, 769_162], // Huang et al. 2016: 0.8 M
    ['densenet_bc40', cifar, 176_122],
    ['inception_small', cifar, 1_649_402], // Zhang et al. 2017, Table 1
  ];
  for (const [name, options, count] of cases) assert.equal(models.create(name, options).numParameters(), count, name);
});

test('small models take inChannels, numClasses and inputSize', () => {
  for (const name of ['resnet20', 'resnet20b', 'plain20', 'vggsmall_bn', 'cnn2_bn', 'inception_small', 'densenet_bc40', 'lcnet']) {
    for (const [c, size] of [[1, 28], [3, 32]] as const) {
      const net = skipInit(() => models.create(name, { inChannels: c, inputSize: [size, size], numClasses: 7 }));
      assert.deepEqual([...summary(net, [c, size, size]).outputShape], [1, 7], `${name} ${c}x${size}x${size}`);
    }
  }
  // lcnet has one filter bank per position, so its size is fixed by inputSize and named in the error.
  const lc = models.create('lcnet', { inputSize: [16, 16] });
  assert.throws(() => summary(lc, [1, 28, 28]), /LocallyConnected2d/);
});

test('every zoo model is registered with a description and the idea its family contributed', () => {
  const names = models.list().map((m) => m.name);
  for (const n of [...CLASSIC, 'resnet20', 'resnet32', 'resnet56', 'resnet20b', 'resnet32b', 'resnet56b', 'plain20', 'plain32', 'plain56',
    'vggsmall_bn', 'inception_small', 'densenet_bc100', 'densenet_bc40', 'lcnet']) assert.ok(names.includes(n), n);
  for (const m of models.list()) {
    assert.ok(m.description.length > 20, m.name);
    assert.ok(m.contribution.length > 30, m.name);
  }
  const r18 = models.list().find((m) => m.name === 'resnet18')!;
  assert.deepEqual(r18.defaultInputSize, [224, 224]);
  assert.deepEqual(r18.defaults, { numClasses: 1000, inChannels: 3 });
  // Explicit options override the model's defaults.
  const small = skipInit(() => models.create('resnet18', { numClasses: 10, inChannels: 1 }));
  assert.deepEqual([...small.stateDict()['fc.weight']!.shape], [10, 512]);
  assert.deepEqual([...small.stateDict()['conv1.weight']!.shape], [64, 1, 7, 7]);
});
