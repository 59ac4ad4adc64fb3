/**
 * Per-layer speed of the wasm backend's direct convolution kernel (asm/direct.ts) with and without its fused
 * epilogue (ReLU + 2x2 max pooling, what nn.Sequential runs for Conv2d, ReLU, MaxPool2d(2) in inference), on the
 * first layers and LeNet-5 layers that take it. Run from the project root:
 *   node --import tsx bench/direct-layers.ts [--threads 1]
 * Prints the best of 20 calls per cell, in ms and GFLOPS (2 flops per multiply-add of the convolution), then the
 * same for LeNet-5's two 2x2 max poolings run on their own without winner indices (maxPool2d under noGrad).
 */
import { parseArgs } from 'node:util';
import type { Conv2dGeometry } from '../src/backend/backend.js';
import { loadWasmBackend } from '../src/backend/wasm/index.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' } } });
const wasm = await loadWasmBackend();
await wasm.setThreads(Number(values.threads));

type Layer = Omit<Conv2dGeometry, 'strideH' | 'strideW' | 'padH' | 'padW' | 'dilationH' | 'dilationW' | 'groups' | 'outH' | 'outW'> & { pad?: number; groups?: number };
const geometry = (l: Layer): Conv2dGeometry => {
  const pad = l.pad ?? 0;
  return { ...l, strideH: 1, strideW: 1, padH: pad, padW: pad, dilationH: 1, dilationW: 1, groups: l.groups ?? 1,
    outH: l.h + 2 * pad - l.kh + 1, outW: l.w + 2 * pad - l.kw + 1 };
};
const LAYERS: [string, Conv2dGeometry][] = [
  ['lenet5 conv1 1->6 5x5, batch 256', geometry({ n: 256, cIn: 1, h: 28, w: 28, cOut: 6, kh: 5, kw: 5, pad: 2 })],
  ['lenet5 conv2 6->16 5x5, batch 256', geometry({ n: 256, cIn: 6, h: 14, w: 14, cOut: 16, kh: 5, kw: 5 })],
  ['vggsmall conv1 1->32 3x3, batch 64', geometry({ n: 64, cIn: 1, h: 28, w: 28, cOut: 32, kh: 3, kw: 3, pad: 1 })],
  ['resnet20 conv1 3->16 3x3, batch 64', geometry({ n: 64, cIn: 3, h: 32, w: 32, cOut: 16, kh: 3, kw: 3, pad: 1 })],
  ['depthwise 16 3x3 32x32, batch 64', geometry({ n: 64, cIn: 16, h: 32, w: 32, cOut: 16, kh: 3, kw: 3, pad: 1, groups: 16 })],
];
const EPILOGUES = [{ activation: 'none', maxPool2x2: false }, { activation: 'relu', maxPool2x2: true }] as const;

let seed = 1;
const random = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296 - 0.5; };
for (const [label, g] of LAYERS) {
  wasm.beginScope();
  const put = (n: number): Float32Array => { const b = wasm.alloc(n); for (let i = 0; i < n; i++) b[i] = random(); return b; };
  const x = put(g.n * g.cIn * g.h * g.w), w = put(g.cOut * (g.cIn / g.groups) * g.kh * g.kw), bias = put(g.cOut);
  const flops = 2 * g.n * g.cOut * g.outH * g.outW * (g.cIn / g.groups) * g.kh * g.kw;
  const cells: string[] = [];
  for (const epilogue of EPILOGUES) {
    let best = Infinity;
    for (let r = 0; r < 20; r++) {
      wasm.beginScope();
      const t0 = performance.now();
      if (!wasm.conv2dFused(x, w, bias, g, epilogue)) throw new Error(`${label}: not a direct-kernel layer`);
      best = Math.min(best, performance.now() - t0);
      wasm.endScope();
    }
    cells.push(`${epilogue.maxPool2x2 ? 'conv+relu+pool' : 'conv'} ${best.toFixed(3)} ms ${(flops / best / 1e6).toFixed(1)} GFLOPS`);
  }
  console.log(`${label.padEnd(36)} ${cells.join('   ')}`);
  wasm.endScope();
}
for (const [c, size] of [[6, 28], [16, 10]] as const) {
  const g = { n: 256, c, h: size, w: size, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outH: size / 2, outW: size / 2 };
  wasm.beginScope();
  const x = wasm.alloc(g.n * c * size * size), out = wasm.alloc(x.length / 4);
  for (let i = 0; i < x.length; i++) x[i] = random();
  let best = Infinity;
  for (let r = 0; r < 20; r++) {
    const t0 = performance.now();
    wasm.maxPool2d(x, g, out, null);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${`maxPool2d 2x2 of 256x${c}x${size}x${size}`.padEnd(36)} ${best.toFixed(3)} ms, ${(best * 1e6 / out.length).toFixed(2)} ns per output`);
  wasm.endScope();
}
process.exit(0);
