// The design promise on the native backend: a user's ordinary training loop (forward, loss, backward, step; no
// dispose(), no scope, never yielding to the event loop) keeps flat memory. Native kernels work in place on
// garbage-collected Float32Arrays and keep no memory of their own, so array-buffer bytes must not grow.
// As test/engine/plain-loop-memory.test.ts: a child process started with --expose-gc trains LeNet-5 (batch 32) and
// reads memory every 250 steps after full collections; a leak is judged by the median increment between readings,
// which ignores a one-off jump. A second run keeps 16 KiB alive per step, which the same check must catch.
// This file is its own child (`--child`), so the loop runs in a process of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Reading { step: number; rssMiB: number; arrayBuffersMiB: number; externalMiB: number }

async function childMain(): Promise<void> {
  const { loadNativeBackend } = await import('../../src/backend/native/index.js');
  const { useBackend, getBackend, manualSeed, randn, F, models, optim } = await import('../../src/index.js');
  const leakIndex = process.argv.indexOf('--leak'), stepsIndex = process.argv.indexOf('--steps');
  const leakBytes = leakIndex >= 0 ? Number(process.argv[leakIndex + 1]) : 0;
  const steps = stepsIndex >= 0 ? Number(process.argv[stepsIndex + 1]) : 4000;
  const native = await loadNativeBackend();
  await native.setThreads(2);
  useBackend(native);
  const gc = (globalThis as { gc?: () => void }).gc!;
  manualSeed(0);
  const net = models.create('lenet5');
  const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([32, 1, 28, 28]);
  const y = Int32Array.from({ length: 32 }, (_, i) => i % 10);
  const leaked: Float32Array[] = [];
  const readings: Reading[] = [];
  for (let i = 1; i <= steps; i++) {
    const loss = F.crossEntropy(net.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    if (leakBytes > 0) leaked.push(new Float32Array(leakBytes / 4).fill(i));
    if (i % 250 === 0) {
      // Full collections until array-buffer bytes stop falling (a background sweeper may free backing stores late).
      let m = process.memoryUsage();
      for (let k = 0; k < 6; k++) {
        gc();
        const next = process.memoryUsage();
        const settled = k > 0 && next.arrayBuffers >= m.arrayBuffers;
        m = next;
        if (settled) break;
      }
      readings.push({ step: i, rssMiB: m.rss / 2 ** 20, arrayBuffersMiB: m.arrayBuffers / 2 ** 20, externalMiB: m.external / 2 ** 20 });
    }
  }
  console.log(JSON.stringify({ backend: getBackend().name, leaked: leaked.length, readings }));
}

/** The median of the increments between consecutive readings, in KiB per step. */
function medianGrowthKiBPerStep(readings: readonly Reading[], field: (r: Reading) => number): number {
  const increments = readings.slice(1).map((r, i) => ((field(r) - field(readings[i]!)) * 1024) / (r.step - readings[i]!.step)).sort((a, b) => a - b);
  const mid = increments.length >> 1;
  return increments.length % 2 ? increments[mid]! : (increments[mid - 1]! + increments[mid]!) / 2;
}

function runChild(extra: string[]): { backend: string; leaked: number; readings: Reading[] } {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child', ...extra], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// Bounds as in plain-loop-memory.test.ts: array buffers and external memory count exactly what the process holds.
const BOUND_KIB_PER_STEP = 0.25;

if (process.argv.includes('--child')) {
  await childMain();
} else {
  const { loadNativeBackend } = await import('../../src/backend/native/index.js');
  const unavailable = await loadNativeBackend().then(() => false, (e: Error) => `the native backend cannot load: ${e.message}`);

  test('a plain synchronous training loop on the native backend keeps flat memory (4,000 steps, read every 250)', { skip: unavailable }, (t) => {
    const { backend, readings } = runChild([]);
    assert.equal(backend, 'native');
    assert.equal(readings.length, 16);
    const arrayBuffers = medianGrowthKiBPerStep(readings, (r) => r.arrayBuffersMiB);
    const external = medianGrowthKiBPerStep(readings, (r) => r.externalMiB);
    t.diagnostic(`array buffers MiB: ${readings.map((r) => r.arrayBuffersMiB.toFixed(2)).join(' ')}; rss MiB: ${readings.map((r) => r.rssMiB.toFixed(1)).join(' ')}`);
    t.diagnostic(`median growth, KiB per step: array buffers ${arrayBuffers.toFixed(3)}, external ${external.toFixed(3)}`);
    assert.ok(arrayBuffers <= BOUND_KIB_PER_STEP, `array buffers grow ${arrayBuffers.toFixed(3)} KiB per step (median over 250-step intervals)`);
    assert.ok(external <= BOUND_KIB_PER_STEP, `external memory grows ${external.toFixed(3)} KiB per step (median over 250-step intervals)`);
  });

  test('the same check catches a leak of 16 KiB per step on the native backend (the check of the check)', { skip: unavailable }, () => {
    const { leaked, readings } = runChild(['--leak', '16384', '--steps', '2500']);
    assert.equal(leaked, 2500);
    const arrayBuffers = medianGrowthKiBPerStep(readings, (r) => r.arrayBuffersMiB);
    assert.ok(arrayBuffers > 12 && arrayBuffers < 20, `a 16 KiB leak per step measured as ${arrayBuffers.toFixed(2)} KiB per step`);
  });
}
