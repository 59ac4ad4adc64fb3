import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentBox, cropImage, preprocessDrawing, preprocessImage, type RgbaImage } from '../../src/data/preprocess.js';

/** An RGBA image whose pixel (x, y) is `pixel(x, y)` = [r, g, b, a]. */
function image(width: number, height: number, pixel: (x: number, y: number) => readonly [number, number, number, number]): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 4);
  return { width, height, data };
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('preprocessImage: a constant image stays constant at any size and fit, up or down', () => {
  const flat = image(37, 23, () => [90, 150, 210, 255]);
  for (const fit of ['fill', 'cover', 'contain'] as const) {
    for (const size of [[28, 28], [5, 9], [64, 40]] as const) {
      const rgb = preprocessImage(flat, { channels: 3, size, fit, background: 0 });
      assert.equal(rgb.length, 3 * size[0] * size[1]);
      const plane = size[0] * size[1];
      for (let c = 0; c < 3; c++) {
        const want = [90, 150, 210][c]! / 255;
        const got = rgb.subarray(c * plane, (c + 1) * plane);
        if (fit !== 'contain') close(got, new Float32Array(plane).fill(want), 1e-6, `${fit} ${size} channel ${c}`);
        // letterboxed: the image's constant or the (black) background, nothing in between
        else assert.ok(got.every((v) => Math.abs(v - want) < 1e-6 || v === 0) && got.some((v) => v !== 0), `contain ${size} channel ${c}`);
      }
    }
  }
});

test('preprocessImage: gray is BT.601 luma 0.299 R + 0.587 G + 0.114 B, alpha goes over the background, invert is 1 - v', () => {
  const px = image(1, 1, () => [200, 100, 50, 255]);
  const gray = preprocessImage(px, { channels: 1, size: [1, 1] });
  assert.ok(Math.abs(gray[0]! - (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255) < 1e-7);
  for (const [r, g, b] of [[255, 0, 0], [0, 255, 0], [0, 0, 255]] as const) {
    const v = preprocessImage(image(2, 2, () => [r, g, b, 255]), { channels: 1, size: [2, 2] });
    assert.ok(Math.abs(v[0]! - (0.299 * r + 0.587 * g + 0.114 * b) / 255) < 1e-7);
  }
  // half-transparent white over a gray-60 background: 255 * 128/255 + 60 * (1 - 128/255)
  const half = preprocessImage(image(3, 3, () => [255, 255, 255, 128]), { channels: 3, size: [3, 3], background: 60 });
  close(half, new Float32Array(27).fill((128 + 60 * (127 / 255)) / 255), 1e-6, 'alpha');
  const inverted = preprocessImage(px, { channels: 1, size: [1, 1], invert: true });
  assert.ok(Math.abs(inverted[0]! - (1 - gray[0]!)) < 1e-7);
});

test('preprocessImage: same size is the identity; halving averages with the 1/8, 3/8, 3/8, 1/8 triangle', () => {
  const ramp = image(6, 4, (x, y) => [x * 40 + y, 0, 0, 255]);
  const same = preprocessImage(ramp, { channels: 3, size: [4, 6] });
  for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) assert.ok(Math.abs(same[y * 6 + x]! * 255 - (x * 40 + y)) < 1e-4);
  // Width 8 -> 4: output x has its centre at source 2x + 1, support 2: pixels 2x-1..2x+2 weigh 1,3,3,1 (/8),
  // cut at the edges and renormalised (x = 0: pixels 0,1,2 with 3,3,1 /7).
  const row = [10, 50, 90, 20, 200, 0, 30, 255];
  const half = preprocessImage(image(8, 1, (x) => [row[x]!, 0, 0, 255]), { channels: 3, size: [1, 4] });
  const expect = [
    (3 * 10 + 3 * 50 + 1 * 90) / 7,
    (1 * 50 + 3 * 90 + 3 * 20 + 1 * 200) / 8,
    (1 * 20 + 3 * 200 + 3 * 0 + 1 * 30) / 8,
    (1 * 0 + 3 * 30 + 3 * 255) / 7,
  ];
  close(Array.from(half.subarray(0, 4), (v) => v * 255), expect, 1e-4, 'halving');
  // Doubling: the plain bilinear interpolation (weights 3/4, 1/4 between neighbours, edges clamped)
  const up = preprocessImage(image(2, 1, (x) => [x === 0 ? 0 : 200, 0, 0, 255]), { channels: 3, size: [1, 4] });
  close(Array.from(up.subarray(0, 4), (v) => v * 255), [0, 50, 150, 200], 1e-4, 'doubling');
});

