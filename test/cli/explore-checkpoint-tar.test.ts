// A checkpoint folder as one .tar (what the explorer page downloads): written by the browser-safe code
// (src/io/checkpointArchive.ts, hashes through Web Crypto) exactly as the Node writer writes the folder, readable
// by the system's tar, and accepted by `convkit eval/predict --checkpoint x.tar` with the same results as the folder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { loadCheckpoint, saveCheckpoint } from '../../src/node/checkpoint.js';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { checkpointFromTar, checkpointToFiles, checkpointToTar } from '../../src/io/checkpointArchive.js';
import { decodeTar, encodeTar } from '../../src/io/tar.js';

const root = new URL('../..', import.meta.url).pathname;
const tsx = import.meta.resolve('tsx');
const work = mkdtempSync(join(tmpdir(), 'convkit-tar-'));
const runDir = join(work, 'run');
const env = { ...process.env, CONVKIT_OFFLINE: '1', XDG_CACHE_HOME: join(work, 'cache'), FORCE_COLOR: '0' };

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), ...args], { cwd: work, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

before(() => {
  const r = cli('train', '--model', 'lenet5', '--dataset', 'fashion-mnist-subset', '--epochs', '1', '--out', runDir, '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
});
after(() => rmSync(work, { recursive: true, force: true }));

test('checkpointToFiles writes what saveCheckpoint writes (same tensor bytes, sizes and SHA-256)', async () => {
  const ck = await loadCheckpoint(join(runDir, 'best'));
  const resaved = join(work, 'resaved');
  await saveCheckpoint(resaved, ck);
  const files = await checkpointToFiles(ck, new Date('2026-12-07T00:00:00Z'));
  assert.deepEqual(files.map((f) => f.name), ['model.safetensors', 'optimizer.safetensors', 'checkpoint.json']);
  const nodeMeta = JSON.parse(readFileSync(join(resaved, 'checkpoint.json'), 'utf8')) as Record<string, unknown>;
  const pageMeta = JSON.parse(new TextDecoder().decode(files[2]!.bytes)) as Record<string, unknown>;
  assert.deepEqual(pageMeta['files'], nodeMeta['files']);
  assert.equal(pageMeta['savedAt'], '2026-12-07T00:00:00.000Z');
  delete nodeMeta['savedAt'];
  delete pageMeta['savedAt'];
  assert.deepEqual(pageMeta, nodeMeta);
  for (const f of files.slice(0, 2)) {
    assert.deepEqual(f.bytes, new Uint8Array(readFileSync(join(resaved, f.name))), f.name);
    assert.equal((pageMeta['files'] as Record<string, { sha256: string }>)[f.name]!.sha256, sha256(f.bytes));
  }
});

test('eval and predict accept the .tar and give what the folder gives; the system tar unpacks it', async () => {
  const ck = await loadCheckpoint(join(runDir, 'best'));
  const tarPath = join(work, 'lenet5-epoch1.tar');
  writeFileSync(tarPath, await checkpointToTar(ck, 'lenet5-epoch1'));
  const listed = spawnSync('tar', ['-tf', tarPath], { encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  assert.deepEqual(listed.stdout.trim().split('\n'), ['lenet5-epoch1/model.safetensors', 'lenet5-epoch1/optimizer.safetensors', 'lenet5-epoch1/checkpoint.json']);
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  assert.equal(spawnSync('tar', ['-xf', tarPath, '-C', unpacked]).status, 0);

  const folder = cli('eval', '--json', '--checkpoint', join(runDir, 'best'));
  const fromTar = cli('eval', '--json', '--checkpoint', tarPath);
  const fromUnpacked = cli('eval', '--json', '--checkpoint', join(unpacked, 'lenet5-epoch1'));
  for (const r of [folder, fromTar, fromUnpacked]) assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(folder.stdout) as { accuracy: number; loss: number; count: number; confusion: number[][] };
  const b = JSON.parse(fromTar.stdout) as typeof a;
  const c = JSON.parse(fromUnpacked.stdout) as typeof a;
  assert.equal(a.count, 1000);
  assert.ok(a.accuracy > 0.3, `a trained model (accuracy ${a.accuracy})`);
  for (const other of [b, c]) {
    assert.equal(other.accuracy, a.accuracy);
    assert.equal(other.loss, a.loss);
    assert.deepEqual(other.confusion, a.confusion);
  }

  const test = loadEmbeddedFashionMnist('test');
  const png = new PNG({ width: 28, height: 28, colorType: 0 });
  for (let i = 0; i < 784; i++) {
    const v = test.images[3 * 784 + i]!;
    png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  writeFileSync(join(work, 'image.png'), PNG.sync.write(png, { colorType: 0 }));
  const p1 = cli('predict', '--json', '--topk', '10', '--checkpoint', join(runDir, 'best'), 'image.png');
  const p2 = cli('predict', '--json', '--topk', '10', '--checkpoint', tarPath, 'image.png');
  assert.equal(p1.code, 0, p1.stderr);
  assert.equal(p2.code, 0, p2.stderr);
  assert.deepEqual(JSON.parse(p2.stdout), JSON.parse(p1.stdout));

  // A tar of a whole run folder made by the system's tar: best/ is used, as for the folder.
  const runTar = join(work, 'run.tar');
  assert.equal(spawnSync('tar', ['-cf', runTar, '-C', work, 'run']).status, 0);
  const fromRunTar = cli('eval', '--json', '--checkpoint', runTar);
  assert.equal(fromRunTar.code, 0, fromRunTar.stderr);
  assert.equal((JSON.parse(fromRunTar.stdout) as typeof a).accuracy, a.accuracy);
  const { folder: picked } = await checkpointFromTar(new Uint8Array(readFileSync(runTar)), 'run.tar');
  assert.equal(picked, 'run/best');
});

test('a damaged or foreign .tar: one convkit: line naming the file, exit 2', async () => {
  const ck = await loadCheckpoint(join(runDir, 'best'));
  const entries = decodeTar(await checkpointToTar(ck, 'm'));
  const model = entries.find((e) => e.path === 'm/model.safetensors')!;
  const flipped = model.bytes.slice();
  flipped[flipped.length - 1]! ^= 0x40;
  writeFileSync(join(work, 'flipped.tar'), encodeTar(entries.map((e) => (e === model ? { path: e.path, bytes: flipped } : e))));
  writeFileSync(join(work, 'nothing.tar'), encodeTar([{ path: 'readme.txt', bytes: new TextEncoder().encode('hi') }]));
  writeFileSync(join(work, 'junk.tar'), new Uint8Array(2048).fill(65));
  writeFileSync(join(work, 'weights.bin'), new Uint8Array(8));
  const cases: [string, RegExp][] = [
    ['flipped.tar', /flipped\.tar:m\/model\.safetensors does not match the SHA-256 in checkpoint\.json/],
    ['nothing.tar', /nothing\.tar holds no checkpoint\.json \(found readme\.txt\)/],
    ['junk.tar', /junk\.tar: not a tar archive/],
    ['weights.bin', /--checkpoint weights\.bin: is a file; .* or a \.tar of one/],
  ];
  for (const [file, pattern] of cases) {
    const r = cli('eval', '--checkpoint', file);
    assert.equal(r.code, 2, `${file}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^convkit: /);
    assert.match(lines[0]!, pattern);
  }
});
