#!/usr/bin/env node
// One thread's 128-bit SIMD peak with mul + add (what convkit's kernels use, for machine-independent bits) and
// with relaxed-SIMD fused multiply-add (f32x4.relaxed_madd), to show what FMA would add on this machine. Not a
// test. Node 20 needs a flag for relaxed SIMD (Node 22 and Chrome 114 have it by default):
//   node --experimental-wasm-relaxed-simd --import tsx bench/fma/peak.mjs
// The mul + add loop is the kernels' own (asm/peak.ts, through the wasm backend with 1 thread); the FMA loop is
// bench/fma/peak.ts, compiled here with the project's assemblyscript devDependency into a temporary directory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWasmBackend } from '../../src/backend/wasm/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const asc = join(dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json')), 'bin/asc.js');
const dir = mkdtempSync(join(tmpdir(), 'convkit-fma-'));
const out = join(dir, 'peak.wasm');
const built = spawnSync(process.execPath, [asc, join(here, 'peak.ts'), '-o', out, '-O3', '--runtime', 'stub', '--noAssert',
  '--enable', 'simd,relaxed-simd'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
const bytes = readFileSync(out);
rmSync(dir, { recursive: true, force: true });
let module;
try {
  module = new WebAssembly.Module(bytes);
} catch (error) {
  console.error(`bench/fma: this runtime rejects relaxed SIMD (${error.message.split('\n')[0]}); on Node 20 run it with --experimental-wasm-relaxed-simd`);
  process.exit(1);
}
const { peakFma } = new WebAssembly.Instance(module, { env: { abort() {} } }).exports;
const wasm = await loadWasmBackend();
// 7 mul chains and 7 add chains: 14 f32x4 ops = 56 flops per iteration (asm/peak.ts).
const peakMulAdd = (iterations) => wasm.measureSimdPeak(iterations, 1);

const iterations = 5e7;
const gflops = (fn, flopsPerIteration) => {
  const t0 = performance.now();
  fn(iterations, 1, 0);
  return (flopsPerIteration * iterations) / (performance.now() - t0) / 1e6;
};
gflops(peakMulAdd, 56); gflops(peakFma, 96); // warm-up (tier-up to the optimising compiler)
const runs = [];
for (let r = 0; r < 5; r++) runs.push([gflops(peakMulAdd, 56), gflops(peakFma, 96)]);
const median = (i) => runs.map((x) => x[i]).sort((a, b) => a - b)[2];
console.log(`1 thread, f32x4: mul + add ${median(0).toFixed(1)} GFLOPS, relaxed fused multiply-add ${median(1).toFixed(1)} GFLOPS ` +
  `(${(median(1) / median(0)).toFixed(2)}x), medians of 5 alternating runs`);
