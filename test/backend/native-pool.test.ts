// The native backend's thread pool under stress: thousands of back-to-back small jobs (every one handed to the pool:
// work threshold 0), thread counts changed between them, and a second JavaScript thread (a worker_thread) running
// kernels on the same addon at the same time (its calls run inline while the pool is busy). Results must equal the
// single-thread ones bit for bit, and nothing may hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { NATIVE_DIR } from '../../src/node/native-addon.js';

/** tanh's op code in the addon (native/src/ops.h). */
const TANH = 8;

const native = await loadNativeBackend().catch(() => null);
const skip = native ? false : 'the native addon is not built (npm run build:native)';

function input(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 3);
}
const sameBits = (a: Float32Array, b: Float32Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

test('5,000 back-to-back jobs with the thread count changing between them give the single-thread bits', { skip, timeout: 120_000 }, async () => {
  const nb = native!;
  nb.setParallelThreshold(0);
  try {
    const x = input(40_000), expected = new Float32Array(x.length), out = new Float32Array(x.length);
    await nb.setThreads(1);
    nb.unary('tanh', x, expected);
    for (let i = 0; i < 5000; i++) {
      if (i % 500 === 0) await nb.setThreads(1 + ((i / 500) % 3));
      out.fill(0);
      nb.unary('tanh', x, out);
      if (!sameBits(out, expected)) assert.fail(`job ${i} on ${nb.threads} threads differs from one thread`);
    }
  } finally {
    nb.setParallelThreshold(20_000);
    await nb.setThreads(2);
  }
});

test('a worker_thread running kernels on the same addon at the same time gets the same bits', { skip, timeout: 120_000 }, async () => {
  const nb = native!;
  await nb.setThreads(2);
  nb.setParallelThreshold(0);
  const source = `
    const { parentPort } = require('node:worker_threads');
    // The addon itself (as src/node/native-addon.ts finds it): this thread runs plain JavaScript, no TypeScript loader.
    const addon = require(require('node-gyp-build').path(${JSON.stringify(NATIVE_DIR)}));
    const nb = { unary: (op, x, out) => addon.unary(${TANH}, x, out) };
    {
      const x = Float32Array.from({ length: 40000 }, (_, i) => Math.sin(i * 0.37) * 3);
      const first = new Float32Array(40000), out = new Float32Array(40000);
      nb.unary('tanh', x, first);
      let mismatches = 0;
      for (let i = 0; i < 300; i++) {
        nb.unary('tanh', x, out);
        if (!out.every((v, j) => Object.is(v, first[j]))) mismatches++;
      }
      parentPort.postMessage({ mismatches, first });
    }`;
  try {
    const worker = new Worker(source, { eval: true });
    const fromWorker = new Promise<{ mismatches: number; first: Float32Array }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const x = input(40_000), out = new Float32Array(x.length), expected = new Float32Array(x.length);
    nb.unary('tanh', x, expected);
    // Keep the main thread's pool busy while the worker runs (its calls must not wait for or corrupt these jobs).
    let done = false;
    void fromWorker.finally(() => { done = true; });
    for (let i = 0; i < 20_000 && !done; i++) {
      nb.unary('tanh', x, out);
      if (!sameBits(out, expected)) assert.fail(`main-thread job ${i} differs while the worker runs`);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    const result = await fromWorker;
    await worker.terminate();
    assert.equal(result.mismatches, 0, 'worker calls that differ from its first');
    assert.ok(sameBits(result.first, expected), 'the worker\'s result equals the main thread\'s');
  } finally {
    nb.setParallelThreshold(20_000);
  }
});
