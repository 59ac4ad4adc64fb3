// The default backend as a user meets it: a fresh `node` process imports the library and runs ops with no
// setBackend call. The first of the registry's backends that loads (native where its addon is built, else wasm);
// CONVKIT_BACKEND / CONVKIT_THREADS override; a host without the addon falls back to wasm, and one where wasm cannot
// run either (kernels.wasm missing or built from other sources than the JavaScript, no shared memory, no SIMD) to
// reference, silently, with the reasons in backendFallbackReason(); and a process whose
// kernels ran on worker threads still exits by itself. Each case is a child process, since the choice is made
// once per process, while the library loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_NAMES, BACKEND_SETTINGS, loadBackend } from '../../src/backend/registry.js';
import { formatKernelsStamp } from '../../src/backend/wasm/kernels-check.js';
import { KERNELS_STAMP } from '../../src/backend/wasm/kernels-stamp.js';

const root = new URL('../../', import.meta.url).pathname;
const child = 'test/backend/support/report-default.ts';
const simulateHost = './test/backend/support/simulate-host.mjs';
const kernels = join(root, 'src/backend/wasm/kernels.wasm');
// A missing kernels.wasm is a build step not run: skip the wasm cases on a developer machine, fail them in CI.
const wasmSkip = existsSync(kernels) || process.env.CI === 'true' ? false : `${kernels} is not built (npm run build:wasm)`;
/** Generous: only a process kept alive (e.g. by a worker) comes near it; it is a hang guard, not a timing. */
const HANG_GUARD_MS = 120_000;

interface Report { backend: string; threads: number; ready: string; fallbackReason: string | null; checksum: number; wasmError: string | null }
interface Run { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; report: Report | null }

function runChild(options: { env?: Record<string, string>; preload?: string[]; args?: string[] } = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  // The child must choose for itself: nothing inherited from an outer run or from the test runner.
  for (const name of ['CONVKIT_BACKEND', 'CONVKIT_THREADS', 'NODE_TEST_CONTEXT']) if (!options.env?.[name]) delete env[name];
  const preload = (options.preload ?? []).flatMap((p) => ['--import', p]);
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...preload, child, ...(options.args ?? [])], {
    cwd: root, env, encoding: 'utf8', timeout: HANG_GUARD_MS,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let report: Report | null = null;
  try { report = JSON.parse(line) as Report; } catch { /* reported by the assertions */ }
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, report };
}

function assertClean(run: Run, label: string): Report {
  assert.equal(run.signal, null, `${label}: the process did not exit by itself within ${HANG_GUARD_MS / 1000} s (killed by ${run.signal})`);
  assert.equal(run.status, 0, `${label}: exit code ${run.status}\n${run.stderr.slice(-2000)}`);
  assert.equal(run.stderr.trim(), '', `${label}: the import must not print anything`);
  assert.ok(run.report, `${label}: no report line in ${JSON.stringify(run.stdout)}`);
  assert.ok(Number.isFinite(run.report.checksum), `${label}: the matrix product gave ${run.report.checksum}`);
  return run.report;
}

const referenceRun = runChild({ env: { CONVKIT_BACKEND: 'reference' } });
const referenceChecksum = (): number => assertClean(referenceRun, 'CONVKIT_BACKEND=reference').checksum;

test('CONVKIT_BACKEND=reference: importing the library selects the reference backend', () => {
  const r = assertClean(referenceRun, 'CONVKIT_BACKEND=reference');
  assert.equal(r.backend, 'reference');
  assert.equal(r.ready, 'reference');
  assert.equal(r.fallbackReason, null, 'reference was asked for: not a fallback');
});

// The backend `auto` takes here: native where its addon is built (`npm run build:native`, part of `npm ci`), else wasm.
const nativeError = await loadBackend('native').then(() => null, (e: Error) => e.message);
const firstBackend = nativeError === null ? 'native' : 'wasm';

test('a fresh process importing the library runs on the first backend that loads (native, else wasm), one thread per core, and exits by itself', { skip: wasmSkip }, () => {
  const r = assertClean(runChild(), 'default');
  assert.equal(r.backend, firstBackend);
  assert.equal(r.ready, firstBackend, 'ready() resolves to the backend in use');
  assert.equal(r.fallbackReason, nativeError === null ? null : `native unavailable: ${nativeError}`);
  assert.ok(r.threads >= 1);
  // The same product on both backends: within float32 rounding of a 128-term dot product.
  assert.ok(Math.abs(r.checksum - referenceChecksum()) <= 1e-3 * Math.max(1, Math.abs(referenceChecksum())), `${r.checksum} vs ${referenceChecksum()}`);
});

