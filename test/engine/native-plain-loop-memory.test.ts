// The design promise on the native backend: a user's ordinary training loop (forward, loss, backward, step; no
// dispose(), no scope, never yielding to the event loop) keeps flat memory. Native kernels work in place on
// garbage-collected Float32Arrays and keep no memory of their own, so array-buffer and external bytes must not grow.
// The same child as test/engine/plain-loop-memory.test.ts (support/plain-loop-child.ts, with --expose-gc) trains
// LeNet-5 (batch 32) and reads memory every 125 steps after full collections; a leak is judged by the median
// increment between readings, which ignores a one-off jump. A second run keeps 16 KiB alive per step, which the same
// check must catch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { growthKiBPerStep, runPlainLoop } from './support/memory-growth.js';

// Bounds as in plain-loop-memory.test.ts: array buffers and external memory count exactly what the process holds.
const BOUND_KIB_PER_STEP = 0.25;
const unavailable = await loadNativeBackend().then(() => false, (e: Error) => `the native backend cannot load: ${e.message}`);

test('a plain synchronous training loop on the native backend keeps flat memory (2,000 steps, read every 125)', { skip: unavailable }, (t) => {
  const { backend, readings } = runPlainLoop('native', []);
  assert.equal(backend, 'native');
  assert.equal(readings.length, 16);
  const arrayBuffers = growthKiBPerStep(readings, (r) => r.arrayBuffersMiB);
  const external = growthKiBPerStep(readings, (r) => r.externalMiB);
  t.diagnostic(`array buffers MiB: ${readings.map((r) => r.arrayBuffersMiB.toFixed(2)).join(' ')}; rss MiB: ${readings.map((r) => r.rssMiB.toFixed(1)).join(' ')}`);
  t.diagnostic(`median growth, KiB per step: array buffers ${arrayBuffers.toFixed(3)}, external ${external.toFixed(3)}`);
  assert.ok(arrayBuffers <= BOUND_KIB_PER_STEP, `array buffers grow ${arrayBuffers.toFixed(3)} KiB per step (median over 125-step intervals)`);
  assert.ok(external <= BOUND_KIB_PER_STEP, `external memory grows ${external.toFixed(3)} KiB per step (median over 125-step intervals)`);
});

test('the same check catches a leak of 16 KiB per step on the native backend (the check of the check)', { skip: unavailable }, () => {
  const { leaked, readings } = runPlainLoop('native', ['--leak', '16384', '--steps', '1250']);
  assert.equal(leaked, 1250);
  const arrayBuffers = growthKiBPerStep(readings, (r) => r.arrayBuffersMiB);
  assert.ok(arrayBuffers > 12 && arrayBuffers < 20, `a 16 KiB leak per step measured as ${arrayBuffers.toFixed(2)} KiB per step`);
});
