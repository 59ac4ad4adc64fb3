// Gzip bombs and lying headers (issue 17, finding 3): a 4.2 MB .gz reached 8.37 GB of resident memory and ran for
// 47 s before failing with "bad magic number", because the whole stream was inflated before its header was read.
// Now the IDX header is read from the first inflated bytes and bounds everything after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, gunzipBytes, IdxFormatError, MAX_IDX_BYTES } from '../../src/data/idx.js';
import { gunzipNamed, readIdxImagesFile } from '../../src/node/dataFiles.js';

/** The header alone of an unsigned-byte IDX file with these dimensions. */
function header(dims: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x800 + dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return out;
}

/** An IDX header for one 28x28 image followed by `extra` zero bytes, gzipped: a bomb when `extra` is large. */
function bomb(extra: number, patchTrailer: boolean): Uint8Array {
  const body = new Uint8Array(16 + 784 + extra);
  body.set(header([1, 28, 28]));
  const gz = new Uint8Array(gzipSync(body, { level: 9 }));
  if (patchTrailer) new DataView(gz.buffer, gz.byteOffset).setUint32(gz.length - 4, 16 + 784, true); // ISIZE as the header says
  return gz;
}

const EXTRA = 48 * 2 ** 20;

test('a gzip IDX file that inflates to far more than its header says fails on its gzip trailer, before inflating', () => {
  const gz = bomb(EXTRA, false);
  assert.ok(gz.length < 100_000, `the bomb is ${gz.length} bytes`);
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => gunzipNamed(gz, 'bomb-idx3-ubyte.gz'), (e: unknown) => e instanceof IdxFormatError && /bomb-idx3-ubyte\.gz: damaged gzip data: the IDX header announces 800 bytes but the gzip trailer says the stream inflates to 50332448/.test(e.message));
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 2 ** 20, 'nothing near the bomb\'s size was allocated');
});

test('a bomb whose gzip trailer lies too stops inflating one byte past the size its header announces', async () => {
  const gz = bomb(EXTRA, true);
  assert.throws(() => gunzipNamed(gz, 'bomb.gz'), /bomb\.gz: more data than its header says: the header announces 800 bytes/);
  await assert.rejects(gunzipBytes(gz, 'bomb.gz', { idx: true }), /bomb\.gz: more data than its header says/);
});

test('a header announcing more than convkit reads from one file is refused before anything is inflated', async () => {
  const gz = new Uint8Array(gzipSync(Buffer.concat([header([100_000, 200, 200]), Buffer.alloc(1000)])));
  assert.throws(() => gunzipNamed(gz, 'huge.gz'), new RegExp(`huge\\.gz: the header says \\[100000, 200, 200\\] = 4000000000 bytes of data, more than convkit reads from one IDX file \\(${MAX_IDX_BYTES} bytes\\)`));
  await assert.rejects(gunzipBytes(gz, 'huge.gz', { idx: true }), /more than convkit reads from one IDX file/);
  // A smaller bound is an option (tests, memory-tight hosts).
  const fine = new Uint8Array(gzipSync(encodeIdx([30, 28, 28], new Uint8Array(30 * 784))));
  assert.throws(() => gunzipNamed(fine, 'fine.gz', { maxBytes: 10_000 }), /more than convkit reads from one IDX file \(10000 bytes\)/);
  assert.equal(gunzipNamed(fine, 'fine.gz').length, 16 + 30 * 784);
});

test('a header announcing more than the gzip stream can possibly hold is called cut short without inflating', () => {
  const gz = new Uint8Array(gzipSync(Buffer.concat([header([60_000, 28, 28]), Buffer.alloc(100)])));
  assert.throws(() => gunzipNamed(gz, 'cut.gz'), /cut\.gz: damaged gzip data: the header says \[60000, 28, 28\] = 47040000 bytes of data, more than \d+ bytes of gzip can hold/);
});

test('real files still read: the browser path and the Node path give the same bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-idx-bounds-'));
  try {
    const pixels = Uint8Array.from({ length: 5 * 784 }, (_, i) => (i * 31) % 256);
    const raw = encodeIdx([5, 28, 28], pixels);
    const gz = new Uint8Array(gzipSync(raw));
    writeFileSync(join(dir, 'ok-idx3-ubyte.gz'), gz);
    assert.deepEqual(Array.from(readIdxImagesFile(join(dir, 'ok-idx3-ubyte.gz')).pixels), Array.from(pixels));
    assert.deepEqual(Array.from(await gunzipBytes(gz, 'ok.gz', { idx: true })), Array.from(raw));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