// Every registered backend that loads here can be named, and those with threads take CONVKIT_THREADS.
const loadable = await Promise.all(BACKEND_NAMES.map(async (name) => ({ name, backend: await loadBackend(name).then((l) => l.backend, () => null) })));
for (const { name, backend } of loadable) {
  const skip = backend === null ? `the ${name} backend cannot load here` : wasmSkip;
  test(`CONVKIT_BACKEND=${name} selects ${name}`, { skip }, () => {
    const r = assertClean(runChild({ env: { CONVKIT_BACKEND: name } }), `CONVKIT_BACKEND=${name}`);
    assert.equal(r.backend, name);
    assert.equal(r.fallbackReason, null, `${name} was asked for: not a fallback`);
  });
  if (backend?.setThreads === undefined) continue;
  test(`CONVKIT_THREADS sets ${name}'s threads; the product is split across its threads and the process still exits`, { skip }, () => {
    const r = assertClean(runChild({ env: { CONVKIT_BACKEND: name, CONVKIT_THREADS: '3' } }), `${name}, CONVKIT_THREADS=3`);
    assert.equal(r.backend, name);
    assert.equal(r.threads, 3);
    const one = assertClean(runChild({ env: { CONVKIT_BACKEND: name, CONVKIT_THREADS: '1' } }), `${name}, CONVKIT_THREADS=1`);
    assert.equal(one.threads, 1);
    assert.equal(r.checksum, one.checksum, '1 and 3 threads give identical bits');
  });
}

/**
 * A copy of the library's sources in a temporary folder, without the native addon (it lives in the package's
 * native/, which is not copied) and, with `withoutKernels`, without kernels.wasm: a host where those were never built.
 */
function sourcesCopy(prefix: string, withoutKernels: boolean): { dir: string; entry: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true, filter: (p) => !(withoutKernels && p.endsWith('.wasm')) });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  return { dir, entry: join(dir, 'src/index.ts') };
}
const NATIVE_MISSING = /^native unavailable: native backend: no compiled addon: .*npm run build:native/;

