// The design promise: a user's ordinary training loop (forward, loss, backward, step; no dispose(), no scope,
// never yielding to the event loop) keeps flat memory on every backend. Outside a scope the wasm backend hands
// out garbage-collected arrays; inside fit()'s per-step scope it recycles heap blocks.
// Measured in a child process started with --expose-gc, so a full collection before each reading shows what is
// retained rather than when V8 chose to collect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./support/plain-loop-child.ts', import.meta.url));

// The reference backend only ever allocates garbage-collected arrays; the wasm backend is the one with a heap.
for (const backend of ['wasm'] as const) {
  test(`a plain synchronous training loop keeps flat memory on ${backend} (step 200 vs step 2,000)`, (t) => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, backend], { encoding: 'utf8', timeout: 300_000 });
    if (r.status === 3 && !process.env.CI) {
      t.skip(`${backend} backend not available: ${r.stderr.trim()}`);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    const [a, b] = JSON.parse(r.stdout.trim().split('\n').pop()!) as { step: number; rssMiB: number; wasmMiB: number }[];
    t.diagnostic(`rss ${a!.rssMiB.toFixed(1)} -> ${b!.rssMiB.toFixed(1)} MiB, wasm memory ${a!.wasmMiB.toFixed(1)} -> ${b!.wasmMiB.toFixed(1)} MiB`);
    assert.ok(b!.wasmMiB <= a!.wasmMiB * 1.03 + 0.5, `wasm memory grew from ${a!.wasmMiB} to ${b!.wasmMiB} MiB`);
    assert.ok(b!.rssMiB <= a!.rssMiB * 1.05, `resident memory grew from ${a!.rssMiB.toFixed(1)} to ${b!.rssMiB.toFixed(1)} MiB`);
  });
}
