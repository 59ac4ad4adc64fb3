import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compose, horizontalFlip, normalize, permutePixels, randomCrop, randomHorizontalFlip, randomPixelPermutation,
  randomTranslate, translate, type ImageBatch,
} from '../../src/data/transforms.js';
import { Generator } from '../../src/tensor/random.js';

function batchOf(n: number, c: number, h: number, w: number): ImageBatch {
  const data = Float32Array.from({ length: n * c * h * w }, (_, i) => i + 1);
  return { data, n, c, h, w };
}
const copy = (b: ImageBatch): ImageBatch => ({ ...b, data: b.data.slice() });

test('horizontal flip: mirrors rows, twice is the identity; random flip with p=0/1', () => {
  const b = batchOf(2, 3, 4, 5);
  const orig = b.data.slice();
  horizontalFlip()(b, new Generator(0));
  assert.deepEqual(Array.from(b.data.subarray(0, 5)), [5, 4, 3, 2, 1]);
  horizontalFlip()(b, new Generator(0));
  assert.deepEqual(b.data, orig);
  const g = new Generator(3);
  const r = copy(b);
  randomHorizontalFlip(0.5)(r, g);
  randomHorizontalFlip(0.5)(r, new Generator(3)); // the same draws flip the same images back
  assert.deepEqual(r.data, orig);
  const never = copy(b);
  randomHorizontalFlip(0)(never, g);
  assert.deepEqual(never.data, orig);
  const always = copy(b);
  randomHorizontalFlip(1)(always, g);
  const flipped = copy(b);
  horizontalFlip()(flipped, g);
  assert.deepEqual(always.data, flipped.data);
  // with p = 0.5 over many images about half flip
  const many = batchOf(400, 1, 1, 2);
  const before = many.data.slice();
  randomHorizontalFlip(0.5)(many, new Generator(11));
  let count = 0;
  for (let i = 0; i < 400; i++) if (many.data[2 * i] !== before[2 * i]) count++;
  assert.ok(count > 150 && count < 250, `flipped ${count} of 400`);
});

test('random crop with padding keeps the shape, values come from the image or the fill, and is seeded', () => {
  const b = batchOf(8, 2, 6, 6);
  const orig = b.data.slice();
  const out = randomCrop(6, 2)(b, new Generator(1));
  assert.equal(out, b); // in place
  assert.deepEqual([out.n, out.c, out.h, out.w], [8, 2, 6, 6]);
  const allowed = new Set([0, ...orig]);
  for (const v of out.data) assert.ok(allowed.has(v));
  assert.ok(out.data.some((v) => v === 0), 'some padding shows');
  // each image is a shifted copy of itself: a pixel at (y,x) equals orig at (y+top, x+left) for one offset
  const again = randomCrop(6, 2)({ ...b, data: orig.slice() }, new Generator(1));
  assert.deepEqual(again.data, out.data);
  // padding 0 and the same size: identity
  const same = randomCrop(6, 0)({ ...b, data: orig.slice() }, new Generator(1));
  assert.deepEqual(same.data, orig);
  // crop to a smaller size: new shape, windows of the original
  const small = randomCrop([3, 4], 0)({ ...b, data: orig.slice() }, new Generator(2));
  assert.deepEqual([small.n, small.c, small.h, small.w], [8, 2, 3, 4]);
  assert.equal(small.data.length, 8 * 2 * 12);
  const first = small.data[0]!; // image 0 channel 0 at (top,left): value = 1 + top*6 + left
  const top = Math.floor((first - 1) / 6);
  const left = (first - 1) % 6;
  for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) assert.equal(small.data[y * 4 + x], orig[(top + y) * 6 + left + x]);
  assert.throws(() => randomCrop(20, 1)(copy(b), new Generator(0)), /crop 20x20 is larger than the padded image 8x8/);
});

test('translate shifts with zero fill; random translate is bounded and seeded', () => {
  const b = batchOf(1, 1, 3, 3); // 1..9
  translate(1, -1)(b, new Generator(0));
  assert.deepEqual(Array.from(b.data), [0, 0, 0, 2, 3, 0, 5, 6, 0]);
  const r = batchOf(50, 1, 5, 5);
  const orig = r.data.slice();
  randomTranslate(1)(r, new Generator(7));
  const r2 = { ...r, data: orig.slice() };
  randomTranslate(1)(r2, new Generator(7));
  assert.deepEqual(r.data, r2.data);
  // the center pixel of each image moves by at most one: it equals one of the 3x3 neighbours of the center
  for (let i = 0; i < 50; i++) {
    const center = r.data[i * 25 + 12]!;
    const neighbours: number[] = [];
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) neighbours.push(orig[i * 25 + (2 + dy) * 5 + 2 + dx]!);
    assert.ok(neighbours.includes(center));
  }
  assert.notDeepEqual(r.data, orig);
});

test('normalize per channel and compose', () => {
  const b: ImageBatch = { data: Float32Array.of(0, 1, 0.5, 0.5), n: 1, c: 2, h: 1, w: 2 };
  normalize([0.5, 0.25], [0.5, 0.25])(b, new Generator(0));
  assert.deepEqual(Array.from(b.data), [-1, 1, 1, 1]);
  assert.throws(() => normalize([0.5, 0.5, 0.5], [1, 1, 1])({ ...b }, new Generator(0)), /3 mean\/std values for images with 2 channels/);
  assert.throws(() => normalize([0.5], [0]), /std values must be positive/);
  const c = batchOf(1, 1, 1, 3);
  compose(horizontalFlip(), normalize(1, 2))(c, new Generator(0));
  assert.deepEqual(Array.from(c.data), [1, 0.5, 0]);
});

test('permutePixels is a permutation of positions, shared by channels and invertible', () => {
  const perm = randomPixelPermutation(4, 4, new Generator(9));
  const b = batchOf(2, 3, 4, 4);
  const orig = b.data.slice();
  permutePixels(perm)(b, new Generator(0));
  assert.notDeepEqual(b.data, orig);
  for (let k = 0; k < 6; k++) {
    const plane = Array.from(b.data.subarray(k * 16, (k + 1) * 16));
    assert.deepEqual([...plane].sort((x, y) => x - y), Array.from(orig.subarray(k * 16, (k + 1) * 16)));
    for (let i = 0; i < 16; i++) assert.equal(plane[i], orig[k * 16 + perm[i]!]);
  }
  const inverse = new Int32Array(16);
  perm.forEach((p, i) => (inverse[p] = i));
  permutePixels(inverse)(b, new Generator(0));
  assert.deepEqual(b.data, orig);
  assert.throws(() => permutePixels([0, 0, 1]), /not a permutation of 0\.\.2/);
  assert.throws(() => permutePixels(perm)(batchOf(1, 1, 3, 3), new Generator(0)), /permutation of 16 positions for images of 3x3 = 9 pixels/);
});