test('without the native addon the library loads on wasm, silently, and backendFallbackReason() says why native was skipped', { skip: wasmSkip }, () => {
  const { dir, entry } = sourcesCopy('convkit-no-native-', false);
  try {
    const r = assertClean(runChild({ args: [entry] }), 'no native addon');
    assert.equal(r.backend, 'wasm');
    assert.match(r.fallbackReason ?? '', NATIVE_MISSING);
    assert.doesNotMatch(r.fallbackReason ?? '', /wasm unavailable/);
    const forced = runChild({ env: { CONVKIT_BACKEND: 'native' }, args: [entry] });
    assert.notEqual(forced.status, 0);
    assert.match(forced.stderr, /CONVKIT_BACKEND=native, but the native backend cannot load here: native backend: no compiled addon/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid CONVKIT_BACKEND or CONVKIT_THREADS fails the import with a message naming the variable', () => {
  const badBackend = runChild({ env: { CONVKIT_BACKEND: 'referance' } });
  assert.notEqual(badBackend.status, 0);
  assert.ok(badBackend.stderr.includes(`CONVKIT_BACKEND=referance: expected ${BACKEND_SETTINGS.join(', ')} (or unset)`), badBackend.stderr);
  const badThreads = runChild({ env: { CONVKIT_THREADS: '0' } });
  assert.notEqual(badThreads.status, 0);
  assert.match(badThreads.stderr, /CONVKIT_THREADS=0: expected a whole number of threads from 1 to 256/);
});

test('without kernels.wasm (and the native addon) the library loads on the reference backend, silently; CONVKIT_BACKEND=wasm then says why', () => {
  // A copy of the library whose build steps never ran: the same sources, no native addon, no kernels.wasm.
  const { dir, entry } = sourcesCopy('convkit-no-kernels-', true);
  try {
    const r = assertClean(runChild({ args: [entry, '--try-wasm'] }), 'no kernels.wasm');
    assert.equal(r.backend, 'reference');
    assert.equal(r.ready, 'reference');
    assert.match(r.wasmError ?? '', /kernels\.wasm not found; .*npm run build:wasm/, 'setBackend(\'wasm\') explains the fallback');
    assert.match(r.fallbackReason ?? '', NATIVE_MISSING);
    assert.ok(r.fallbackReason?.endsWith(`; wasm unavailable: ${r.wasmError}`), `backendFallbackReason() gives the same reason: ${r.fallbackReason}`);
    assert.equal(r.checksum, referenceChecksum());
    const forced = runChild({ env: { CONVKIT_BACKEND: 'wasm' }, args: [entry] });
    assert.notEqual(forced.status, 0);
    assert.match(forced.stderr, /CONVKIT_BACKEND=wasm, but the wasm backend cannot load here: .*kernels\.wasm not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JavaScript compiled for other kernels than kernels.wasm: the library loads on reference and says to rebuild', { skip: wasmSkip }, () => {
  // The failure that motivated the build stamp: dist/ compiled before an asm/ change, run with the new kernels.wasm
  // (build:wasm without tsc). Reproduced as a copy of the sources whose kernels-stamp.ts names other kernels, next
  // to the real kernels.wasm.
  const { dir, entry } = sourcesCopy('convkit-stale-js-', false);
  try {
    const stampFile = join(dir, 'src/backend/wasm/kernels-stamp.ts');
    const otherStamp = KERNELS_STAMP ^ 1;
    const stale = readFileSync(stampFile, 'utf8').replace(formatKernelsStamp(KERNELS_STAMP), formatKernelsStamp(otherStamp));
    assert.notEqual(stale, readFileSync(stampFile, 'utf8'), 'the stamp was replaced');
    writeFileSync(stampFile, stale);
    const message = new RegExp('kernels\\.wasm was built from different sources than this JavaScript ' +
      `\\(kernels\\.wasm has stamp ${formatKernelsStamp(KERNELS_STAMP)}, this JavaScript expects ${formatKernelsStamp(otherStamp)}\\): run \`npm run build\`$`);
    const r = assertClean(runChild({ args: [entry, '--try-wasm'] }), 'stale JavaScript');
    assert.equal(r.backend, 'reference');
    assert.match(r.fallbackReason ?? '', message);
    assert.match(r.wasmError ?? '', message, 'setBackend(\'wasm\') rejects with the same reason');
    assert.equal(r.checksum, referenceChecksum());
    const forced = runChild({ env: { CONVKIT_BACKEND: 'wasm' }, args: [entry] });
    assert.notEqual(forced.status, 0);
    assert.match(forced.stderr, /CONVKIT_BACKEND=wasm, but the wasm backend cannot load here: .*kernels\.wasm was built from different sources/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('code run as an ES module by `node --input-type=module -e` gets wasm with worker threads too', { skip: wasmSkip }, () => {
  // Eval'd workers inherit --input-type; a worker program that used `require` failed there, silently leaving reference.
  const code = `const c = await import(${JSON.stringify(join(root, 'src/index.ts'))});
    console.log(JSON.stringify({ backend: c.getBackend().name, threads: c.getBackend().threads, fallbackReason: c.backendFallbackReason() }));`;
  const env: NodeJS.ProcessEnv = { ...process.env, CONVKIT_BACKEND: 'wasm', CONVKIT_THREADS: '2' };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, env, encoding: 'utf8', timeout: HANG_GUARD_MS });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''), { backend: 'wasm', threads: 2, fallbackReason: null });
});

for (const host of ['no-shared-memory', 'no-simd'] as const) {
  test(`on a host with ${host.replace(/-/g, ' ')} (and no native addon) the library loads on the reference backend, silently`, { skip: wasmSkip }, () => {
    const { dir, entry } = sourcesCopy(`convkit-${host}-`, false);
    let r: Report;
    try {
      r = assertClean(runChild({ env: { CONVKIT_TEST_HOST: host }, preload: [simulateHost], args: [entry, '--try-wasm'] }), host);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(r.backend, 'reference');
    // The simulation really stopped wasm (so the fallback above is the one under test), and says so on request.
    assert.match(r.wasmError ?? '', host === 'no-simd' ? /SIMD is not available/ : /shared WebAssembly\.Memory/);
    assert.match(r.fallbackReason ?? '', host === 'no-simd' ? /SIMD is not available/ : /shared WebAssembly\.Memory/);
    assert.equal(r.checksum, referenceChecksum());
  });
}
