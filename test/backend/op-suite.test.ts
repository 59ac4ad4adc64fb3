// The conformance suite: the op test files (PyTorch fixtures in test/ops, central-difference gradient checks in
// test/gradcheck, properties in test/properties), the layers (test/nn), the model zoo (test/models) and the 20-step
// optimizer trajectories against PyTorch (test/optim/trajectory) on every backend of the registry (BACKEND_NAMES in
// src/backend/registry.ts: a backend registered there joins by itself), with 1 and 2 threads where it has threads.
// The suites' own files stay backend-agnostic: `npm test` runs them on the default backend, and here each run is a
// child process that selects its backend before any test: CONVKIT_BACKEND=<name> and CONVKIT_THREADS, plus, when
// test/backend/support/use-<name>.ts exists, that preload (use-wasm.ts also splits every kernel across the threads
// and allocates from the wasm heap), which reads the thread count from <NAME>_TEST_THREADS.
// A backend that cannot load here is a skipped test whose message is its load error, never a silent pass.
// The native runs take the CPU's best ISA level; every other level of the build then runs once with 2 threads, so
// every dispatch level runs in npm test: the others this CPU runs (NATIVE_TEST_ISA), and avx512 on an x86 CPU
// without AVX-512 through the emulated test addon (scripts/build-test-addon.mjs: the avx512 level's kernels compiled
// for AVX2, which .ci/run builds; where it is missing or stale the run is skipped saying how to build it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BACKEND_NAMES, loadBackend } from '../../src/backend/registry.js';
import { createNativeBackend, loadNativeBackend } from '../../src/backend/native/index.js';
import { testAddonStatus } from '../../scripts/build-test-addon.mjs';

const root = new URL('../..', import.meta.url).pathname;
const suites = [
  ...['test/ops', 'test/gradcheck', 'test/properties', 'test/nn', 'test/models'].flatMap((dir) =>
    readdirSync(join(root, dir)).filter((f) => f.endsWith('.test.ts')).map((f) => join(dir, f))),
  'test/optim/trajectory.test.ts',
].sort();
// A child `node --test` that inherits NODE_TEST_CONTEXT talks the runner's internal protocol instead of TAP.
function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.NODE_TEST_CONTEXT;
  return copy;
}

interface SuiteRun {
  label: string; imports: string[]; env: Record<string, string>; skip: string | false;
  /** Asserted before the run: that it runs what its label says. */
  check?: () => Promise<void>;
}

/** The runs for one backend: one per thread count (1 and 2 where it has threads), or a skipped one naming why it cannot load. */
async function runsFor(name: string): Promise<SuiteRun[]> {
  const preload = `test/backend/support/use-${name}.ts`;
  const imports = existsSync(join(root, preload)) ? ['--import', `./${preload}`] : [];
  let threaded: boolean;
  try {
    threaded = (await loadBackend(name as (typeof BACKEND_NAMES)[number])).backend.setThreads !== undefined;
  } catch (e) {
    return [{ label: `the ${name} backend`, imports, env: {}, skip: `the ${name} backend cannot load here: ${(e as Error).message}` }];
  }
  if (!threaded) return [{ label: `the ${name} backend`, imports, env: { CONVKIT_BACKEND: name }, skip: false }];
  return [1, 2].map((threads) => ({
    label: `the ${name} backend with ${threads} thread${threads > 1 ? 's' : ''}`,
    imports,
    env: { CONVKIT_BACKEND: name, CONVKIT_THREADS: String(threads), [`${name.toUpperCase()}_TEST_THREADS`]: String(threads) },
    skip: false,
  }));
}

/** The native backend's levels other than the one the runs above take (the CPU's best), 2 threads each. */
async function otherNativeLevelRuns(): Promise<SuiteRun[]> {
  const native = await loadNativeBackend().catch(() => null);
  if (!native) return [];  // the native runs above are skipped, quoting the load error
  const imports = ['--import', './test/backend/support/use-native.ts'];
  const env = { CONVKIT_BACKEND: 'native', CONVKIT_THREADS: '2', NATIVE_TEST_THREADS: '2' };
  const avx2 = native.availableIsas().find((l) => l.name === 'avx2')?.supported === true;
  return native.availableIsas().filter((level) => level.name !== native.isa).map((level): SuiteRun => {
    const label = `the native backend at the ${level.name} level with 2 threads`;
    if (level.supported) return { label, imports, env: { ...env, NATIVE_TEST_ISA: level.name }, skip: false };
    if (level.name !== 'avx512' || !avx2) return { label, imports, env, skip: `this CPU lacks ${level.missingFlags.join(', ')}` };
    const status = testAddonStatus();
    const emulated = 'the native backend at the avx512 level emulated on AVX2 (scripts/build-test-addon.mjs) with 2 threads';
    if (!status.ready) {
      // CI asked for it (.ci/run exports CONVKIT_BUILD_TEST_ADDONS=1): a missing addon there is a failure, not a skip.
      if (process.env.CONVKIT_BUILD_TEST_ADDONS === '1') {
        return { label: emulated, imports, env, skip: false, check: async () => assert.fail(`CONVKIT_BUILD_TEST_ADDONS=1, but ${status.reason}`) };
      }
      return { label: emulated, imports, env, skip: `this CPU lacks AVX-512, and ${status.reason}` };
    }
    return {
      label: emulated,
      imports,
      env: { ...env, NATIVE_TEST_ISA: 'avx512', NATIVE_TEST_ADDON: status.directory },
      skip: false,
      // that the addon is the emulated build: one level, avx512, which this CPU (without AVX-512) runs
      check: async () => {
        const addon = await createNativeBackend({ addonDirectory: status.directory });
        assert.deepEqual(addon.availableIsas(), [{ name: 'avx512', supported: true, missingFlags: [] }]);
      },
    };
  });
}

test('the conformance suite covers every registered backend', () => {
  assert.ok(BACKEND_NAMES.length >= 2, `the registry lists ${BACKEND_NAMES.join(', ')}`);
  assert.ok(suites.length > 0, 'found the op test files');
});

const runs: SuiteRun[] = [];
for (const name of BACKEND_NAMES) runs.push(...(await runsFor(name)));
runs.push(...(await otherNativeLevelRuns()));
for (const { label, imports, env, skip, check } of runs) {
  test(`op fixtures, properties, layers, models and optimizer trajectories pass on ${label}`, { skip }, async () => {
    await check?.();
    // two files at a time: these files assert values, never timings (74.6 -> 66.9 s for the 5 runs, idle AMD EPYC)
    const run = spawnSync(process.execPath, ['--import', 'tsx', ...imports, '--test', '--test-concurrency=2', '--test-reporter=tap', ...suites], {
      cwd: root, encoding: 'utf8', env: { ...withoutTestContext(process.env), ...env }, maxBuffer: 64 * 2 ** 20,
    });
    const pass = Number(/^# pass (\d+)/m.exec(run.stdout)?.[1] ?? 0), fail = Number(/^# fail (\d+)/m.exec(run.stdout)?.[1] ?? -1);
    const failures = run.stdout.split('\n').filter((l) => l.startsWith('not ok')).slice(0, 10).join('\n');
    assert.equal(fail, 0, `failing op tests on ${label}:\n${failures}\n${run.stderr.slice(-2000)}`);
    assert.ok(pass > 50, `expected the op suite to run (pass ${pass})\n${run.stderr.slice(-2000)}`);
    assert.equal(run.status, 0);
  });
}
