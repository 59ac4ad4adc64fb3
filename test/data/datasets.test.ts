import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  loadFashionMnist, loadMnist, loadEmbeddedFashionMnist, describeDatasetSources, resolveLocalSplit,
  embeddedSubsetDir, datasetCacheDir, DatasetNotFoundError, formatDatasetSources,
} from '../../src/node/datasets.js';
import { md5Hex, readMaybeGzip } from '../../src/node/dataFiles.js';
import { encodeIdx } from '../../src/data/idx.js';
import { FASHION_MNIST_CLASSES } from '../../src/data/catalog.js';

const DEBIAN = '/usr/share/datasets/fashion-mnist';
const hasDebian = existsSync(join(DEBIAN, 'train-images-idx3-ubyte.gz'));
const quiet = { onWarning: () => {} };
/** An environment with nothing in it, so the machine's own settings never leak into a test. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: '/nonexistent-home', XDG_CACHE_HOME: join(tmpdir(), 'convkit-no-cache-here'), ...extra };
}

test('Debian Fashion-MNIST files load with the right shapes, classes and content md5', { skip: hasDebian ? false : `skipped: ${DEBIAN} is absent (apt-get install dataset-fashion-mnist)` }, async () => {
  // the content md5 facts of the official files (TOOLCHAIN.md)
  assert.equal(md5Hex(readMaybeGzip(join(DEBIAN, 'train-labels-idx1-ubyte.gz'))), '9018921c3c673c538a1fc5bad174d6f9');
  assert.equal(md5Hex(readMaybeGzip(join(DEBIAN, 't10k-images-idx3-ubyte.gz'))), '8181f5470baa50b63fa0f6fddb340f0a');
  const warnings: string[] = [];
  const opts = { env: cleanEnv(), download: false, onWarning: (m: string) => warnings.push(m) };
  const train = await loadFashionMnist({ ...opts, split: 'train' });
  const testSet = await loadFashionMnist({ ...opts, split: 'test' });
  assert.deepEqual(warnings, []); // content md5 checks passed silently
  assert.equal(train.source.kind, 'debian');
  assert.equal(train.length, 60000);
  assert.equal(testSet.length, 10000);
  assert.deepEqual(train.imageShape, [1, 28, 28]);
  assert.deepEqual(train.classNames, FASHION_MNIST_CLASSES);
  assert.deepEqual(Array.from(train.classCounts()), new Array(10).fill(6000));
  assert.deepEqual(Array.from(testSet.classCounts()), new Array(10).fill(1000));
  assert.equal(md5Hex(train.images as Uint8Array), md5Hex(readMaybeGzip(join(DEBIAN, 'train-images-idx3-ubyte.gz')).subarray(16)));
  assert.equal(train.labels[0], 9); // the first training image is an ankle boot
  const { mean, std } = train.channelStats();
  assert.ok(Math.abs(mean[0]! - 0.2860) < 1e-3 && Math.abs(std[0]! - 0.3530) < 1e-3, `mean ${mean} std ${std}`);
});

test('embedded subset: 2000/1000 real images, balanced real labels, license and citation beside it', async () => {
  const train = loadEmbeddedFashionMnist('train');
  const testSet = loadEmbeddedFashionMnist('test');
  assert.equal(train.length, 2000);
  assert.equal(testSet.length, 1000);
  assert.equal(train.source.kind, 'embedded-subset');
  assert.equal(train.source.isSubset, true);
  assert.deepEqual(Array.from(train.classCounts()), new Array(10).fill(200));
  assert.deepEqual(Array.from(testSet.classCounts()), new Array(10).fill(100));
  const dir = embeddedSubsetDir();
  assert.match(readFileSync(join(dir, 'LICENSE'), 'utf8'), /MIT License[\s\S]*Zalando SE/);
  assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /Xiao.*Rasul.*Vollgraf[\s\S]*1708\.07747/);
  // they are the real images: the selection indices point into the official files
  const selection = JSON.parse(readFileSync(join(dir, 'SELECTION.json'), 'utf8')) as { train: { indices: number[] } };
  assert.equal(selection.train.indices.length, 2000);
  if (hasDebian) {
    const full = readMaybeGzip(join(DEBIAN, 'train-images-idx3-ubyte.gz')).subarray(16);
    const fullLabels = readMaybeGzip(join(DEBIAN, 'train-labels-idx1-ubyte.gz')).subarray(8);
    for (const k of [0, 1, 777, 1999]) {
      const src = selection.train.indices[k]!;
      assert.deepEqual(Buffer.from(train.images.subarray(k * 784, (k + 1) * 784)), Buffer.from(full.subarray(src * 784, (src + 1) * 784)));
      assert.equal(train.labels[k], fullLabels[src]);
    }
  }
});

/** A folder holding a tiny but well-formed "Fashion-MNIST" test split, in a chosen layout. */
function writeFakeSplit(dir: string, count: number, gz = true): void {
  mkdirSync(dir, { recursive: true });
  const pixels = Uint8Array.from({ length: count * 784 }, (_, i) => i % 251);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const enc = (b: Uint8Array): Uint8Array => (gz ? gzipSync(b) : b);
  const ext = gz ? '.gz' : '';
  writeFileSync(join(dir, `t10k-images-idx3-ubyte${ext}`), enc(encodeIdx([count, 28, 28], pixels)));
  writeFileSync(join(dir, `t10k-labels-idx1-ubyte${ext}`), enc(encodeIdx([count], labels)));
}

