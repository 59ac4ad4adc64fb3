/**
 * Accuracy of the wasm backend's batch-norm kernels on a large realistic shape (resnet20's first stage, batch 128:
 * x is (128, 16, 1024)) against float64 arithmetic on the same float32 inputs, optionally beside another build
 * (bench/lib/wasm-build.ts). Run from the project root:
 *   node --import tsx bench/batchnorm-accuracy.ts [--baseline /work/main/src/backend/wasm/kernels.wasm]
 * Prints, per input distribution, the normwise relative error max|got - want| / max|want| of mean, variance (from
 * channelMoments), out (batchNormApply with weight and bias), gx, gWeight and gBias (batchNormBackward in training),
 * and the same measure for float64 results merely rounded to float32 (the floor any float32 output has).
 * Apply and backward get float32 mean and 1/sqrt(var + 1e-5) from the float64 statistics, so each kernel is
 * measured on its own.
 */
import { parseArgs } from 'node:util';
import { loadWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { mulberry32 } from './lib/random.js';
import { loadWasmBuild } from './lib/wasm-build.js';

const { values } = parseArgs({ options: { baseline: { type: 'string' } } });
const builds: { name: string; be: WasmBackend }[] = [{ name: 'new', be: await loadWasmBackend() }];
if (values.baseline) builds.unshift({ name: 'old', be: await loadWasmBuild(values.baseline) });
for (const b of builds) await b.be.setThreads(1);

const { uniform, normal } = mulberry32(7);

const n = 128, c = 16, hw = 1024, count = n * hw, size = n * c * hw;
// gy as a function of x: the last case is gy mostly along xhat, whose part batch norm's gradient removes, so gx is
// ~10x smaller than the terms it is computed from (harder for float32 arithmetic).
const CASES: [string, () => number, (x: number) => number][] = [
  ['x = 3 + N(0,1), gy = N(0,1)', () => 3 + normal(), normal],
  ['x = relu(N(0,1)), gy = N(0,1)', () => Math.max(0, normal()), normal],
  ['x = 100 + N(0,1), gy = 1 + N(0,1)', () => 100 + normal(), () => 1 + normal()],
  ['x = 3 + N(0,1), gy = 0.9(x - 3) + 0.1 N(0,1)', () => 3 + normal(), (x) => 0.9 * (x - 3) + 0.1 * normal()],
];

function normwise(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}
const OUTPUTS = ['mean', 'variance', 'out', 'gx', 'gWeight', 'gBias'] as const;
type Outputs = Record<(typeof OUTPUTS)[number], ArrayLike<number>>;

for (const [label, xDist, gyDist] of CASES) {
  const x = Float32Array.from({ length: size }, xDist), gy = Float32Array.from(x, gyDist);
  const weight = Float32Array.from({ length: c }, () => 0.5 + uniform()), bias = Float32Array.from({ length: c }, () => uniform() - 0.5);
  // float64 oracle: two-pass moments, then apply and backward from the float32 statistics the kernels receive.
  const mean64 = new Float64Array(c), var64 = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0, v = 0;
    for (let b = 0; b < n; b++) for (let i = 0, o = (b * c + ch) * hw; i < hw; i++) s += x[o + i]!;
    const m = s / count;
    for (let b = 0; b < n; b++) for (let i = 0, o = (b * c + ch) * hw; i < hw; i++) v += (x[o + i]! - m) ** 2;
    mean64[ch] = m;
    var64[ch] = v / count;
  }
  const mean = Float32Array.from(mean64), invStd = Float32Array.from(var64, (v) => 1 / Math.sqrt(v + 1e-5));
  const want: Outputs = { mean: mean64, variance: var64, out: new Float64Array(size), gx: new Float64Array(size), gWeight: new Float64Array(c), gBias: new Float64Array(c) };
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch]!, is = invStd[ch]!, w = weight[ch]!;
    let sg = 0, sgx = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0, o = (b * c + ch) * hw; i < hw; i++) {
        const xhat = (x[o + i]! - m) * is;
        (want.out as Float64Array)[o + i] = xhat * w + bias[ch]!;
        sg += gy[o + i]!;
        sgx += gy[o + i]! * xhat;
      }
    }
    (want.gWeight as Float64Array)[ch] = sgx;
    (want.gBias as Float64Array)[ch] = sg;
    for (let b = 0; b < n; b++) {
      for (let i = 0, o = (b * c + ch) * hw; i < hw; i++) {
        (want.gx as Float64Array)[o + i] = (w * is / count) * (count * gy[o + i]! - sg - (x[o + i]! - m) * is * sgx);
      }
    }
  }
  const rows: [string, Record<string, number>][] = [];
  rows.push(['float64 rounded to float32', Object.fromEntries(OUTPUTS.map((k) => [k, normwise(Float32Array.from(want[k]), want[k])]))]);
  for (const { name, be } of builds) {
    be.beginScope();
    const xs = be.alloc(size), gys = be.alloc(size), out = be.alloc(size), gx = be.alloc(size);
    xs.set(x);
    gys.set(gy);
    const got: Outputs = { mean: new Float32Array(c), variance: new Float32Array(c), out, gx, gWeight: new Float32Array(c), gBias: new Float32Array(c) };
    be.channelMoments(xs, n, c, hw, got.mean as Float32Array, got.variance as Float32Array);
    be.batchNormApply(xs, n, c, hw, mean, invStd, weight, bias, out);
    be.batchNormBackward(xs, gys, n, c, hw, mean, invStd, weight, true, gx, got.gWeight as Float32Array, got.gBias as Float32Array);
    rows.push([`${name} kernels`, Object.fromEntries(OUTPUTS.map((k) => [k, normwise(got[k], want[k])]))]);
    be.endScope();
  }
  console.log(`${label} (n${n} c${c} hw${hw}), normwise relative error against float64:`);
  console.log(`  ${''.padEnd(28)}${OUTPUTS.map((k) => k.padStart(10)).join('')}`);
  for (const [name, e] of rows) console.log(`  ${name.padEnd(28)}${OUTPUTS.map((k) => e[k]!.toExponential(1).padStart(10)).join('')}`);
}
process.exit(0);