test('preprocessImage: fit modes place a wide image as fill (stretch), cover (centre crop) and contain (letterbox)', () => {
  // 8x4: left half white, right half black.
  const wide = image(8, 4, (x) => (x < 4 ? [255, 255, 255, 255] : [0, 0, 0, 255]));
  const fill = preprocessImage(wide, { channels: 1, size: [4, 4] });
  // stretched: columns 0..1 white, 2..3 black (a 2:1 squeeze with a 4-pixel triangle: columns 1 and 2 blend)
  assert.ok(fill[0]! > 0.99 && fill[3]! < 0.01);
  assert.ok(fill[1]! > 0.5 && fill[2]! < 0.5);
  // cover: the centre 4x4 (source columns 2..5) at scale 1: columns 0,1 white, 2,3 black exactly
  const cover = preprocessImage(wide, { channels: 1, size: [4, 4], fit: 'cover' });
  close(Array.from(cover.subarray(0, 4)), [1, 1, 0, 0], 1e-6, 'cover row');
  // contain: scaled to 4x2, centred vertically on background 100 (rows 0 and 3)
  const contain = preprocessImage(wide, { channels: 1, size: [4, 4], fit: 'contain', background: 100 });
  close(Array.from(contain.subarray(0, 4)), new Array(4).fill(100 / 255), 1e-6, 'contain top row');
  close(Array.from(contain.subarray(12, 16)), new Array(4).fill(100 / 255), 1e-6, 'contain bottom row');
  assert.ok(contain[4]! > 0.99 && contain[7]! < 0.01);
  // a 3x1 image contained in 4x4: scaled width 4, height round(4/3) = 1, at row floor(3/2) = 1
  const strip = preprocessImage(image(3, 1, () => [255, 255, 255, 255]), { channels: 1, size: [4, 4], fit: 'contain' });
  assert.deepEqual(Array.from(strip, (v) => Math.round(v)), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('preprocessImage: bad sizes and buffers are clear errors', () => {
  assert.throws(() => preprocessImage({ width: 2, height: 2, data: new Uint8Array(15) }, { channels: 1, size: [2, 2] }), /2x2 RGBA image has 16 bytes, got 15/);
  assert.throws(() => preprocessImage(image(2, 2, () => [0, 0, 0, 255]), { channels: 1, size: [0, 2] }), /size must be positive integers/);
  assert.throws(() => preprocessImage(image(2, 2, () => [0, 0, 0, 255]), { channels: 2 as 1, size: [2, 2] }), /channels must be 1 or 3/);
  assert.throws(() => preprocessImage(image(2, 2, () => [0, 0, 0, 255]), { channels: 1, size: [2, 2], background: 300 }), /background must be a gray level/);
});

test('contentBox, cropImage and preprocessDrawing: ink cropped, its longer side scaled to inkSize, centred', () => {
  const blank = image(100, 80, () => [0, 0, 0, 255]);
  assert.equal(contentBox(blank), null);
  assert.ok(preprocessDrawing(blank, { channels: 1, size: [28, 28], inkSize: 20 }).every((v) => v === 0));
  // a white 40 x 10 bar at x 30..69, y 50..59
  const bar = image(100, 80, (x, y) => (x >= 30 && x < 70 && y >= 50 && y < 60 ? [255, 255, 255, 255] : [0, 0, 0, 255]));
  assert.deepEqual(contentBox(bar), { x: 30, y: 50, width: 40, height: 10 });
  const crop = cropImage(bar, { x: 30, y: 50, width: 40, height: 10 });
  assert.ok(crop.data.every((v) => v === 255));
  const x = preprocessDrawing(bar, { channels: 1, size: [28, 28], inkSize: 20 });
  // the bar becomes 20 x 5 (40:10 kept), centred: columns 4..23, rows 4 + floor((20 - 5) / 2) = 11..15
  for (let r = 0; r < 28; r++) {
    for (let c = 0; c < 28; c++) {
      const inside = c >= 4 && c < 24 && r >= 11 && r < 16;
      assert.ok(Math.abs(x[r * 28 + c]! - (inside ? 1 : 0)) < 1e-6, `(${r}, ${c}) = ${x[r * 28 + c]}`);
    }
  }
  assert.throws(() => preprocessDrawing(bar, { channels: 1, size: [28, 28], inkSize: 29 }), /inkSize must be an integer in 1..28/);
  assert.throws(() => cropImage(bar, { x: 90, y: 0, width: 20, height: 5 }), /outside the 100x80 image/);
});
