#!/usr/bin/env node
// SGEMM micro-benchmark of the wasm and native backends (not a test). Run from the project root:
//   node --import tsx bench/gemm.mjs [--threads 1,2] [--sizes 1024] [--conv] [--mlp] [--backends wasm,native]
// Prints GFLOPS of C = A @ B for square sizes (and with --conv the GEMM shapes of vggsmall's convolutions, with
// --mlp those of the MLP inference cell and its whole forward pass) next to the peak measured in the same process:
// for wasm the 128-bit SIMD mul+add peak (7 f32x4 mul chains and 7 add chains, see asm/peak.ts), for native the
// FMA peak of its ISA level (12 independent vector FMA chains per thread, native/src/isa/peak.cc). Native rows are
// skipped, saying why, when its addon is not built.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadWasmBackend } from '../src/backend/wasm/index.js';
import { loadNativeBackend } from '../src/backend/native/index.js';
import { models, noGrad, tensor, useBackend } from '../src/index.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,2' }, sizes: { type: 'string', default: '1024' },
    conv: { type: 'boolean', default: false }, mlp: { type: 'boolean', default: false },
    backends: { type: 'string', default: 'wasm,native' },
  },
});
const backendNames = values.backends.split(',');
const threadCounts = values.threads.split(',').map(Number);
const sizes = values.sizes.split(',').map(Number);
const wasm = await loadWasmBackend();
await wasm.setThreads(Math.max(...threadCounts));
// Inside a scope alloc() hands out blocks of the wasm heap, used in place as the models' tensors are (outside one
// it gives plain arrays that every call would copy in and out).
wasm.beginScope();

/** Median wall seconds and median process CPU seconds (all threads) of fn over >= minSeconds. */
function timeIt(fn, minSeconds = 1.5) {
  fn();
  const wall = [], cpu = [];
  const start = performance.now();
  while (performance.now() - start < minSeconds * 1000 || wall.length < 3) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    wall.push((performance.now() - t0) / 1000);
    cpu.push((c.user + c.system) / 1e6);
  }
  const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { wall: median(wall), cpu: median(cpu) };
}

function fillRandom(a) { for (let i = 0; i < a.length; i++) a[i] = Math.random() * 2 - 1; return a; }

const peakIterations = 2e7;
const shapes = sizes.map((s) => ({ name: `${s}^3`, m: s, n: s, k: s, transA: false, transB: false }));
if (values.conv) {
  // vggsmall-style 3x3 convs on 28x28 / 14x14 / 7x7 maps, batch 64, as im2col GEMMs per image:
  // forward (O, C*9) @ (C*9, P); backward-weight (O, P) @ (P, C*9) summed over the batch (here one image).
  for (const [c, o, p] of [[1, 32, 784], [32, 32, 784], [32, 64, 196], [64, 64, 196], [64, 128, 49], [128, 128, 49]]) {
    shapes.push({ name: `fwd O${o} K${c * 9} P${p}`, m: o, n: p, k: c * 9, transA: false, transB: false });
    shapes.push({ name: `bwdW O${o} K${p} N${c * 9}`, m: o, n: c * 9, k: p, transA: false, transB: true });
  }
}
if (values.mlp) {
  // The inference cell of `npm run bench` for mlp (784-256-256-10, batch 256): nn.Linear's x @ W^T.
  for (const [i, o] of [[784, 256], [256, 256], [256, 10]]) {
    shapes.push({ name: `mlp fc ${i}->${o}, batch 256`, m: 256, n: o, k: i, transA: false, transB: true });
  }
}
/** The whole MLP forward at batch 256 as the benchmark runs it (eval, noGrad, one scope), 2 flops per MAC. */
function mlpForward(backend) {
  useBackend(backend);
  const net = models.create('mlp', { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
  net.eval();
  const x = tensor(fillRandom(backend.allocState(256 * 784)), [256, 1, 28, 28]);
  const scope = backend.scope ? (fn) => backend.scope(fn) : (fn) => fn();
  const t = timeIt(() => noGrad(() => scope(() => net.forward(x).data[0])));
  const flops = 2 * 256 * (784 * 256 + 256 * 256 + 256 * 10);
  return { name: 'mlp forward, batch 256', wall: flops / t.wall / 1e9, cpu: flops / t.cpu / 1e9, ms: t.wall * 1e3 };
}
// Each backend's peak, for nt threads: flops per wall second and per process CPU second.
const peaks = {
  wasm: (nt) => {
    const t = timeIt(() => wasm.measureSimdPeak(peakIterations, nt), 0.5);
    return { wall: (56 * peakIterations * nt) / t.wall / 1e9, cpu: (56 * peakIterations * nt) / t.cpu / 1e9 };
  },
  native: (nt) => {
    let flops = 0, seconds = Infinity;
    const t = timeIt(() => { const r = native.measureFmaPeak(peakIterations / 4, nt); flops = r.flops; seconds = Math.min(seconds, r.seconds); }, 0.5);
    return { wall: flops / seconds / 1e9, cpu: flops / t.cpu / 1e9 };
  },
};
const backends = [];
if (backendNames.includes('wasm')) backends.push(['wasm', wasm, 'SIMD mul+add peak']);
let native = null;
if (backendNames.includes('native')) {
  native = await loadNativeBackend().catch((e) => { console.log(`native rows skipped: ${e.message}`); return null; });
  if (native) backends.push(['native', native, `FMA peak (${native.isa})`]);
}
console.log(`SGEMM, ${new Date().toISOString()}, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('GFLOPS by wall time; in brackets by process CPU time (a fairer figure when other processes share the cores)');
const fmt = (g) => g.toFixed(1).padStart(6);
for (const [name, backend, peakName] of backends) {
  for (const nt of threadCounts) {
    await backend.setThreads(nt);
    // The peak, measured before and after the GEMMs; the larger counts (both are lower bounds of the machine's).
    const peakBefore = peaks[name](nt);
    const rows = [];
    for (const s of shapes) {
      const a = fillRandom(backend.alloc(s.m * s.k)), b = fillRandom(backend.alloc(s.k * s.n)), c = backend.alloc(s.m * s.n);
      const t = timeIt(() => backend.gemm(s.transA, s.transB, s.m, s.n, s.k, a, 0, b, 0, c, 0, false));
      const flops = 2 * s.m * s.n * s.k;
      rows.push({ name: s.name, wall: flops / t.wall / 1e9, cpu: flops / t.cpu / 1e9, ms: t.wall * 1e3 });
      backend.release?.(a); backend.release?.(b); backend.release?.(c);
    }
    if (values.mlp) rows.push(mlpForward(backend));
    const peakAfter = peaks[name](nt);
    const peak = { wall: Math.max(peakBefore.wall, peakAfter.wall), cpu: Math.max(peakBefore.cpu, peakAfter.cpu) };
    console.log(`${name} threads=${nt}: ${peakName} ${fmt(peak.wall)} GFLOPS [${peak.cpu.toFixed(1)} per CPU-second]`);
    for (const r of rows) {
      console.log(`  ${r.name.padEnd(28)} ${fmt(r.wall)} GFLOPS ${((100 * r.wall) / peak.wall).toFixed(0).padStart(4)}% of peak` +
        `  [${fmt(r.cpu)} per CPU-s ${((100 * r.cpu) / peak.cpu).toFixed(0).padStart(4)}%]  ${r.ms.toFixed(2)} ms`);
    }
  }
}
