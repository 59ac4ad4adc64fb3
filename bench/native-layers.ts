/**
 * Per-layer speed of the native backend's convolution kernels against the wasm backend's: each conv layer of
 * lenet5 and vggsmall (1x28x28) and resnet20 (3x32x32), as bench/peers feeds them, at its training batch (64;
 * resnet20 128), and each locally connected layer of lcnet (batch 64),
 * forward, input gradient and weight gradient, with the algorithm each backend picks. Run from the project root:
 *   node --import tsx bench/native-layers.ts [--threads 1,2] [--repeats 10] [--backends native,wasm] [--layers vgg|lcnet]
 *     [--cpu-time]
 * Prints the CPU model and load average, then per cell the best of `repeats` calls in ms and GFLOPS (2 flops per
 * multiply-add of the direct convolution, whatever the algorithm does). --cpu-time times the process's CPU time
 * instead of wall time: with 1 thread on a busy machine, the time the kernel really ran.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Backend, Conv2dGeometry } from '../src/backend/backend.js';
import { loadNativeBackend } from '../src/backend/native/index.js';
import { convAlgorithm, directConvAlgorithms, type ConvPass } from '../src/backend/wasm/conv-algorithm.js';
import { loadWasmBackend } from '../src/backend/wasm/index.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,2' },
    repeats: { type: 'string', default: '10' },
    backends: { type: 'string', default: 'native,wasm' },
    layers: { type: 'string', default: '' },
    'cpu-time': { type: 'boolean', default: false },
  },
});
const threadCounts = values.threads.split(',').map(Number);
const repeats = Number(values.repeats);
const backendNames = values.backends.split(',');
if (threadCounts.some((t) => !(t >= 1)) || !(repeats >= 1)) throw new Error('--threads takes a list like 1,2 and --repeats a count >= 1');

interface Layer { n: number; cIn: number; size: number; cOut: number; k: number; stride?: number; pad: number }
const geometry = (l: Layer): Conv2dGeometry => {
  const stride = l.stride ?? 1, out = Math.floor((l.size + 2 * l.pad - l.k) / stride) + 1;
  return { n: l.n, cIn: l.cIn, h: l.size, w: l.size, cOut: l.cOut, kh: l.k, kw: l.k, strideH: stride, strideW: stride,
    padH: l.pad, padW: l.pad, dilationH: 1, dilationW: 1, groups: 1, outH: out, outW: out };
};
const LAYERS: [string, Conv2dGeometry, number][] = ([
  ['lenet5 conv1 1->6 5x5 28', { n: 64, cIn: 1, size: 28, cOut: 6, k: 5, pad: 2 }, 1],
  ['lenet5 conv2 6->16 5x5 14', { n: 64, cIn: 6, size: 14, cOut: 16, k: 5, pad: 0 }, 1],
  ['vggsmall conv1 1->32 28', { n: 64, cIn: 1, size: 28, cOut: 32, k: 3, pad: 1 }, 1],
  ['vggsmall conv2 32->32 28', { n: 64, cIn: 32, size: 28, cOut: 32, k: 3, pad: 1 }, 1],
  ['vggsmall conv3 32->64 14', { n: 64, cIn: 32, size: 14, cOut: 64, k: 3, pad: 1 }, 1],
  ['vggsmall conv4 64->64 14', { n: 64, cIn: 64, size: 14, cOut: 64, k: 3, pad: 1 }, 1],
  ['resnet20 conv1 3->16 32', { n: 128, cIn: 3, size: 32, cOut: 16, k: 3, pad: 1 }, 1],
  ['resnet20 16->16 32 (x6)', { n: 128, cIn: 16, size: 32, cOut: 16, k: 3, pad: 1 }, 6],
  ['resnet20 16->32 s2 32', { n: 128, cIn: 16, size: 32, cOut: 32, k: 3, stride: 2, pad: 1 }, 1],
  ['resnet20 32->32 16 (x5)', { n: 128, cIn: 32, size: 16, cOut: 32, k: 3, pad: 1 }, 5],
  ['resnet20 32->64 s2 16', { n: 128, cIn: 32, size: 16, cOut: 64, k: 3, stride: 2, pad: 1 }, 1],
  ['resnet20 64->64 8 (x5)', { n: 128, cIn: 64, size: 8, cOut: 64, k: 3, pad: 1 }, 5],
] as [string, Layer, number][]).map(([label, l, count]) => [label, geometry(l), count]);
const layers = LAYERS.filter(([label]) => label.includes(values.layers));

const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`CPU: ${cpuModel}; load average at start ${loadAverage()}`);

const backends = new Map<string, Backend & { setThreads(n: number): Promise<void> }>();
const native = backendNames.includes('native') ? await loadNativeBackend() : null;
if (native) backends.set('native', native);
if (backendNames.includes('wasm')) backends.set('wasm', await loadWasmBackend());
if (native) console.log(`native ISA: ${native.isa}`);

const PASSES: ConvPass[] = ['forward', 'inputGradient', 'weightGradient'];
function algorithm(name: string, g: Conv2dGeometry, pass: ConvPass): string {
  if (name === 'native') return native!.convAlgorithmName(g, pass);
  const a = convAlgorithm(g, pass);
  if (a !== 'gemm') return a;
  const d = directConvAlgorithms(g);
  return pass === 'forward' ? d.forward : pass === 'inputGradient' ? d.backwardInput : d.backwardWeight;
}

const now = values['cpu-time'] ? (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : (): number => performance.now();
let seed = 1;
const random = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296 - 0.5; };
const totals = new Map<string, number>();
/** The best of `repeats` timed calls (after one untimed), in ms. */
function bestMs(run: () => void): number {
  run();
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = now();
    run();
    best = Math.min(best, now() - t0);
  }
  return best;
}
const cell = (pass: string, ms: number, flops: number, algo: string): string =>
  `${pass.padEnd(14)} ${ms.toFixed(2).padStart(7)} ms ${(flops / ms / 1e6).toFixed(1).padStart(6)} GFLOPS ${algo.padEnd(11)}`;
