/**
 * Per-call times of the wasm backend's batch-norm kernels (asm/norm.ts: channelMoments, batchNormApply,
 * batchNormBackward in training) at resnet20's shapes (batch 128; 16 x 32x32, 32 x 16x16, 64 x 8x8), optionally
 * against another build of the backend in the same process. Run from the project root:
 *   node --import tsx bench/batchnorm.ts [--threads 1] [--rounds 10] [--calls 10]
 *     [--baseline /work/main/src/backend/wasm/kernels.wasm]
 * --baseline names the kernels.wasm of another built source tree (or its directory), loaded with that tree's
 * backend (bench/lib/wasm-build.ts). Per kernel the two builds alternate, in A B B A order, for `rounds` rounds of
 * `calls` calls each, so load from other work on the machine falls on both; each cell is the median (and the
 * minimum) of its rounds x calls times in ms per call, then new / old of the medians. Alternating builds costs cache
 * warmth: each build's first calls of a round evict the other's data (up to 24 MiB per kernel at the first shape),
 * which slows both alike and moves memory-bound ratios towards 1; the minimum is closer to a warm cache.
 */
import { parseArgs } from 'node:util';
import { loadWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { mulberry32 } from './lib/random.js';
import { loadWasmBuild } from './lib/wasm-build.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' }, rounds: { type: 'string', default: '10' }, calls: { type: 'string', default: '10' },
    baseline: { type: 'string' },
  },
});
const threads = Number(values.threads), rounds = Number(values.rounds), calls = Number(values.calls);

const builds: { name: string; be: WasmBackend }[] = [{ name: 'new', be: await loadWasmBackend() }];
if (values.baseline) builds.unshift({ name: 'old', be: await loadWasmBuild(values.baseline) });
for (const b of builds) await b.be.setThreads(threads);

// x is 3 + N(0,1) (a channel mean well away from 0, as after a convolution with bias), gy is N(0,1).
const { uniform, normal } = mulberry32(1);

const SHAPES: [number, number, number][] = [[128, 16, 1024], [128, 32, 256], [128, 64, 64]];
const KERNELS = ['channelMoments', 'batchNormApply', 'batchNormBackward'] as const;
type Kernel = (typeof KERNELS)[number];

for (const [n, c, hw] of SHAPES) {
  const size = n * c * hw;
  const x0 = Float32Array.from({ length: size }, () => 3 + normal()), gy0 = Float32Array.from({ length: size }, normal);
  const weight = Float32Array.from({ length: c }, () => 0.5 + uniform()), bias = Float32Array.from({ length: c }, () => uniform() - 0.5);
  const runs: Record<string, Record<Kernel, () => void>> = {};
  for (const { name, be } of builds) {
    be.beginScope();
    const x = be.alloc(size), gy = be.alloc(size), out = be.alloc(size), gx = be.alloc(size);
    x.set(x0);
    gy.set(gy0);
    // Per-channel vectors as the ops make them (plain arrays of C floats).
    const mean = new Float32Array(c), variance = new Float32Array(c), invStd = new Float32Array(c);
    const gWeight = new Float32Array(c), gBias = new Float32Array(c);
    be.channelMoments(x, n, c, hw, mean, variance);
    for (let i = 0; i < c; i++) invStd[i] = 1 / Math.sqrt(variance[i]! + 1e-5);
    runs[name] = {
      channelMoments: () => be.channelMoments(x, n, c, hw, mean, variance),
      batchNormApply: () => be.batchNormApply(x, n, c, hw, mean, invStd, weight, bias, out),
      batchNormBackward: () => be.batchNormBackward(x, gy, n, c, hw, mean, invStd, weight, true, gx, gWeight, gBias),
    };
  }
  const times: Record<string, Record<Kernel, number[]>> = {};
  for (const { name } of builds) times[name] = { channelMoments: [], batchNormApply: [], batchNormBackward: [] };
  // Warm-up: V8 first runs wasm functions as baseline (Liftoff) code and swaps in optimised code some calls later;
  // with cold caches too, the first calls of a kernel took up to 3x its later time.
  for (const { name } of builds) for (const k of KERNELS) for (let i = 0; i < 5; i++) runs[name]![k]();
  for (let r = 0; r < rounds; r++) {
    for (const k of KERNELS) {
      for (const { name } of r % 2 === 0 ? builds : [...builds].reverse()) {
        for (let i = 0; i < calls; i++) {
          const t0 = performance.now();
          runs[name]![k]();
          times[name]![k].push(performance.now() - t0);
        }
      }
    }
  }
  const median = (a: number[]): number => { const s = [...a].sort((p, q) => p - q); return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2; };
  for (const k of KERNELS) {
    const cells = builds.map(({ name }) => `${name} ${median(times[name]![k]).toFixed(3)} ms (min ${Math.min(...times[name]![k]).toFixed(3)})`);
    const ratio = builds.length === 2 ? `  new/old ${(median(times.new![k]) / median(times.old![k])).toFixed(2)}` : '';
    console.log(`${`${k} n${n} c${c} hw${hw}`.padEnd(36)} ${cells.join('   ')}${ratio}`);
  }
  for (const { be } of builds) be.endScope();
}
process.exit(0);
