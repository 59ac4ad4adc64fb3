import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageDataset, randomSplit } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { normalize } from '../../src/data/transforms.js';
import { Generator } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';

/** 10 images of 1x2x2 whose pixels encode their index: image i has pixel values i, i+1, i+2, i+3. */
function indexDataset(n = 10): ImageDataset {
  const images = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) for (let p = 0; p < 4; p++) images[i * 4 + p] = i * 4 + p;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return new ImageDataset({ images, labels, channels: 1, height: 2, width: 2, classNames: ['a', 'b', 'c'], name: 'idx' });
}

test('ImageDataset: validation, subset, toFloat, classCounts', () => {
  const ds = indexDataset();
  assert.equal(ds.length, 10);
  assert.deepEqual(Array.from(ds.classCounts()), [4, 3, 3]);
  const sub = ds.subset([7, 2, 7]);
  assert.deepEqual(Array.from(sub.labels), [1, 2, 1]);
  assert.deepEqual(Array.from(sub.images.subarray(0, 4)), [28, 29, 30, 31]);
  const f = ds.toFloat();
  assert.ok(f.images instanceof Float32Array);
  assert.equal(f.images[5], Math.fround(5 / 255));
  assert.deepEqual(Array.from(f.getImage(1)), Array.from(ds.getImage(1)));
  assert.throws(() => ds.subset([10]), /index 10 out of range \[0, 10\)/);
  assert.throws(() => new ImageDataset({ images: new Uint8Array(7), labels: new Int32Array(2), channels: 1, height: 2, width: 2, classNames: ['a'] }), /2 labels of 1x2x2 images need 8 pixel values, got 7/);
  assert.throws(() => new ImageDataset({ images: new Uint8Array(4), labels: Int32Array.of(3), channels: 1, height: 2, width: 2, classNames: ['a', 'b'] }), /label 3 at index 0 is out of range for 2 classes/);
});

test('DataLoader: batches in order, shapes, scaling, last partial batch and dropLast', () => {
  const ds = indexDataset();
  const loader = new DataLoader(ds, { batchSize: 4 });
  assert.equal(loader.length, 3);
  const batches = [...loader];
  assert.equal(batches.length, 3);
  assert.ok(batches[0]!.x instanceof Tensor);
  assert.deepEqual(batches[0]!.x.shape, [4, 1, 2, 2]);
  assert.deepEqual(batches[2]!.x.shape, [2, 1, 2, 2]);
  assert.deepEqual(Array.from(batches[1]!.indices), [4, 5, 6, 7]);
  assert.deepEqual(Array.from(batches[1]!.y), [1, 2, 0, 1]);
  assert.equal(batches[1]!.x.data[0], Math.fround(16 / 255));
  const dropping = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropping.length, 2);
  assert.deepEqual([...dropping].map((b) => b.y.length), [4, 4]);
  assert.equal(new DataLoader(ds, { batchSize: 20, dropLast: true }).length, 0);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
});

