// Image bombs (issue 17, finding 4): a 967-byte PNG whose header claims 6,094,876x28 pixels made `convkit predict`
// use 4.77 GB for 9.3 s; JPEGs whose header claims more pixels than the data holds were classified as mostly grey
// images; a truncated JPEG said only "Unknown error". Each is now an ImageFileError naming the file and the cause,
// before anything large is allocated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImageFile, ImageFileError, MAX_IMAGE_PIXELS } from '../../src/node/dataImages.js';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])), 0);
  return Buffer.concat([head, data, crc]);
}
/** A valid gray PNG header claiming width x height, with a small (deflated zero) data stream: a bomb. */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // gray
  const rows = deflateSync(Buffer.alloc(width + 1)); // one row of the many the header claims
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', new Uint8Array())]);
}

const dir = mkdtempSync(join(tmpdir(), 'convkit-bombs-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const isImageError = (pattern: RegExp) => (e: unknown) => e instanceof ImageFileError && pattern.test(e.message);

test('a PNG whose header claims 6,094,876 x 28 pixels is refused from its header, without decoding', async () => {
  const path = join(dir, 'bomb.png');
  const bytes = pngClaiming(6_094_876, 28);
  assert.ok(bytes.length < 10_000, `${bytes.length} bytes`);
  writeFileSync(path, bytes);
  const before = process.memoryUsage().rss;
  await assert.rejects(decodeImageFile(path, { size: 28, channels: 1 }), isImageError(/bomb\.png: .*(6094876x28 pixels, more than convkit decodes|exceeds pixel limit)/));
  assert.ok(process.memoryUsage().rss - before < 256 * 2 ** 20, 'no large allocation');
  assert.ok(6_094_876 * 28 > MAX_IMAGE_PIXELS);
});

test('a JPEG whose header claims more rows than its data holds is an error, not a grey-padded image', async () => {
  const raw = Buffer.alloc(64 * 64 * 3, 0).map((_, i) => (i * 7) % 256);
  const jpeg = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  // SOF0/SOF2 marker: FF C0 or FF C2, then length (2), precision (1), height (2), width (2).
  let at = -1;
  for (let i = 0; i + 1 < jpeg.length; i++) if (jpeg[i] === 0xff && (jpeg[i + 1] === 0xc0 || jpeg[i + 1] === 0xc2)) { at = i; break; }
  assert.ok(at > 0, 'found the frame header');
  const taller = Buffer.from(jpeg);
  taller.writeUInt16BE(64 * 8, at + 5); // claims 512 rows, holds 64
  const path = join(dir, 'taller.jpg');
  writeFileSync(path, taller);
  await assert.rejects(decodeImageFile(path, { size: 28, channels: 1 }), isImageError(/taller\.jpg: not a readable image .*premature end of data segment/));
});

test('a truncated JPEG names the file and says it is damaged or cut short (no bare "Unknown error")', async () => {
  const raw = Buffer.alloc(48 * 48 * 3, 0).map((_, i) => (i * 13) % 256);
  const jpeg = await sharp(raw, { raw: { width: 48, height: 48, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  const path = join(dir, 'cut.jpg');
  writeFileSync(path, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await assert.rejects(decodeImageFile(path, { size: 28, channels: 1 }), (e: unknown) => {
    assert.ok(e instanceof ImageFileError, String(e));
    assert.match(e.message, /cut\.jpg: not a readable image/);
    assert.doesNotMatch(e.message, /: Unknown error$/);
    return true;
  });
});

test('ordinary PNG and JPEG files still decode', async () => {
  const raw = Buffer.alloc(40 * 30 * 3, 0).map((_, i) => (i * 11) % 256);
  for (const [name, bytes] of [['ok.png', await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).png().toBuffer()],
    ['ok.jpg', await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).jpeg().toBuffer()]] as const) {
    writeFileSync(join(dir, name), bytes);
    assert.equal((await decodeImageFile(join(dir, name), { size: 28, channels: 1 })).length, 28 * 28);
  }
});
