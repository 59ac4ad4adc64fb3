// The README's code must run as written: every ```ts block in README.md is executed (imports of 'convkit' and
// 'convkit/node' point at src/), and the training-loop example must equal examples/train-loop.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { loadBackend } from '../../src/backend/registry.js';

const root = new URL('../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

function run(code: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-readme-'));
  try {
    const file = join(dir, 'example.mts'); // .mts: ESM with top-level await outside the package
    writeFileSync(file, code
      .replaceAll("from 'convkit/node'", `from '${join(root, 'src/node/index.ts')}'`)
      .replaceAll("from 'convkit'", `from '${join(root, 'src/index.ts')}'`));
    // As a reader runs it: the default backend, whatever this test process was started with.
    const env = { ...process.env };
    delete env.CONVKIT_BACKEND;
    delete env.CONVKIT_THREADS;
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 240_000, env });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('README has code blocks to check', () => {
  assert.ok(blocks.length >= 2, `expected at least 2 ts blocks in README.md, found ${blocks.length}`);
});

test('the README training loop is examples/train-loop.ts', () => {
  const example = readFileSync(join(root, 'examples/train-loop.ts'), 'utf8');
  assert.ok(blocks.some((b) => b === example), 'README.md must contain examples/train-loop.ts verbatim in a ```ts block');
});

// auto's choice here (native where its addon is built, else wasm where kernels.wasm is, else reference).
const firstBackend = (await loadBackend('auto')).backend.name;

blocks.forEach((code, i) => {
  test(`README ts block ${i + 1} runs`, () => {
    const r = run(code);
    assert.equal(r.status, 0, `block ${i + 1} failed:\n${r.stderr.slice(-2000)}`);
    // A block that prints the backend right after the import shows the default: the first backend that loads here.
    if (/^console\.log\(getBackend\(\)\.name\);/m.test(code)) {
      assert.equal(r.stdout.split('\n')[0], firstBackend, `block ${i + 1}: the default backend`);
    }
    if (code.includes('test accuracy after one epoch')) {
      const m = /test accuracy after one epoch: ([\d.]+)%/.exec(r.stdout);
      assert.ok(m, `no accuracy line in output: ${r.stdout}`);
      assert.ok(Number(m![1]) > 80, `one epoch of lenet5 should pass 80% on Fashion-MNIST, got ${m![1]}%`);
    }
  });
});