test('source order: dataDir, then CONVKIT_DATA, then Debian, then cache; subset when offline', async () => {
  const root = mkdtempSync(join(tmpdir(), 'convkit-ds-'));
  try {
    const dataDir = join(root, 'given');
    const envDir = join(root, 'env');
    const debDir = join(root, 'debian');
    const cache = join(root, 'cache');
    writeFakeSplit(dataDir, 10000);
    writeFakeSplit(join(envDir, 'fashion-mnist'), 10000, false); // the <dir>/<name> layout, raw files
    writeFakeSplit(join(debDir), 10000);
    writeFakeSplit(join(cache, 'convkit', 'fashion-mnist'), 10000);
    const env = cleanEnv({ CONVKIT_DATA: envDir, XDG_CACHE_HOME: cache });
    const base = { env, debianDir: debDir, download: false, ...quiet } as const;
    assert.equal(resolveLocalSplit('fashion-mnist', 'test', { ...base, dataDir })?.kind, 'data-dir');
    assert.equal(resolveLocalSplit('fashion-mnist', 'test', base)?.kind, 'env');
    assert.equal(resolveLocalSplit('fashion-mnist', 'test', { ...base, env: { ...env, CONVKIT_DATA: join(root, 'empty') } })?.kind, 'debian');
    assert.equal(resolveLocalSplit('fashion-mnist', 'test', { ...base, env: cleanEnv({ XDG_CACHE_HOME: cache }), debianDir: null })?.kind, 'cache');
    assert.equal(datasetCacheDir('fashion-mnist', env), join(cache, 'convkit', 'fashion-mnist'));
    assert.equal(datasetCacheDir('mnist', { HOME: '/home/u' }), '/home/u/.cache/convkit/mnist');
    // nothing anywhere and offline -> the embedded subset, with a warning that says so
    const warnings: string[] = [];
    const offlineEnv = cleanEnv({ CONVKIT_OFFLINE: '1' });
    const sub = await loadFashionMnist({ split: 'test', env: offlineEnv, debianDir: null, onWarning: (m) => warnings.push(m) });
    assert.equal(sub.source.kind, 'embedded-subset');
    assert.equal(sub.length, 1000);
    assert.match(warnings.join('\n'), /using the embedded real subset \(1000 images\)/);
    // loading from a data dir really reads those files
    const fromDir = await loadFashionMnist({ ...base, dataDir, split: 'test' });
    assert.equal(fromDir.source.kind, 'data-dir');
    assert.equal(fromDir.length, 10000);
    assert.equal(fromDir.labels[13], 3);
    // describeDatasetSources reports each split without touching the network
    const rows = describeDatasetSources({ env: offlineEnv, debianDir: null });
    const fm = rows.find((r) => r.dataset === 'fashion-mnist' && r.split === 'train')!;
    assert.equal(fm.kind, 'embedded-subset');
    assert.equal(fm.count, 2000);
    assert.equal(rows.find((r) => r.dataset === 'mnist')!.kind, 'missing');
    const table = formatDatasetSources(rows);
    assert.match(table, /^dataset\s+split\s+source\s+images\s+location/);
    assert.match(table, /fashion-mnist\s+train\s+embedded-subset\s+2000/);
    assert.match(table, /mnist\s+test\s+missing/);
    assert.equal(describeDatasetSources({ ...base })[1]!.kind, 'env');
    const online = describeDatasetSources({ env: cleanEnv(), debianDir: null, mirrors: ['http://127.0.0.1:9/'] });
    assert.equal(online[0]!.kind, 'download');
    assert.equal(online[0]!.location, 'http://127.0.0.1:9/');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an explicit dataDir without files, MNIST with no files, and a wrong-sized file are clear errors', async () => {
  const root = mkdtempSync(join(tmpdir(), 'convkit-ds-'));
  try {
    const env = cleanEnv({ CONVKIT_OFFLINE: '1' });
    await assert.rejects(loadFashionMnist({ dataDir: join(root, 'nope'), env }), (e: Error) => e instanceof DatasetNotFoundError && /--data .*nope: no such folder/.test(e.message));
    mkdirSync(join(root, 'empty'));
    await assert.rejects(loadFashionMnist({ dataDir: join(root, 'empty'), env }), /no Fashion-MNIST train files there \(looked for train-images-idx3-ubyte\[\.gz\]/);
    await assert.rejects(loadMnist({ split: 'test', env }), (e: Error) => e instanceof DatasetNotFoundError && /MNIST test files not found.*downloads are off.*--data DIR/.test(e.message));
    writeFakeSplit(join(root, 'small'), 50);
    await assert.rejects(loadFashionMnist({ dataDir: join(root, 'small'), split: 'test', env }), /t10k-images-idx3-ubyte\.gz: wrong count: 50 images, expected 10000/);
    // a corrupt file in the data dir is reported with its path
    const corrupt = join(root, 'corrupt');
    writeFakeSplit(corrupt, 10000);
    const p = join(corrupt, 't10k-images-idx3-ubyte.gz');
    writeFileSync(p, readFileSync(p).subarray(0, 5000));
    await assert.rejects(loadFashionMnist({ dataDir: corrupt, split: 'test', env }), new RegExp(`${p.replace(/[.]/g, '\\.')}: damaged gzip data`));
    // MNIST from a torchvision-style folder
    const tv = join(root, 'tv', 'MNIST', 'raw');
    writeFakeSplit(tv, 10000);
    const mnist = await loadMnist({ dataDir: join(root, 'tv'), split: 'test', env });
    assert.equal(mnist.classNames[3], '3');
    assert.equal(mnist.length, 10000);
    // the embedded subset can be served from a dataDir too (it is not a full set: wrong count)
    const subsetCopy = join(root, 'subsetcopy');
    mkdirSync(subsetCopy);
    for (const f of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) copyFileSync(join(embeddedSubsetDir(), f), join(subsetCopy, f));
    await assert.rejects(loadFashionMnist({ dataDir: subsetCopy, split: 'test', env }), /wrong count: 1000 images, expected 10000/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
