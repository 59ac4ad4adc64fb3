import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx, parseIdxImages, parseIdxLabels, checkSameCount, IdxFormatError, gunzipBytes } from '../../src/data/idx.js';
import { readIdxImagesFile, readIdxLabelsFile, readMaybeGzip } from '../../src/node/dataFiles.js';

function sampleImages(n = 3, h = 4, w = 5): Uint8Array {
  return Uint8Array.from({ length: n * h * w }, (_, i) => (i * 37) % 256);
}

test('encodeIdx / parseIdx round trip for images and labels', () => {
  const pixels = sampleImages();
  const bytes = encodeIdx([3, 4, 5], pixels);
  assert.equal(new DataView(bytes.buffer).getUint32(0), 0x00000803);
  assert.equal(bytes.length, 16 + 60);
  const imgs = parseIdxImages(bytes, 'imgs');
  assert.deepEqual([imgs.count, imgs.height, imgs.width], [3, 4, 5]);
  assert.deepEqual(Array.from(imgs.pixels), Array.from(pixels));
  const labelBytes = encodeIdx([4], Uint8Array.of(0, 9, 3, 7));
  assert.equal(new DataView(labelBytes.buffer).getUint32(0), 0x00000801);
  assert.deepEqual(Array.from(parseIdxLabels(labelBytes, 'labels')), [0, 9, 3, 7]);
  assert.deepEqual(parseIdx(bytes, 'x').dims, [3, 4, 5]);
});

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof IdxFormatError, `expected IdxFormatError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected an error');
}

test('bad magic: not IDX, unsupported type, wrong dimension count', () => {
  const good = encodeIdx([3, 4, 5], sampleImages());
  const notIdx = good.slice();
  notIdx[0] = 0x50; // 'P' like a PNG / HTML page
  assert.match(problem(() => parseIdxImages(notIdx, 'f.idx')), /^f\.idx: bad magic number 0x50000803.*not an IDX file/);
  const floatType = good.slice();
  floatType[2] = 0x0d;
  assert.match(problem(() => parseIdxImages(floatType, 'f.idx')), /^f\.idx: bad magic number 0x00000d03: element type 0x0d \(float32\) is not supported/);
  const junkType = good.slice();
  junkType[2] = 0x42;
  assert.match(problem(() => parseIdxImages(junkType, 'f.idx')), /element type 0x42 is not a valid IDX type/);
  const labels = encodeIdx([4], Uint8Array.of(1, 2, 3, 4));
  assert.match(problem(() => parseIdxImages(labels, 'lab')), /^lab: bad magic number 0x00000801: 1 dimension\(s\), expected 3/);
  assert.match(problem(() => parseIdxLabels(good, 'img')), /^img: bad magic number 0x00000803: 3 dimension\(s\), expected 1/);
});

test('truncated data, truncated header, empty file', () => {
  const good = encodeIdx([3, 4, 5], sampleImages());
  assert.match(problem(() => parseIdxImages(good.subarray(0, good.length - 7), 'cut')), /^cut: truncated: the header says \[3, 4, 5\] = 60 bytes of data, but only 53 follow/);
  assert.match(problem(() => parseIdxImages(good.subarray(0, 10), 'cut')), /^cut: truncated header: 3 dimensions need 16 header bytes, the file has 10/);
  assert.match(problem(() => parseIdxImages(new Uint8Array(0), 'empty')), /^empty: is 0 bytes long, too short/);
});

test('trailing bytes and a wrong count in the header', () => {
  const good = encodeIdx([3, 4, 5], sampleImages());
  const longer = new Uint8Array(good.length + 20);
  longer.set(good);
  assert.match(problem(() => parseIdxImages(longer, 'long')), /^long: 20 trailing bytes after the data/);
  // header claims 2 images while 3 are present -> trailing bytes (wrong count)
  const wrongCount = good.slice();
  new DataView(wrongCount.buffer).setUint32(4, 2);
  assert.match(problem(() => parseIdxImages(wrongCount, 'wc')), /^wc: 20 trailing bytes.*wrong count in the header/);
  // header claims 4 -> truncated
  new DataView(wrongCount.buffer).setUint32(4, 4);
  assert.match(problem(() => parseIdxImages(wrongCount, 'wc')), /^wc: truncated/);
  // images and labels disagree
  const imgs = parseIdxImages(good, 'imgs');
  const labels = parseIdxLabels(encodeIdx([2], Uint8Array.of(1, 2)), 'labs');
  assert.match(problem(() => checkSameCount(imgs, 'imgs', labels, 'labs')), /^imgs: wrong count: 3 images but labs has 2 labels/);
});

test('label out of range names the index and the class count', () => {
  const bytes = encodeIdx([4], Uint8Array.of(0, 9, 10, 2));
  assert.match(problem(() => parseIdxLabels(bytes, 'labels.idx')), /^labels\.idx: label 10 at index 2 is out of range: expected 0\.\.9 for 10 classes/);
  assert.match(problem(() => parseIdxLabels(encodeIdx([2], Uint8Array.of(0, 3)), 'l', 3)), /label 3 at index 1.*0\.\.2 for 3 classes/);
});

test('gzip: browser-safe parser asks to decompress; Node reader gunzips; damage is named', async () => {
  const raw = encodeIdx([3, 4, 5], sampleImages());
  const gz = gzipSync(raw);
  assert.match(problem(() => parseIdxImages(gz, 'a.gz')), /^a\.gz: is gzip-compressed.*decompress it first/);
  // DecompressionStream path (browser-safe)
  assert.deepEqual(Array.from(await gunzipBytes(gz, 'a.gz')), Array.from(raw));
  const dir = mkdtempSync(join(tmpdir(), 'convkit-idx-'));
  try {
    const p = join(dir, 'imgs-idx3-ubyte.gz');
    writeFileSync(p, gz);
    assert.equal(readIdxImagesFile(p).count, 3);
    const rawPath = join(dir, 'imgs-idx3-ubyte');
    writeFileSync(rawPath, raw);
    assert.equal(readIdxImagesFile(rawPath).count, 3);
    // cut the gzip stream short
    const cutPath = join(dir, 'cut-idx3-ubyte.gz');
    writeFileSync(cutPath, gz.subarray(0, gz.length - 12));
    assert.match(problem(() => readIdxImagesFile(cutPath)), new RegExp(`^${cutPath.replace(/[.]/g, '\\.')}: damaged gzip data`));
    // flip bytes in the middle of the deflate stream (CRC or data error)
    const bad = Uint8Array.from(gz);
    for (let i = 20; i < 30; i++) bad[i] = bad[i]! ^ 0xff;
    const badPath = join(dir, 'bad-idx3-ubyte.gz');
    writeFileSync(badPath, bad);
    assert.match(problem(() => readMaybeGzip(badPath)), /bad-idx3-ubyte\.gz: damaged gzip data/);
    await assert.rejects(gunzipBytes(bad, 'bad.gz'), /bad\.gz: damaged gzip data/);
    // an HTML error page saved under a .gz name
    const htmlPath = join(dir, 'page-idx1-ubyte.gz');
    writeFileSync(htmlPath, '<html>404</html>');
    assert.match(problem(() => readIdxLabelsFile(htmlPath)), /has a \.gz name but is not gzip data/);
    assert.match(problem(() => readMaybeGzip(join(dir, 'nope.gz'))), /nope\.gz: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
