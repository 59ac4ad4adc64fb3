// The CLI spawned as a process (from source through tsx, so no build is needed): help, errors with one clear
// line and exit code 2 (never a stack trace), and a small end-to-end run: train, eval, predict, resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { loadEmbeddedFashionMnist } from '../../src/node/datasets.js';
import { BACKEND_SETTINGS, loadBackend } from '../../src/backend/registry.js';

const root = new URL('../..', import.meta.url).pathname;
const main = join(root, 'src/cli/main.ts');
// tsx by absolute URL: the CLI runs in a temporary working directory, where a bare `tsx` would not resolve.
const tsx = import.meta.resolve('tsx');
const work = mkdtempSync(join(tmpdir(), 'convkit-cli-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string }

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['--import', tsx, main, ...args], {
    cwd: work,
    encoding: 'utf8',
    // No downloads, and a private cache: tests never touch the network or the user's cache.
    env: { ...process.env, CONVKIT_OFFLINE: '1', XDG_CACHE_HOME: join(work, 'cache'), FORCE_COLOR: '0' },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same CLI called in this process (fast), for the many flag and value checks. */
async function cliInProcess(...args: string[]): Promise<Run> {
  return cliInProcessWithEnv({}, ...args);
}

/** cliInProcess with extra environment variables for the command. */
async function cliInProcessWithEnv(extraEnv: Record<string, string>, ...args: string[]): Promise<Run> {
  const { main: run } = await import('../../src/cli/main.js');
  let stdout = '';
  let stderr = '';
  const out = { write: (s: string) => { stdout += s; return true; } } as unknown as NodeJS.WritableStream;
  const err = { write: (s: string) => { stderr += s; return true; } } as unknown as NodeJS.WritableStream;
  const code = await run(args, { out, err, cwd: work, env: { ...process.env, CONVKIT_OFFLINE: '1', XDG_CACHE_HOME: join(work, 'cache'), ...extraEnv } });
  return { code, stdout, stderr };
}

/** Exit code 2 and exactly one line on stderr, `convkit: ...` matching `pattern`, and no stack trace. */
function assertUsageError(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^convkit: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('--help: top level and every command', async () => {
  const top = cli('--help');
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Usage: convkit <command>/);
  for (const name of ['demo', 'train', 'eval', 'predict', 'datasets']) {
    assert.match(top.stdout, new RegExp(`\\n  ${name} `), name);
    const r = await cliInProcess(name, '--help');
    assert.equal(r.code, 0, `${name} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Usage: convkit ${name}`));
    assert.match(r.stdout, /--help/);
  }
  assert.match(cli('train', '-h').stdout, /--model NAME/);
  assert.match((await cliInProcess('help', 'predict')).stdout, /--topk K/);
});

test('bad flags, bad values, unknown commands: one line, exit code 2', async () => {
  // Spawned: the process really exits with 2 and prints one line.
  assertUsageError(cli('train', '--bogus'), /train: unknown option '--bogus'/);
  assertUsageError(cli('frobnicate'), /unknown command 'frobnicate'/);
  // In process (same code path, minus the process start-up).
  assertUsageError(await cliInProcess('train', '--epoch', '3'), /did you mean --epochs\?/);
  assertUsageError(await cliInProcess('train', '--epochs', 'abc'), /--epochs expects an integer, got 'abc'/);
  assertUsageError(await cliInProcess('train', '--epochs', '0'), /--epochs must be at least 1/);
  assertUsageError(await cliInProcess('train', '--lr', '-1'), /--lr must be positive, got -1/);
  assertUsageError(await cliInProcess('train', '--opt', 'rmsprop'), /--opt must be one of sgd, adam, adamw; got 'rmsprop'/);
  assertUsageError(await cliInProcess('train', '--model', 'resnet999'), /--model resnet999: unknown model \(available: .*lenet5/);
  assertUsageError(await cliInProcess('train', '--out'), /--out needs a value/);
  assertUsageError(await cliInProcess('predict', '--topk', '2', '--checkpoint'), /--checkpoint needs a value/);
  assertUsageError(await cliInProcess('datasets', 'extra'), /unexpected argument 'extra'/);
  assertUsageError(await cliInProcess('eval'), /--checkpoint DIR is required/);
});

// The message lists the registry's backends (src/backend/registry.ts BACKEND_NAMES), in its order.
const backendSettingsError = new RegExp(`CONVKIT_BACKEND=gpu: expected ${BACKEND_SETTINGS.join(', ')} \\(or unset\\)`);

test('--backend defaults to CONVKIT_BACKEND, else auto (native, else wasm, where they load); the flag wins; a bad value is one line, exit code 2', async () => {
  const tiny = ['train', '--dataset', 'fashion-mnist-subset', '--train-limit', '32', '--test-limit', '32', '--batch', '32', '--epochs', '1', '--out', 'run-backend', '--force'];
  const byEnv = await cliInProcessWithEnv({ CONVKIT_BACKEND: 'reference' }, ...tiny);
  assert.equal(byEnv.code, 0, byEnv.stderr);
  assert.match(byEnv.stderr, /^backend: reference$/m);
  const byFlag = await cliInProcessWithEnv({ CONVKIT_BACKEND: 'reference' }, ...tiny, '--backend', 'wasm', '--threads', '1');
  assert.equal(byFlag.code, 0, byFlag.stderr);
  assert.match(byFlag.stderr, /^backend: wasm \(1 thread\)$/m);
  const unset = await cliInProcessWithEnv({ CONVKIT_BACKEND: '' }, ...tiny, '--threads', '1');
  assert.equal(unset.code, 0, unset.stderr);
  // auto: the first of the registry's backends that loads here (native where its addon is built), with its ISA level.
  const first = (await loadBackend('auto')).backend.name;
  assert.match(unset.stderr, new RegExp(`^backend: ${first} \\(([a-z0-9]+, )?1 thread\\)$`, 'm'));
  assertUsageError(await cliInProcessWithEnv({ CONVKIT_BACKEND: 'gpu' }, ...tiny), backendSettingsError);
  // Spawned: the library itself rejects the value while loading, and the CLI still reports it in one line.
  const spawned = spawnSync(process.execPath, ['--import', tsx, main, 'models'], {
    cwd: work, encoding: 'utf8', env: { ...process.env, CONVKIT_BACKEND: 'gpu' }, timeout: 120_000,
  });
  assertUsageError({ code: spawned.status, stdout: spawned.stdout, stderr: spawned.stderr }, backendSettingsError);
});

test('--version names the version and the backend the library chose: auto\'s first that loads, or CONVKIT_BACKEND\'s', async () => {
  const first = (await loadBackend('auto')).backend.name;
  const version = (env: Record<string, string>) => {
    const e: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const name of ['CONVKIT_BACKEND', 'CONVKIT_THREADS']) if (!(name in env)) delete e[name];
    return spawnSync(process.execPath, ['--import', tsx, main, '--version'], { cwd: work, encoding: 'utf8', env: e, timeout: 120_000 });
  };
  const byDefault = version({});
  assert.equal(byDefault.status, 0, byDefault.stderr);
  assert.match(byDefault.stdout, new RegExp(`^convkit \\d+\\.\\d+\\.\\d+\\nbackend: ${first} \\(([a-z0-9]+, )?\\d+ threads?\\)\\n$`));
  const wasm = version({ CONVKIT_BACKEND: 'wasm', CONVKIT_THREADS: '2' });
  assert.equal(wasm.status, 0, wasm.stderr);
  assert.match(wasm.stdout, /\nbackend: wasm \(2 threads\)\n$/);
});

test('a missing dataset path or data folder: one line, exit code 2', async () => {
  assertUsageError(cli('train', '--dataset', './no-such-folder'), /--dataset \.\/no-such-folder: not a built-in dataset .* and no such folder/);
  assertUsageError(await cliInProcess('train', '--data', './no-such-folder'), /--data \.\/no-such-folder: no such folder/);
  writeFileSync(join(work, 'a-file.txt'), 'x');
  assertUsageError(await cliInProcess('train', '--dataset', 'a-file.txt'), /is a file; expected a folder/);
  assertUsageError(await cliInProcess('eval', '--checkpoint', 'nowhere'), /--checkpoint nowhere: no such folder/);
});

test('train (--json), eval, predict, corrupt checkpoint, non-image file, resume', async () => {
  const small = ['--dataset', 'fashion-mnist-subset', '--train-limit', '256', '--test-limit', '100', '--batch', '32'];
  const common = [...small, '--schedule', 'step', '--out', 'run'];
  const t = cli('train', ...common, '--epochs', '1', '--json');
  assert.equal(t.code, 0, t.stderr);
  const lines = t.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => l['type']), ['epoch', 'summary']);
  const summary = lines[1]!;
  assert.equal(typeof summary['testAccuracy'], 'number');
  assert.ok((summary['testAccuracy'] as number) >= 0 && (summary['testAccuracy'] as number) <= 1);
  assert.match(t.stderr, /epoch 1\/1 {2}train loss/, 'plain progress lines when stderr is not a TTY');
  for (const f of ['checkpoint.json', 'model.safetensors', 'optimizer.safetensors']) assert.ok(existsSync(join(work, 'run/last', f)), f);
  assert.ok(existsSync(join(work, 'run/best/checkpoint.json')));

  const e = cli('eval', '--checkpoint', 'run', '--json');
  assert.equal(e.code, 0, e.stderr);
  const ev = JSON.parse(e.stdout) as { accuracy: number; count: number };
  assert.equal(ev.count, 1000, 'eval uses the whole test split unless --test-limit');

  // predict: real test images as PNG files, and a text file.
  const ds = loadEmbeddedFashionMnist('test');
  for (const i of [0, 1]) {
    const png = new PNG({ width: 28, height: 28 });
    const img = ds.getImage(i);
    for (let k = 0; k < 784; k++) {
      const v = Math.round(img[k]! * 255);
      png.data[4 * k] = v; png.data[4 * k + 1] = v; png.data[4 * k + 2] = v; png.data[4 * k + 3] = 255;
    }
    writeFileSync(join(work, `img${i}.png`), PNG.sync.write(png));
  }
  const p = cli('predict', '--checkpoint', 'run/best', 'img0.png', 'img1.png', '--topk', '3');
  assert.equal(p.code, 0, p.stderr);
  assert.equal((p.stdout.match(/%/g) ?? []).length, 6, p.stdout);
  const pj = cli('predict', '--checkpoint', 'run/best', 'img0.png', '--json', '--topk', '10');
  const probs = (JSON.parse(pj.stdout) as { predictions: { probability: number }[] }).predictions.map((x) => x.probability);
  assert.equal(probs.length, 10);
  assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'probabilities sum to 1');
  writeFileSync(join(work, 'notes.txt'), 'this is not an image\n');
  assertUsageError(cli('predict', '--checkpoint', 'run/best', 'notes.txt'), /notes\.txt: not a readable image/);
  assertUsageError(await cliInProcess('predict', '--checkpoint', 'run/best', 'missing.png'), /missing\.png: no such file/);
  assertUsageError(await cliInProcess('predict', '--checkpoint', 'run/best'), /give at least one IMAGE/);

  // The same --out again without --resume is refused (no silent overwrite).
  assertUsageError(await cliInProcess('train', ...common, '--epochs', '1'), /run\/last already holds a checkpoint; continue it with --resume/);

  // Resume: a finished run says so; --epochs extends it; a conflicting flag is refused.
  assertUsageError(await cliInProcess('train', ...common, '--resume'), /already finished 1 of 1 epochs/);
  assertUsageError(await cliInProcess('train', ...common, '--resume', '--epochs', '2', '--lr', '0.5'), /--lr 0\.5 differs from the checkpoint's 0\.002/);
  const r = cli('train', ...common, '--resume', '--epochs', '2', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /resuming after epoch 1 of 2/);
  const rl = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(rl.map((l) => [l['type'], l['epoch'] ?? l['epochs']]), [['epoch', 2], ['summary', 2]]);

  // A one-cycle schedule is planned for its epochs: stretching it is refused.
  assert.equal(cli('train', ...small, '--epochs', '1', '--out', 'run-onecycle').code, 0);
  assertUsageError(await cliInProcess('train', ...small, '--out', 'run-onecycle', '--resume', '--epochs', '2'), /onecycle schedule of this run was planned for 1 epochs and cannot be stretched to 2/);

  // Corrupt checkpoints: a flipped byte, a truncated file, a broken JSON.
  const model = join(work, 'run/best/model.safetensors');
  const bytes = readFileSync(model);
  const flipped = Buffer.from(bytes);
  flipped[100]! ^= 0xff;
  writeFileSync(model, flipped);
  assertUsageError(cli('eval', '--checkpoint', 'run/best'), /model\.safetensors does not match the SHA-256 in checkpoint\.json/);
  writeFileSync(model, bytes.subarray(0, 50));
  assertUsageError(await cliInProcess('predict', '--checkpoint', 'run/best', 'img0.png'), /model\.safetensors is 50 bytes but checkpoint\.json says/);
  writeFileSync(model, bytes);
  writeFileSync(join(work, 'run/best/checkpoint.json'), '{"format": "convkit-checkpoint", ');
  assertUsageError(await cliInProcess('eval', '--checkpoint', 'run/best'), /checkpoint\.json is not valid JSON/);
});

