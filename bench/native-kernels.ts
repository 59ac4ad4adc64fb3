/**
 * Speed of the native backend's non-convolution kernels (batch norm, elementwise, reductions, pooling, loss,
 * optimizer updates) against the wasm backend's, on the activations of resnet20's first stage at batch 128
 * (128 x 16 x 32 x 32 = 2M floats) and a 300k-parameter optimizer step. Run from the project root:
 *   node --import tsx bench/native-kernels.ts [--threads 1,2] [--repeats 7] [--cpu-time] [--only NAME]
 * Prints the CPU model and load average, then per kernel the median of `repeats` timings (each the mean of 5 calls)
 * in ms. wasm's arrays live in its heap (as inside a training step's scope), so neither backend copies.
 * --cpu-time times the process's CPU time instead of wall time (with 1 thread on a busy machine: the time the
 * kernel really ran).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/backend/backend.js';
import { loadNativeBackend } from '../src/backend/native/index.js';
import { loadWasmBackend } from '../src/backend/wasm/index.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,2' },
    repeats: { type: 'string', default: '7' },
    'cpu-time': { type: 'boolean', default: false },
    only: { type: 'string', default: '' },
  },
});
const threadCounts = values.threads.split(',').map(Number);
const repeats = Number(values.repeats);
const cpuModel = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
console.log(`${cpuModel}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${values['cpu-time'] ? 'CPU' : 'wall'} time`);

const native = await loadNativeBackend();
const wasm = await loadWasmBackend();
wasm.beginScope(); // heap arrays for wasm's inputs and outputs, kept for the whole run
console.log(`native ${native.isa}`);

/** The arrays of one backend: its own alloc, filled with the same values. */
function inputs(b: Backend) {
  let seed = 1;
  const random = (n: number, f = (v: number) => v) => {
    const a = b.alloc(n);
    for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; a[i] = f((seed / 2 ** 32) * 2 - 1); }
    return a;
  };
  const N = 128, C = 16, HW = 32 * 32, n = N * C * HW, P = 300_000, rows = 128, cols = 10;
  const indices = b.alloc(n / 4);
  return {
    N, C, HW, n, P, rows, cols,
    x: random(n), gy: random(n), out: b.alloc(n), gx: b.alloc(n), mean: random(C), invStd: random(C, Math.abs), weight: random(C),
    bias: random(C), gw: b.alloc(C), gb: b.alloc(C), pooled: b.alloc(n / 4),
    argmax: new Int32Array(indices.buffer, indices.byteOffset, n / 4),
    logits: random(rows * cols), target: Int32Array.from({ length: rows }, (_, i) => i % cols), loss: b.alloc(rows), lse: b.alloc(2 * rows),
    p: random(P), g: random(P), m: random(P), v: random(P, Math.abs),
  };
}
type Inputs = ReturnType<typeof inputs>;
const pool = (d: Inputs) => ({ n: d.N, c: d.C, h: 32, w: 32, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outH: 16, outW: 16 });

const kernels: [string, (b: Backend, d: Inputs) => void][] = [
  ['channelMoments', (b, d) => b.channelMoments(d.x, d.N, d.C, d.HW, d.gw, d.gb)],
  ['batchNormApply', (b, d) => b.batchNormApply(d.x, d.N, d.C, d.HW, d.mean, d.invStd, d.weight, d.bias, d.out)],
  ['batchNormBackward', (b, d) => b.batchNormBackward(d.x, d.gy, d.N, d.C, d.HW, d.mean, d.invStd, d.weight, true, d.gx, d.gw, d.gb)],
  ['unary relu', (b, d) => b.unary('relu', d.x, d.out)],
  ['binary add', (b, d) => b.binary('add', d.x, [d.n], d.gy, [d.n], d.out, [d.n])],
  ['binary mul (N,C,HW)*(1,C,1)', (b, d) => b.binary('mul', d.x, [d.N, d.C, d.HW], d.weight, [1, d.C, 1], d.out, [d.N, d.C, d.HW])],
  ['biasActivation relu', (b, d) => b.biasActivation(d.out, null, d.N * d.C, d.HW, 'relu')],
  ['activationBackward relu', (b, d) => b.activationBackward(d.x, d.gy, d.gx, 'relu')],
  ['reduce sum (N,C,HW) -> C', (b, d) => b.reduce('sum', d.x, [d.N, d.C, d.HW], [0, 2], d.gw)],
  ['maxPool2d 2x2 + argmax', (b, d) => b.maxPool2d(d.x, pool(d), d.pooled, d.argmax)],
  ['maxPool2dBackward 2x2', (b, d) => b.maxPool2dBackward(d.pooled, d.argmax, pool(d), d.gx)],
  ['avgPool2d 2x2', (b, d) => b.avgPool2d(d.x, pool(d), true, 0, d.pooled)],
  ['unary sigmoid', (b, d) => b.unary('sigmoid', d.x, d.out)],
  ['softmaxCrossEntropy 128x10', (b, d) => b.softmaxCrossEntropy(d.logits, d.rows, d.cols, d.target, null, 0, d.loss, d.lse)],
  ['sgdStep momentum (300k)', (b, d) => b.sgdStep(d.p, d.g, d.m, false, { lr: 0.01, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 5e-4, maximize: false })],
  ['adamStep (300k)', (b, d) => b.adamStep(d.p, d.g, d.m, d.v, null, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, maximize: false, step: 3 })],
];

function milliseconds(fn: () => void): number {
  for (let i = 0; i < 3; i++) fn();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    for (let i = 0; i < 5; i++) fn();
    const cpu = process.cpuUsage(c0);
    times.push(values['cpu-time'] ? (cpu.user + cpu.system) / 1000 / 5 : (performance.now() - t0) / 5);
  }
  return times.sort((a, b) => a - b)[times.length >> 1]!;
}

const nativeData = inputs(native), wasmData = inputs(wasm);
for (const threads of threadCounts) {
  await native.setThreads(threads);
  await wasm.setThreads(threads);
  console.log(`\n${threads} thread${threads === 1 ? '' : 's'}:            kernel   native ms   wasm ms   wasm/native`);
  for (const [name, run] of kernels) {
    if (values.only && !name.includes(values.only)) continue;
    const tn = milliseconds(() => run(native, nativeData)), tw = milliseconds(() => run(wasm, wasmData));
    console.log(`${name.padStart(36)}  ${tn.toFixed(3).padStart(9)}  ${tw.toFixed(3).padStart(8)}  ${(tw / tn).toFixed(2).padStart(8)}x`);
  }
}
process.exit(0);
