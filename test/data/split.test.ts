/**
 * splitValidation: the validation split is taken from the training set only. It is disjoint from the training
 * part, the two parts cover every training example exactly once, it is stratified and deterministic per seed,
 * and (compared by image bytes, not indices) it never holds a test-set image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ImageDataset } from '../../src/data/dataset.js';
import { splitValidation, splitValidationIndices } from '../../src/data/split.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';

function imageHashes(ds: ImageDataset): string[] {
  const per = ds.imageSize;
  const bytes = new Uint8Array(ds.images.buffer, ds.images.byteOffset, ds.images.byteLength);
  const width = per * ds.images.BYTES_PER_ELEMENT;
  return Array.from({ length: ds.length }, (_, i) => createHash('sha1').update(bytes.subarray(i * width, (i + 1) * width)).digest('hex'));
}

/** Multiset of (image hash, label) pairs, to compare datasets by content whatever the order. */
function contentCounts(ds: ImageDataset): Map<string, number> {
  const counts = new Map<string, number>();
  imageHashes(ds).forEach((h, i) => counts.set(`${h}:${ds.labels[i]}`, (counts.get(`${h}:${ds.labels[i]}`) ?? 0) + 1));
  return counts;
}

const train = loadEmbeddedFashionMnist('train');
const testSet = loadEmbeddedFashionMnist('test');

test('the two parts are disjoint and cover the training set exactly once', () => {
  const { train: part, validation } = splitValidationIndices(train.labels, train.numClasses, 0.1, 7);
  assert.equal(validation.length, Math.round(0.1 * train.length));
  const seen = new Uint8Array(train.length);
  for (const i of [...part, ...validation]) seen[i]!++;
  assert.deepEqual([...new Set(seen)], [1], 'every training index appears exactly once across both parts');

  // By content too: the datasets' images and labels add up to the training set's.
  const split = splitValidation(train, 0.1, 7);
  const union = contentCounts(split.train);
  for (const [key, n] of contentCounts(split.validation)) union.set(key, (union.get(key) ?? 0) + n);
  assert.deepEqual(union, contentCounts(train));
});

test('the split is stratified: each class gives the same share (within one example) to validation', () => {
  const { validation } = splitValidation(train, 0.2, 3);
  const all = train.classCounts();
  const held = validation.classCounts();
  for (let c = 0; c < train.numClasses; c++) assert.ok(Math.abs(held[c]! - 0.2 * all[c]!) < 1, `class ${c}: ${held[c]} of ${all[c]}`);
});

test('the split is deterministic for a seed and changes with it', () => {
  const a = splitValidationIndices(train.labels, train.numClasses, 0.1, 42);
  const b = splitValidationIndices(train.labels, train.numClasses, 0.1, 42);
  const c = splitValidationIndices(train.labels, train.numClasses, 0.1, 43);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.validation, c.validation);
  assert.deepEqual(imageHashes(splitValidation(train, 0.1, 42).validation), imageHashes(splitValidation(train, 0.1, 42).validation));
});

test('the validation part never holds a test-set image (compared by bytes)', () => {
  const testHashes = new Set(imageHashes(testSet));
  const trainHashes = new Set(imageHashes(train));
  for (const seed of [0, 1, 2]) {
    const { validation } = splitValidation(train, 0.25, seed);
    // The embedded subset's train and test sets share no image, so any hit is a leak.
    const leaked = imageHashes(validation).filter((h) => testHashes.has(h));
    assert.deepEqual(leaked, [], `seed ${seed}: validation images found in the test set`);
    // Every validation image is a training image.
    assert.ok(imageHashes(validation).every((h) => trainHashes.has(h)));
  }
  // The check can fail: a "validation set" holding test images is caught.
  assert.equal(imageHashes(testSet.take(10)).filter((h) => testHashes.has(h)).length, 10);
});

test('fraction and seed are validated with messages that say what to pass', () => {
  for (const bad of [0, 1, -0.1, 1.5, Number.NaN]) {
    assert.throws(() => splitValidation(train, bad, 0), /fraction must be a number strictly between 0 and 1 \(e\.g\. 0\.1/);
  }
  assert.throws(() => splitValidation(train.take(4), 0.05, 0), /leaves 0 for validation and 4 for training; both need at least 1/);
  assert.throws(() => splitValidation(train, 0.1, 1.5), /seed must be an integer, got 1\.5/);
});
