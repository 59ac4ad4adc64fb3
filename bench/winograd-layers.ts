/**
 * Per-layer times of the wasm backend's two convolution algorithms (im2col + GEMM and Winograd), for the forward
 * pass, the input gradient and the weight gradient of 3x3 stride-1 layers: the measurement behind the channel
 * thresholds in src/backend/wasm/conv-algorithm.ts. Run from the project root:
 *   node --import tsx bench/winograd-layers.ts [--threads 1] [--batch 32]
 * Prints the best of 5 timings (ms) per cell, alternating the algorithms twice so machine noise shows.
 */
import { parseArgs } from 'node:util';
import type { Conv2dGeometry } from '../src/backend/backend.js';
import { loadWasmBackend } from '../src/backend/wasm/index.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' }, batch: { type: 'string', default: '32' } } });
const threads = Number(values.threads), batch = Number(values.batch);
const wasm = await loadWasmBackend();
await wasm.setThreads(threads);

// [label, input channels, size, output channels]: vggsmall's and resnet20's 3x3 stride-1 layers, then narrow ones
const LAYERS: [string, number, number, number][] = [
  ['vggsmall 32->32 28x28', 32, 28, 32], ['vggsmall 32->64 14x14', 32, 14, 64], ['vggsmall 64->64 14x14', 64, 14, 64],
  ['resnet20 16->16 32x32', 16, 32, 16], ['resnet20 32->32 16x16', 32, 16, 32], ['resnet20 64->64 8x8', 64, 8, 64],
  ['12->12 32x32', 12, 32, 12], ['8->8 32x32', 8, 32, 8], ['4->4 32x32', 4, 32, 4], ['3->16 32x32', 3, 32, 16],
];

function bestMs(f: () => void): number {
  f();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

wasm.beginScope();
const randomArray = (n: number): Float32Array => {
  const a = wasm.alloc(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
};
console.log(`wasm, ${threads} thread(s), batch ${batch}; ms per call (best of 5), GEMM path | F(2x2,3x3) | F(4x4,3x3) (weight grad: F(3x3,2x2) for both), twice`);
for (const [label, cIn, size, cOut] of LAYERS) {
  const g: Conv2dGeometry = { n: batch, cIn, h: size, w: size, cOut, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1,
    dilationH: 1, dilationW: 1, groups: 1, outH: size, outW: size };
  const x = randomArray(batch * cIn * size * size), w = randomArray(cOut * cIn * 9), bias = randomArray(cOut);
  const y = wasm.alloc(batch * cOut * size * size), gx = wasm.alloc(x.length), gw = wasm.alloc(w.length);
  const passes: [string, () => void][] = [
    ['forward', () => wasm.conv2d(x, w, bias, g, y)],
    ['input grad', () => wasm.conv2dBackwardInput(y, w, g, gx)],
    ['weight grad', () => wasm.conv2dBackwardWeight(x, y, g, gw)],
  ];
  const cells = passes.map(([name, run]) => {
    const times: string[] = [];
    for (const algorithm of ['gemm', 'winograd', 'winograd4x4', 'gemm', 'winograd', 'winograd4x4'] as const) {
      wasm.setConvAlgorithm(algorithm);
      times.push(bestMs(run).toFixed(2));
    }
    return `${name} ${times.slice(0, 3).join(' | ')}, ${times.slice(3).join(' | ')}`;
  });
  console.log(`${label.padEnd(22)} ${cells.join('   ')}`);
}
wasm.setConvAlgorithm(null);
wasm.endScope();
process.exit(0);