for (const [label, g, count] of layers) {
  const flops = 2 * g.n * g.cOut * g.outH * g.outW * g.cIn * g.kh * g.kw;
  console.log(`\n${label}, batch ${g.n}: ${(flops / 1e9).toFixed(2)} GFLOP per pass${count > 1 ? `, ${count} layers like it` : ''}`);
  for (const [name, backend] of backends) {
    const put = (n: number): Float32Array => { const b = backend.alloc(n); for (let i = 0; i < n; i++) b[i] = random(); return b; };
    const x = put(g.n * g.cIn * g.h * g.w), w = put(g.cOut * g.cIn * g.kh * g.kw), bias = put(g.cOut);
    const gy = put(g.n * g.cOut * g.outH * g.outW), y = backend.alloc(gy.length), gx = backend.alloc(x.length), gw = backend.alloc(w.length);
    for (const threads of threadCounts) {
      await backend.setThreads(threads);
      const cells: string[] = [];
      for (const pass of PASSES) {
        const run = pass === 'forward' ? () => backend.conv2d(x, w, bias, g, y)
          : pass === 'inputGradient' ? () => backend.conv2dBackwardInput(gy, w, g, gx)
          : () => backend.conv2dBackwardWeight(x, gy, g, gw);
        const best = bestMs(run);
        const key = `${name} ${threads}`;
        totals.set(key, (totals.get(key) ?? 0) + best * count);
        cells.push(cell(pass, best, flops, algorithm(name, g, pass)));
      }
      console.log(`  ${name.padEnd(6)} ${threads}T  ${cells.join('  ')}`);
    }
  }
}
// lcnet: vggsmall's layers as LocallyConnected2d (weights (OH*OW, O, C, 3, 3), bias (O, OH, OW)).
const LC_LAYERS: [string, Conv2dGeometry][] = ([
  ['lcnet lc1 1->32 28', { n: 64, cIn: 1, size: 28, cOut: 32, k: 3, pad: 1 }],
  ['lcnet lc2 32->32 28', { n: 64, cIn: 32, size: 28, cOut: 32, k: 3, pad: 1 }],
  ['lcnet lc3 32->64 14', { n: 64, cIn: 32, size: 14, cOut: 64, k: 3, pad: 1 }],
  ['lcnet lc4 64->64 14', { n: 64, cIn: 64, size: 14, cOut: 64, k: 3, pad: 1 }],
] as [string, Layer][]).map(([label, l]) => [label, geometry(l)]);
for (const [label, g] of LC_LAYERS.filter(([label]) => label.includes(values.layers))) {
  const p = g.outH * g.outW, flops = 2 * g.n * g.cOut * p * g.cIn * g.kh * g.kw;
  console.log(`\n${label}, batch ${g.n}: ${(flops / 1e9).toFixed(2)} GFLOP per pass (locally connected)`);
  for (const [name, backend] of backends) {
    const put = (n: number): Float32Array => { const b = backend.alloc(n); for (let i = 0; i < n; i++) b[i] = random(); return b; };
    const x = put(g.n * g.cIn * g.h * g.w), w = put(p * g.cOut * g.cIn * g.kh * g.kw), bias = put(g.cOut * p);
    const gy = put(g.n * g.cOut * p), y = backend.alloc(gy.length), gx = backend.alloc(x.length), gw = backend.alloc(w.length);
    for (const threads of threadCounts) {
      await backend.setThreads(threads);
      const cells = PASSES.map((pass) => {
        const best = bestMs(pass === 'forward' ? () => backend.locallyConnected2d(x, w, bias, g, y)
          : pass === 'inputGradient' ? () => backend.locallyConnected2dBackwardInput(gy, w, g, gx)
          : () => backend.locallyConnected2dBackwardWeight(x, gy, g, gw));
        const key = `${name} ${threads} (lcnet)`;
        totals.set(key, (totals.get(key) ?? 0) + best);
        return cell(pass, best, flops, 'locally');
      });
      console.log(`  ${name.padEnd(6)} ${threads}T  ${cells.join('  ')}`);
    }
  }
}
console.log('\nSum over the layers (each times its count), ms per training step\'s convolutions (lcnet: its locally connected layers):');
for (const [key, ms] of totals) console.log(`  ${key} thread(s): ${ms.toFixed(1)} ms`);
console.log(`load average at end ${loadAverage()}`);
process.exit(0);
