// The op test suite (PyTorch fixtures in test/ops, properties in test/properties), the layers (test/nn), the
// model zoo (test/models) and the 20-step optimizer trajectories against PyTorch (test/optim/trajectory) on the
// wasm backend with 1 and 2 threads: each run is a child process whose preload selects the backend
// (support/use-wasm.ts), so the suites' own files stay backend-agnostic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../..', import.meta.url).pathname;
const suites = [
  ...['test/ops', 'test/properties', 'test/nn', 'test/models'].flatMap((dir) =>
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

for (const threads of [1, 2]) {
  test(`op fixtures, properties, layers, models and optimizer trajectories pass on the wasm backend with ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    assert.ok(suites.length > 0, 'found the op test files');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', `./${preload}`, '--test', '--test-reporter=tap', ...suites], {
      cwd: root, encoding: 'utf8', env: { ...withoutTestContext(process.env), WASM_TEST_THREADS: String(threads) }, maxBuffer: 64 * 2 ** 20,
    });
    const pass = Number(/^# pass (\d+)/m.exec(run.stdout)?.[1] ?? 0), fail = Number(/^# fail (\d+)/m.exec(run.stdout)?.[1] ?? -1);
    const failures = run.stdout.split('\n').filter((l) => l.startsWith('not ok')).slice(0, 10).join('\n');
    assert.equal(fail, 0, `failing op tests on wasm x${threads}:\n${failures}\n${run.stderr.slice(-2000)}`);
    assert.ok(pass > 50, `expected the op suite to run (pass ${pass})\n${run.stderr.slice(-2000)}`);
    assert.equal(run.status, 0);
  });
}
