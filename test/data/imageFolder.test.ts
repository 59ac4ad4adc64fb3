import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImageFile, loadImageFolder, ImageFileError } from '../../src/node/dataImages.js';

/** A w×h RGB image: left half pure red, right half pure blue. */
function halves(w: number, h: number): Buffer {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = (y * w + x) * 3;
    if (x < w / 2) px[o] = 255;
    else px[o + 2] = 255;
  }
  return px;
}

async function makeFolder(root: string): Promise<void> {
  mkdirSync(join(root, 'cats'), { recursive: true });
  mkdirSync(join(root, 'dogs'), { recursive: true });
  const raw = { raw: { width: 16, height: 8, channels: 3 as const } };
  await sharp(halves(16, 8), raw).png().toFile(join(root, 'cats', 'a.png'));
  await sharp(halves(16, 8), raw).jpeg({ quality: 95 }).toFile(join(root, 'cats', 'b.JPG'));
  // a white gray image and a half-transparent one
  await sharp({ create: { width: 5, height: 5, channels: 3, background: { r: 200, g: 200, b: 200 } } }).png().toFile(join(root, 'dogs', 'c.png'));
  await sharp({ create: { width: 6, height: 6, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } } }).png().toFile(join(root, 'dogs', 'd.png'));
  writeFileSync(join(root, 'dogs', 'notes.txt'), 'ignored: not an image extension');
}

test('image folder: classes from subfolders, PNG and JPEG, resized to NCHW RGB and grayscale', async () => {
  const root = mkdtempSync(join(tmpdir(), 'convkit-img-'));
  try {
    await makeFolder(root);
    const ds = await loadImageFolder(root, { size: [4, 8], channels: 3 });
    assert.deepEqual(ds.classNames, ['cats', 'dogs']);
    assert.deepEqual(Array.from(ds.labels), [0, 0, 1, 1]);
    assert.deepEqual(ds.imageShape, [3, 4, 8]);
    assert.equal(ds.source.kind, 'image-folder');
    const plane = 32;
    // a.png: red channel 255 on the left, blue 255 on the right, NCHW layout
    const a = ds.images.subarray(0, 3 * plane);
    assert.equal(a[0], 255); // R at (0,0)
    assert.equal(a[2 * plane + 0], 0); // B at (0,0)
    assert.equal(a[7], 0); // R at (0,7)
    assert.equal(a[2 * plane + 7], 255); // B at (0,7)
    // the JPEG is close to the same picture
    const b = ds.images.subarray(3 * plane, 6 * plane);
    assert.ok(Math.abs(b[0]! - 255) < 20 && Math.abs(b[2 * plane + 7]! - 255) < 20);
    const c = ds.images.subarray(6 * plane, 9 * plane);
    assert.ok(c.every((v) => v === 200));
    const d = ds.images.subarray(9 * plane, 12 * plane);
    assert.ok(d.every((v) => v === 0), 'transparent pixels go over the black background');
    const gray = await loadImageFolder(root, { size: 6, channels: 1 });
    assert.deepEqual(gray.imageShape, [1, 6, 6]);
    assert.equal(gray.images[2 * 36], 200);
    const x = gray.getImage(2);
    assert.ok(Math.abs(x[0]! - 200 / 255) < 1e-6);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('image folder: a corrupt image is an error naming it, or skipped with a warning', async () => {
  const root = mkdtempSync(join(tmpdir(), 'convkit-img-'));
  try {
    await makeFolder(root);
    const bad = join(root, 'dogs', 'broken.png');
    writeFileSync(bad, Buffer.from('\x89PNG\r\n\x1a\n this is not really a png'));
    await assert.rejects(loadImageFolder(root, { size: 8 }), (e: Error) =>
      e instanceof ImageFileError && e.message.startsWith(`${bad}: not a readable image (PNG or JPEG expected)`));
    const warnings: string[] = [];
    const ds = await loadImageFolder(root, { size: 8, skipBad: true, onWarning: (m) => warnings.push(m) });
    assert.equal(ds.length, 4);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /skipping .*broken\.png: not a readable image/);
    await assert.rejects(loadImageFolder(join(root, 'missing'), { size: 8 }), /missing: no such folder/);
    mkdirSync(join(root, 'flat'));
    await assert.rejects(loadImageFolder(join(root, 'flat'), { size: 8 }), /flat: has no class subfolders/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('loadImageFile: one image to a [1,C,H,W] tensor; non-image and missing files are clear errors', async () => {
  const root = mkdtempSync(join(tmpdir(), 'convkit-img-'));
  try {
    await makeFolder(root);
    const x = await loadImageFile(join(root, 'dogs', 'c.png'), { size: 28, channels: 1 });
    assert.deepEqual(x.shape, [1, 1, 28, 28]);
    assert.ok(x.data.every((v) => Math.abs(v - 200 / 255) < 1e-6));
    const rgb = await loadImageFile(join(root, 'cats', 'a.png'), { size: [8, 16] });
    assert.deepEqual(rgb.shape, [1, 3, 8, 16]);
    const txt = join(root, 'dogs', 'notes.txt');
    await assert.rejects(loadImageFile(txt, { size: 28 }), new RegExp(`^ImageFileError: ${txt.replace(/[.]/g, '\\.')}: not a readable image`));
    await assert.rejects(loadImageFile(join(root, 'nope.png'), { size: 28 }), /nope\.png: no such file/);
    await assert.rejects(loadImageFile(root, { size: 28 }), /is not a file/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
