// The design promise: a user's ordinary training loop (forward, loss, backward, step; no dispose(), no scope,
// never yielding to the event loop) keeps flat memory on every backend. Outside a scope the wasm backend hands
// out garbage-collected arrays; inside fit()'s per-step scope it recycles heap blocks.
// Measured in a child process started with --expose-gc, so a full collection before each reading shows what is
// retained rather than when V8 chose to collect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./support/plain-loop-child.ts', import.meta.url));

// The loop as a user writes it: no setBackend, so the default backend, which is wasm (the backend with a heap;
// the reference backend only ever allocates garbage-collected arrays) wherever it loads.
const noKernels = !existsSync(fileURLToPath(new URL('../../src/backend/wasm/kernels.wasm', import.meta.url)));
test('a plain synchronous training loop on the default backend (wasm) keeps flat memory (step 200 vs step 2,000)', (t) => {
  if (noKernels && !process.env.CI) {
    t.skip('kernels.wasm is not built (npm run build:wasm): the default backend would be reference');
    return;
  }
  const env = { ...process.env };
  delete env.CONVKIT_BACKEND;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, 'default'], { encoding: 'utf8', timeout: 300_000, env });
  assert.equal(r.status, 0, r.stderr);
  const { backend, readings } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { backend: string; readings: { step: number; rssMiB: number; wasmMiB: number }[] };
  assert.equal(backend, 'wasm', 'the default backend');
  const [a, b] = readings;
  t.diagnostic(`rss ${a!.rssMiB.toFixed(1)} -> ${b!.rssMiB.toFixed(1)} MiB, wasm memory ${a!.wasmMiB.toFixed(1)} -> ${b!.wasmMiB.toFixed(1)} MiB`);
  assert.ok(b!.wasmMiB <= a!.wasmMiB * 1.03 + 0.5, `wasm memory grew from ${a!.wasmMiB} to ${b!.wasmMiB} MiB`);
  assert.ok(b!.rssMiB <= a!.rssMiB * 1.05, `resident memory grew from ${a!.rssMiB.toFixed(1)} to ${b!.rssMiB.toFixed(1)} MiB`);
});
