// Receptive fields: the arithmetic, and `summary`'s per-layer figures for VGG-16 and ResNet-18 against a hand
// calculation (size r, jump j, start s of one output unit, input pixels at 0, 1, 2, ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as models from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { summary, composeField, mergeFields, chainField, INPUT_FIELD, type ReceptiveField, type SummaryRow } from '../../src/inspect/index.js';

const field = (size: number, jump: number, start: number): ReceptiveField => ({ size: [size, size], jump: [jump, jump], start: [start, start] });

test('composeField: conv, strided, padded and dilated windows', () => {
  assert.deepEqual(composeField(INPUT_FIELD, { kernel: 3, padding: 1 }), field(3, 1, 0));
  assert.deepEqual(composeField(INPUT_FIELD, { kernel: 2, stride: 2 }), field(2, 2, 0.5));
  assert.deepEqual(composeField(INPUT_FIELD, { kernel: 7, stride: 2, padding: 3 }), field(7, 2, 0));
  assert.deepEqual(composeField(INPUT_FIELD, { kernel: 11, stride: 4, padding: 2 }), field(11, 4, 3));
  // dilation 2 makes a 3x3 kernel span 5 pixels
  assert.deepEqual(composeField(field(3, 1, 0), { kernel: 3, dilation: 2, padding: 2 }), field(7, 1, 0));
  // non-square kernels keep the axes apart
  assert.deepEqual(composeField(INPUT_FIELD, { kernel: [1, 5], padding: [0, 2] }), { size: [1, 5], jump: [1, 1], start: [0, 0] });
});

test('mergeFields takes the union of the paths', () => {
  // a 3x3 path and a 1x1 path with the same centre: the larger wins
  assert.deepEqual(mergeFields([field(3, 1, 0), field(1, 1, 0)]), field(3, 1, 0));
  // shifted fields: [-1, 1] and [1, 3] -> [-1, 3]: size 5 centred at 1
  assert.deepEqual(mergeFields([field(3, 1, 0), field(3, 1, 2)]), field(5, 1, 1));
  assert.throws(() => mergeFields([]), /at least one/);
});

/** VGG-16's features by hand: 13 3x3 convs (pad 1) in 5 stages, each stage ending in a 2x2/2 max pool. */
function vgg16ByHand(): { index: number; rf: ReceptiveField }[] {
  const out: { index: number; rf: ReceptiveField }[] = [];
  let r = 1, j = 1, s = 0, index = 0;
  for (const convs of [2, 2, 3, 3, 3]) {
    for (let c = 0; c < convs; c++) {
      r += 2 * j; // a 3x3 conv adds (3-1)·j; padding 1 keeps the centre
      out.push({ index, rf: field(r, j, s) });
      index += 2; // conv, ReLU
    }
    r += j; s += 0.5 * j; j *= 2; // 2x2 pool, stride 2: adds (2-1)·j, moves the centre by half a step
    out.push({ index, rf: field(r, j, s) });
    index += 1;
  }
  return out;
}

test('VGG-16: receptive field of every conv and pool equals the hand calculation (212 px at pool5)', () => {
  const s = summary(skipInit(() => models.create('vgg16')), [3, 224, 224]);
  const rows = new Map(s.rows.map((r) => [r.path, r]));
  const expected = vgg16ByHand();
  assert.equal(expected.length, 18);
  for (const { index, rf } of expected) assert.deepEqual(rows.get(`features.${index}`)!.receptiveField, rf, `features.${index}`);
  // Literal milestones: pool1 6, pool2 16, pool3 44, pool4 100, pool5 212 (jump 32, start 15.5).
  assert.deepEqual(rows.get('features.4')!.receptiveField, field(6, 2, 0.5));
  assert.deepEqual(rows.get('features.9')!.receptiveField, field(16, 4, 1.5));
  assert.deepEqual(rows.get('features.16')!.receptiveField, field(44, 8, 3.5));
  assert.deepEqual(rows.get('features.23')!.receptiveField, field(100, 16, 7.5));
  assert.deepEqual(rows.get('features.30')!.receptiveField, field(212, 32, 15.5));
  // The same figures from the chain arithmetic alone.
  const chain = [2, 2, 3, 3, 3].flatMap((n) => [...Array.from({ length: n }, () => ({ kernel: 3, padding: 1 })), { kernel: 2, stride: 2 }]);
  assert.deepEqual(chainField(chain), field(212, 32, 15.5));
});

test('ResNet-18: receptive field per stage equals the hand calculation (435 px after layer4)', () => {
  const s = summary(skipInit(() => models.create('resnet18')), [3, 224, 224]);
  const row = (p: string): SummaryRow => s.rows.find((r) => r.path === p)!;
  // conv1 7x7/2 pad 3: r 7, j 2. maxpool 3x3/2 pad 1: r 7 + 2·2 = 11, j 4.
  assert.deepEqual(row('conv1').receptiveField, field(7, 2, 0));
  assert.deepEqual(row('maxpool').receptiveField, field(11, 4, 0));
  // layer1: four 3x3 convs at j 4: 11 + 4·8 = 43.
  assert.deepEqual(row('layer1.0').receptiveField, field(27, 4, 0));
  assert.deepEqual(row('layer1').receptiveField, field(43, 4, 0));
  // layer2: the first conv has stride 2 (+2·4), then three more at j 8: 43 + 8 + 48 = 99.
  assert.deepEqual(row('layer2.0.conv1').receptiveField, field(51, 8, 0));
  assert.deepEqual(row('layer2').receptiveField, field(99, 8, 0));
  // layer3: 99 + 16 + 3·32 = 211; layer4: 211 + 32 + 3·64 = 435.
  assert.deepEqual(row('layer3').receptiveField, field(211, 16, 0));
  assert.deepEqual(row('layer4').receptiveField, field(435, 32, 0));
  // The 1x1 stride-2 shortcut sees less than the main path; the block's output is their union (the main path).
  assert.deepEqual(row('layer2.0.downsample').receptiveField, field(43, 8, 0));
  assert.deepEqual(row('layer2.0').receptiveField, field(67, 8, 0)); // 51 + 2·8
  // Global average pooling over the 7x7 map is a 7x7 window with stride 7: size 435 + 6·32 = 627, jump 7·32,
  // centre 0 + 3·32 = 96, i.e. pixels -217..409: the whole 224x224 image and padding. The classifier sees the same.
  assert.deepEqual(row('avgpool').receptiveField, field(627, 224, 96));
  assert.deepEqual(row('fc').receptiveField, field(627, 224, 96));
});

test('Inception concatenation: the union of its branches (GoogLeNet inception3a)', () => {
  const s = summary(skipInit(() => models.create('googlenet')), [3, 224, 224]);
  const row = (p: string): SummaryRow => s.rows.find((r) => r.path === p)!;
  const input = row('maxpool2').receptiveField!;
  const widest = row('inception3a.branch3').receptiveField!; // 1x1 then 3x3: input + 2·jump
  assert.deepEqual(widest.size, [input.size[0] + 2 * input.jump[0], input.size[1] + 2 * input.jump[1]]);
  assert.deepEqual(row('inception3a.branch1').receptiveField!.size, input.size);
  assert.deepEqual(row('inception3a').receptiveField, mergeFields([row('inception3a.branch1').receptiveField!, widest, row('inception3a.branch4').receptiveField!]));
  assert.deepEqual(row('inception3a').receptiveField!.size, widest.size);
});
