// The op test suite (PyTorch fixtures in test/ops, central-difference gradient checks in test/gradcheck,
// properties in test/properties), the layers (test/nn), the model zoo (test/models) and the 20-step optimizer
// trajectories against PyTorch (test/optim/trajectory) on the reference backend (the oracle) and on the wasm backend with 1 and 2 threads. The suites' own files stay
// backend-agnostic: `npm test` runs them on the default backend (wasm where it loads), and here each run is a
// child process that selects its backend before any test: CONVKIT_BACKEND=reference, or a preload
// (support/use-wasm.ts) that also splits every kernel across the threads and allocates from the wasm heap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const preload = relative(root, new URL('./support/use-wasm.ts', import.meta.url).pathname);

const runs = [
  { label: 'the reference backend', preload: [], env: { CONVKIT_BACKEND: 'reference' } },
  ...[1, 2].map((threads) => ({
    label: `the wasm backend with ${threads} thread${threads > 1 ? 's' : ''}`,
    preload: ['--import', `./${preload}`],
    env: { CONVKIT_BACKEND: 'wasm', WASM_TEST_THREADS: String(threads) },
  })),
];

for (const { label, preload: imports, env } of runs) {
  test(`op fixtures, properties, layers, models and optimizer trajectories pass on ${label}`, () => {
    assert.ok(suites.length > 0, 'found the op test files');
    const run = spawnSync(process.execPath, ['--import', 'tsx', ...imports, '--test', '--test-reporter=tap', ...suites], {
      cwd: root, encoding: 'utf8', env: { ...withoutTestContext(process.env), ...env }, maxBuffer: 64 * 2 ** 20,
    });
    const pass = Number(/^# pass (\d+)/m.exec(run.stdout)?.[1] ?? 0), fail = Number(/^# fail (\d+)/m.exec(run.stdout)?.[1] ?? -1);
    const failures = run.stdout.split('\n').filter((l) => l.startsWith('not ok')).slice(0, 10).join('\n');
    assert.equal(fail, 0, `failing op tests on ${label}:\n${failures}\n${run.stderr.slice(-2000)}`);
    assert.ok(pass > 50, `expected the op suite to run (pass ${pass})\n${run.stderr.slice(-2000)}`);
    assert.equal(run.status, 0);
  });
}
