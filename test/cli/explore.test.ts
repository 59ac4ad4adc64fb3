// `convkit explore` spawned as a process (from source through tsx) on a free port, serving a minified build of the
// explorer made here: the page and its bundles with the cross-origin isolation headers, the embedded subset, the
// local full datasets (only their files), a --checkpoint's files and index; and the usage errors (exit 2, one line).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWeb } from '../../scripts/build-web.mjs';

const root = new URL('../..', import.meta.url).pathname;
const main = join(root, 'src/cli/main.ts');
const tsx = import.meta.resolve('tsx');
const work = mkdtempSync(join(tmpdir(), 'convkit-explore-'));
const appDir = join(work, 'app');
const runDir = join(work, 'run');
const idxDir = join(work, 'idx');
const subset = join(root, 'data', 'fashion-mnist-subset');
// No downloads and a private cache; CONVKIT_DATA points at copies of the subset's files named as the full ones,
// so /datasets/ serves them (CONVKIT_DATA comes before Debian's folder).
const env = { ...process.env, CONVKIT_OFFLINE: '1', XDG_CACHE_HOME: join(work, 'cache'), CONVKIT_DATA: idxDir, FORCE_COLOR: '0' };
const children: ChildProcess[] = [];

before(async () => {
  await buildWeb({ outdir: appDir, minify: true, explorerOnly: true, clean: true });
  mkdirSync(idxDir);
  for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) copyFileSync(join(subset, f), join(idxDir, f));
  const trained = spawnSync(process.execPath, ['--import', tsx, main, 'train', '--model', 'mlp', '--dataset', 'fashion-mnist-subset', '--epochs', '1',
    '--train-limit', '200', '--test-limit', '100', '--out', runDir, '--threads', '1'], { cwd: work, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(trained.status, 0, trained.stderr);
  // Beside the checkpoint: must not be reachable through /checkpoint/.
  writeFileSync(join(runDir, 'best', 'notes.txt'), 'private');
});

after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface Explore { child: ChildProcess; url: string; stderr: () => string; exited: Promise<number | null> }

/** Start `convkit explore ARGS` and wait for the URL it prints on stdout. */
function explore(...args: string[]): Promise<Explore> {
  const child = spawn(process.execPath, ['--import', tsx, main, 'explore', ...args], { cwd: work, env });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`explore printed no URL in 60 s; stderr:\n${stderr}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`explore exited (${code}) before serving:\n${stderr}`)); });
  });
}

/** Run `convkit explore ARGS` expecting it to stop at once. */
function exploreFails(...args: string[]): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', tsx, main, 'explore', ...args], { cwd: work, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

function assertUsageError(r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^convkit: /);
  assert.match(lines[0]!, pattern);
  assert.equal(r.stdout, '', 'nothing served, no URL printed');
}

/** GET a raw path (no client-side normalisation of `..`), status and body. */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

test('explore --checkpoint: the app, its bundles, /data/, /datasets/ and /checkpoint/, cross-origin isolated', async () => {
  const server = await explore('--port', '0', '--app', appDir, '--checkpoint', runDir);
  try {
    const page = await fetch(server.url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\.\/explorer\.js">/);

    const js = await fetch(server.url + 'explorer.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(js.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.deepEqual(new Uint8Array(await js.arrayBuffer()), new Uint8Array(readFileSync(join(appDir, 'explorer.js'))));
    const worker = await fetch(server.url + 'explorer-worker.js');
    assert.equal(worker.status, 200);
    // Minified: long single lines, not the source's layout.
    const workerText = await worker.text();
    assert.ok(workerText.split('\n').length < workerText.length / 1000, 'the served worker bundle is minified');

    const wasm = await fetch(server.url + 'kernels.wasm');
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    const wasmBytes = new Uint8Array(await wasm.arrayBuffer());
    assert.deepEqual([...wasmBytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], 'wasm magic');
    assert.ok(WebAssembly.validate(wasmBytes), 'a valid wasm module');

    const subsetFile = await fetch(server.url + 'data/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz');
    assert.equal(subsetFile.status, 200);
    assert.equal(subsetFile.headers.get('content-encoding'), null, '.gz served as the bytes on disk');
    assert.deepEqual(new Uint8Array(await subsetFile.arrayBuffer()), new Uint8Array(readFileSync(join(subset, 't10k-labels-idx1-ubyte.gz'))));

    // The lab's recorded results, which the claims tab draws (depth curves).
    const depth = await fetch(server.url + 'lab/depth.json');
    assert.equal(depth.status, 200);
    assert.equal(((await depth.json()) as { name: string }).name, 'depth');
    const index = (await (await fetch(server.url + 'datasets/index.json')).json()) as { datasets: { name: string; source: string; files: Record<string, string> }[] };
    const fashion = index.datasets.find((d) => d.name === 'fashion-mnist');
    assert.ok(fashion, `fashion-mnist listed: ${JSON.stringify(index)}`);
    assert.equal(fashion.source, 'env');
    assert.deepEqual(Object.keys(fashion.files).sort(), ['testImages', 'testLabels', 'trainImages', 'trainLabels']);
    assert.equal(fashion.files['testLabels'], '/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz');
    for (const d of index.datasets) {
      for (const url of Object.values(d.files)) {
        const r = await fetch(new URL(url, server.url));
        assert.equal(r.status, 200, url);
        await r.arrayBuffer();
      }
    }
    const trainImages = await fetch(new URL(fashion.files['trainImages']!, server.url));
    assert.deepEqual(new Uint8Array(await trainImages.arrayBuffer()), new Uint8Array(readFileSync(join(idxDir, 'train-images-idx3-ubyte.gz'))));
    // Only the listed files: no listing, no neighbours, no way out.
    assert.equal((await rawGet(server.url, '/datasets/fashion-mnist/')).status, 404);
    assert.equal((await rawGet(server.url, '/datasets/fashion-mnist/README')).status, 404);
    // (`%2e%2e/` is normalised away by the URL parser; an encoded slash survives it and reaches the file lookup.)
    assert.equal((await rawGet(server.url, '/datasets/fashion-mnist/..%2f..%2fpackage.json')).status, 404);
    const outside = await rawGet(server.url, '/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd');
    assert.equal(outside.status, 403);
    assert.doesNotMatch(outside.body, /root:/);

    const ckIndex = (await (await fetch(server.url + 'checkpoint/index.json')).json()) as { origin: string; model: string; epoch: number; files: Record<string, string> };
    assert.equal(ckIndex.origin, join(runDir, 'best'), 'a run folder resolves to best/, as eval does');
    assert.equal(ckIndex.model, 'mlp');
    assert.equal(ckIndex.epoch, 1);
    assert.deepEqual(Object.keys(ckIndex.files).sort(), ['checkpoint.json', 'model.safetensors', 'optimizer.safetensors']);
    for (const [name, url] of Object.entries(ckIndex.files)) {
      const r = await fetch(new URL(url, server.url));
      assert.equal(r.status, 200, url);
      assert.deepEqual(new Uint8Array(await r.arrayBuffer()), new Uint8Array(readFileSync(join(runDir, 'best', name))), name);
    }
    assert.equal((await rawGet(server.url, '/checkpoint/notes.txt')).status, 404);
    assert.match(server.stderr(), /\/checkpoint\/ {2}mlp, epoch 1/);
    assert.match(server.stderr(), /\/datasets\/ {4}fashion-mnist \(60,000 \/ 10,000, env: /);
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal(await server.exited, 0, 'Ctrl-C / SIGTERM stops it cleanly');
  assert.match(server.stderr(), /convkit explore: stopped/);
});

test('explore without --checkpoint: /checkpoint/index.json is 404', async () => {
  const server = await explore('--port', '0', '--app', appDir);
  try {
    assert.equal((await fetch(server.url + 'checkpoint/index.json')).status, 404);
    assert.equal((await fetch(server.url + 'checkpoint/checkpoint.json')).status, 404);
  } finally {
    server.child.kill('SIGINT');
  }
  assert.equal(await server.exited, 0);
});

test('explore: bad or busy port, missing app, bad checkpoint: one convkit: line, exit 2, nothing served', async () => {
  assertUsageError(exploreFails('--port', '70000', '--app', appDir), /--port must be at most 65535, got 70000/);
  assertUsageError(exploreFails('--port', 'http', '--app', appDir), /--port expects an integer, got 'http'/);
  const busy: Server = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  try {
    assertUsageError(exploreFails('--port', String(port), '--app', appDir), new RegExp(`--port ${port}: already in use`));
  } finally {
    busy.close();
  }
  assertUsageError(exploreFails('--port', '0', '--app', join(work, 'nothing')), /--app .*nothing: no built explorer there/);
  assertUsageError(exploreFails('--port', '0', '--app', appDir, '--checkpoint', join(work, 'missing')), /--checkpoint .*missing: no such folder/);
  const broken = join(work, 'broken');
  mkdirSync(broken);
  copyFileSync(join(runDir, 'best', 'checkpoint.json'), join(broken, 'checkpoint.json'));
  writeFileSync(join(broken, 'model.safetensors'), 'not the weights');
  assertUsageError(exploreFails('--port', '0', '--app', appDir, '--checkpoint', broken), /model\.safetensors is 15 bytes but checkpoint\.json says \d+/);
});