test('DataLoader: seeded shuffle is reproducible, covers every example, and differs per epoch', () => {
  const ds = indexDataset(50);
  const order = (loader: DataLoader): number[] => [...loader].flatMap((b) => Array.from(b.indices));
  const a = new DataLoader(ds, { batchSize: 8, shuffle: true, generator: new Generator(42) });
  const b = new DataLoader(ds, { batchSize: 8, shuffle: true, generator: new Generator(42) });
  const a1 = order(a);
  const a2 = order(a);
  assert.deepEqual(a1, order(b));
  assert.deepEqual(a2, order(b));
  assert.notDeepEqual(a1, a2);
  assert.deepEqual([...a1].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(a1, Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(order(new DataLoader(ds, { batchSize: 8, shuffle: true, generator: new Generator(43) })), a1);
  // labels follow their images
  for (const { x, y, indices } of new DataLoader(ds, { batchSize: 8, shuffle: true, generator: new Generator(1) })) {
    indices.forEach((i, k) => {
      assert.equal(y[k], i % 3);
      assert.equal(x.data[k * 4], Math.fround(((i * 4) % 256) / 255));
    });
  }
});

test('DataLoader: state saved between epochs resumes the exact sequence', () => {
  const ds = indexDataset(30);
  const order = (loader: DataLoader): number[] => [...loader].flatMap((b) => Array.from(b.indices));
  const full = new DataLoader(ds, { batchSize: 7, shuffle: true, generator: new Generator(5) });
  const e1 = order(full);
  const state = full.getState();
  const e2 = order(full);
  const e3 = order(full);
  assert.equal(state.epoch, 1);
  const resumed = new DataLoader(ds, { batchSize: 7, shuffle: true, generator: new Generator(999) });
  resumed.setState(JSON.parse(JSON.stringify(state)));
  assert.deepEqual(order(resumed), e2);
  assert.deepEqual(order(resumed), e3);
  assert.equal(resumed.epoch, 3);
  assert.notDeepEqual(e1, e2);
});

test('DataLoader: reusable buffer and transforms', () => {
  const ds = indexDataset(10);
  const reuse = new DataLoader(ds, { batchSize: 4, reuseBuffer: true });
  const seen: Float32Array[] = [];
  const firstValues: number[] = [];
  for (const { x } of reuse) {
    seen.push(x.data);
    firstValues.push(x.data[0]!);
  }
  assert.equal(seen[0]!.buffer, seen[1]!.buffer); // one buffer
  assert.equal(seen[0], seen[1]);
  assert.equal(seen[2]!.length, 8); // the last, smaller batch is a view of the same buffer
  assert.equal(seen[2]!.buffer, seen[0]!.buffer);
  assert.deepEqual(firstValues, [0, 16, 32].map((v) => Math.fround(v / 255)));
  const fresh = [...new DataLoader(ds, { batchSize: 4 })];
  assert.notEqual(fresh[0]!.x.data.buffer, fresh[1]!.x.data.buffer);
  const norm = new DataLoader(ds, { batchSize: 10, transform: normalize([0.5], [0.25]) });
  const [only] = [...norm];
  assert.ok(Math.abs(only!.x.data[3]! - (3 / 255 - 0.5) / 0.25) < 1e-6);
});

test('randomSplit: counts or fractions, disjoint, covering, seeded', () => {
  const ds = indexDataset(10);
  const [a, b] = randomSplit(ds, [0.7, 0.3], new Generator(4));
  assert.equal(a!.length, 7);
  assert.equal(b!.length, 3);
  const firstPixels = (d: ImageDataset): number[] => Array.from({ length: d.length }, (_, i) => d.images[i * 4]! / 4);
  const all = [...firstPixels(a!), ...firstPixels(b!)].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: 10 }, (_, i) => i));
  const [a2] = randomSplit(ds, [7, 3], new Generator(4));
  assert.deepEqual(firstPixels(a2!), firstPixels(a!));
  assert.throws(() => randomSplit(ds, [5, 4], new Generator(0)), /must be counts summing to 10 or fractions summing to 1/);
});

test('a normalize transform over uint8 images runs through a pixel table: the same bits as copying, then normalizing', () => {
  for (const [channels, mean, std] of [[1, [0.2860], [0.3530]], [3, [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]], [3, [0.5], [0.25]]] as const) {
    // every pixel value 0..255 in every channel, 3 images of 3 x 16 x 16 (or 1 x 16 x 16)
    const n = 3, plane = 256;
    const images = Uint8Array.from({ length: n * channels * plane }, (_, i) => (i * 7 + (i >> 8)) & 255);
    const ds = new ImageDataset({ images, labels: new Int32Array(n), channels, height: 16, width: 16, classNames: ['a'] });
    const norm = normalize([...mean], [...std]);
    const tabled = new DataLoader(ds, { batchSize: 2, transform: norm });
    const plain = new DataLoader(ds, { batchSize: 2, transform: (b, g) => norm(b, g) });  // a plain function: two passes
    const a = [...tabled].map((b) => Array.from(b.x.data)), b = [...plain].map((x) => Array.from(x.x.data));
    assert.deepEqual(a, b, `${channels} channel(s), mean ${mean}`);
    // and the values are the normalized pixels
    assert.equal(a[0]![1], Math.fround((Math.fround(images[1]! / 255) - mean[0]!) * (1 / std[0]!)));
  }
  // a transform for another channel count is still reported (the plain path runs it)
  const ds = indexDataset();
  assert.throws(() => [...new DataLoader(ds, { batchSize: 2, transform: normalize([0.5, 0.5], [0.2, 0.2]) })], /normalize: 2 mean\/std values for images with 1 channels/);
  assert.throws(() => new DataLoader(ds, { batchSize: 2, transform: normalize(0.5, 0.2) }).makeBatch(Int32Array.of(10)), /index 10 out of range/);
});