test('datasets lists each split and its source', () => {
  const r = cli('datasets', '--json');
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { dataset: string; split: string; kind: string });
  assert.deepEqual(rows.map((x) => `${x.dataset}/${x.split}`), ['fashion-mnist/train', 'fashion-mnist/test', 'mnist/train', 'mnist/test']);
  // Offline: Fashion-MNIST resolves to Debian's files or the embedded subset, never to a download.
  assert.ok(['debian', 'embedded-subset', 'env', 'cache'].includes(rows[0]!.kind), rows[0]!.kind);
  const text = cli('datasets');
  assert.match(text.stdout, /fashion-mnist +train/);
});

test('train on an image folder (one subfolder per class), then predict with its class names', async () => {
  const ds = loadEmbeddedFashionMnist('train');
  const dir = join(work, 'folder');
  const names = ['trousers', 'bags', 'boots'];
  const wanted = [1, 8, 9];
  const { mkdirSync } = await import('node:fs');
  wanted.forEach((label, k) => {
    mkdirSync(join(dir, names[k]!), { recursive: true });
    let written = 0;
    for (let i = 0; i < ds.length && written < 12; i++) {
      if (ds.labels[i] !== label) continue;
      const png = new PNG({ width: 28, height: 28 });
      const img = ds.getImage(i);
      for (let p = 0; p < 784; p++) {
        const v = Math.round(img[p]! * 255);
        png.data[4 * p] = v; png.data[4 * p + 1] = v; png.data[4 * p + 2] = v; png.data[4 * p + 3] = 255;
      }
      writeFileSync(join(dir, names[k]!, `${written++}.png`), PNG.sync.write(png));
    }
  });
  writeFileSync(join(dir, 'bags', 'README.txt'), 'ignored: not an image extension');
  const r = await cliInProcess('train', '--dataset', 'folder', '--epochs', '3', '--batch', '8', '--out', 'folder-run', '--json');
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { perClassAccuracy: Record<string, number>; dataset: string };
  assert.deepEqual(Object.keys(summary.perClassAccuracy), ['bags', 'boots', 'trousers'], 'classes are the sorted folder names');
  assert.match(r.stderr, /36 images|29 train \/ 7 test/);
  const p = await cliInProcess('predict', '--checkpoint', 'folder-run', join('folder', 'boots', '0.png'), '--topk', '3');
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /boots|bags|trousers/);
  const e = await cliInProcess('eval', '--checkpoint', 'folder-run', '--json');
  assert.equal(e.code, 0, e.stderr);
  assert.equal((JSON.parse(e.stdout) as { count: number }).count, 7, 'eval re-creates the same 20% held-out split');
});
