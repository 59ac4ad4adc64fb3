import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { downloadFile, DownloadError, writeFileAtomic } from '../../src/node/dataDownload.js';
import { loadFashionMnist, resolveLocalSplit } from '../../src/node/datasets.js';
import { md5Hex } from '../../src/node/dataFiles.js';
import { encodeIdx } from '../../src/data/idx.js';

/** A 127.0.0.1 server with a few behaviours: plain files, a cut-off body, a request that never answers. */
async function startServer(files: Record<string, Uint8Array>): Promise<{ server: Server; base: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').slice(1);
    hits.push(path);
    if (path === 'hang') return; // never answers
    if (path === 'cut') {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
      setTimeout(() => res.destroy(), 20);
      return;
    }
    const body = files[path];
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}/`, hits };
}

const count = 10000;
const images = gzipSync(encodeIdx([count, 28, 28], Uint8Array.from({ length: count * 784 }, (_, i) => (i * 7) % 256)));
const labels = gzipSync(encodeIdx([count], Uint8Array.from({ length: count }, (_, i) => (i * 3) % 10)));
const files = { 't10k-images-idx3-ubyte.gz': images, 't10k-labels-idx1-ubyte.gz': labels };
const goodChecksums = { 't10k-images-idx3-ubyte.gz': md5Hex(images), 't10k-labels-idx1-ubyte.gz': md5Hex(labels) };

test('downloadFile: md5 good and bad, 404, cut transfer, timeout; never a partial file', async () => {
  const { server, base } = await startServer(files);
  const dir = mkdtempSync(join(tmpdir(), 'convkit-dl-'));
  try {
    const dest = join(dir, 'sub', 'a.gz');
    await downloadFile(base + 't10k-labels-idx1-ubyte.gz', dest, { md5: md5Hex(labels) });
    assert.deepEqual(new Uint8Array(readFileSync(dest)), new Uint8Array(labels));
    const dest2 = join(dir, 'b.gz');
    await assert.rejects(downloadFile(base + 't10k-labels-idx1-ubyte.gz', dest2, { md5: '0'.repeat(32) }), (e: Error) =>
      e instanceof DownloadError && /md5 mismatch: expected 0{32}, got [0-9a-f]{32}.*not saved/.test(e.message));
    await assert.rejects(downloadFile(base + 'missing.gz', dest2), /server answered 404/);
    await assert.rejects(downloadFile(base + 'cut', dest2), /download .*\/cut: (transfer interrupted|received)/);
    const t0 = Date.now();
    await assert.rejects(downloadFile(base + 'hang', dest2, { timeoutMs: 300 }), /timed out after 300 ms/);
    assert.ok(Date.now() - t0 < 3000);
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((ok) => closed.close(() => ok()));
    await assert.rejects(downloadFile(`http://127.0.0.1:${closedPort}/x.gz`, dest2, { timeoutMs: 2000 }), /request failed \(ECONNREFUSED\)/);
    // nothing but the one good file: no temporary or partial files left behind
    assert.deepEqual(readdirSync(dir).sort(), ['sub']);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['a.gz']);
    // writeFileAtomic replaces an existing file whole
    writeFileAtomic(dest, Uint8Array.of(1, 2, 3));
    assert.deepEqual([...readFileSync(dest)], [1, 2, 3]);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['a.gz']);
  } finally {
    server.close();
    server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dataset download: good md5 goes to the cache; wrong md5 keeps nothing and falls back to the subset', async () => {
  const { server, base, hits } = await startServer(files);
  const root = mkdtempSync(join(tmpdir(), 'convkit-dl-'));
  try {
    const env = { HOME: join(root, 'home'), XDG_CACHE_HOME: join(root, 'xdg') };
    const cacheDir = join(root, 'xdg', 'convkit', 'fashion-mnist');
    // wrong md5: the official checksums do not match these files
    const warnings: string[] = [];
    const sub = await loadFashionMnist({ split: 'test', env, debianDir: null, mirrors: [base], onWarning: (m) => warnings.push(m) });
    assert.equal(sub.source.kind, 'embedded-subset');
    assert.match(warnings.join('\n'), /download failed: download http:\/\/127\.0\.0\.1:\d+\/t10k-images-idx3-ubyte\.gz: md5 mismatch: expected bef4ecab320f06d8554ea6380940ec79/);
    assert.ok(!existsSync(cacheDir) || readdirSync(cacheDir).length === 0, 'no partial or unverified file in the cache');
    // download disabled: the server is never asked
    const before = hits.length;
    const off = await loadFashionMnist({ split: 'test', env, debianDir: null, mirrors: [base], download: false, onWarning: () => {} });
    assert.equal(off.source.kind, 'embedded-subset');
    const offEnv = await loadFashionMnist({ split: 'test', env: { ...env, CONVKIT_OFFLINE: '1' }, debianDir: null, mirrors: [base], onWarning: () => {} });
    assert.equal(offEnv.source.kind, 'embedded-subset');
    assert.equal(hits.length, before);
    // good md5 (checksums of the served files): a first mirror that 404s, then the good one
    const ds = await loadFashionMnist({
      split: 'test', env, debianDir: null, mirrors: [base + 'nothing-here/', base], checksums: goodChecksums, onWarning: () => {},
    });
    assert.equal(ds.source.kind, 'download');
    assert.equal(ds.length, count);
    assert.equal(ds.labels[7], 1);
    assert.deepEqual(readdirSync(cacheDir).sort(), ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']);
    assert.equal(md5Hex(readFileSync(join(cacheDir, 't10k-images-idx3-ubyte.gz'))), goodChecksums['t10k-images-idx3-ubyte.gz']);
    // next time it comes from the cache, offline
    assert.equal(resolveLocalSplit('fashion-mnist', 'test', { env, debianDir: null })?.kind, 'cache');
  } finally {
    server.close();
    server.closeAllConnections();
    rmSync(root, { recursive: true, force: true });
  }
});
