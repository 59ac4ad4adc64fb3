// Winograd in the wasm backend (asm/winograd4.ts: F(4x4,3x3) forward and input gradient, the default; asm/winograd.ts:
// F(2x2,3x3) forward and input gradient, and the F(3x3,2x2) weight gradient): which convolutions take it, that the fixture cases meant for it do (so the PyTorch fixture suite checks
// it), 1 vs 2 threads bit-identity on a vggsmall-sized layer, and its error against the GEMM path with realistic
// magnitudes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Conv2dGeometry } from '../../src/backend/backend.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { loadWasmBackend } from '../../src/backend/wasm/index.js';
import { convAlgorithm, WINOGRAD_MIN_CHANNELS, WINOGRAD_WEIGHT_GRAD_MIN_CHANNELS } from '../../src/backend/wasm/conv-algorithm.js';
import { conv2dGeometry, type Conv2dOptions } from '../../src/ops/conv.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';

const wasm = await loadWasmBackend();

function geometry(o: Partial<Conv2dGeometry> & { n: number; cIn: number; h: number; w: number; cOut: number }): Conv2dGeometry {
  const g = { kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1, outH: 0, outW: 0, ...o };
  g.outH = Math.floor((g.h + 2 * g.padH - g.dilationH * (g.kh - 1) - 1) / g.strideH) + 1;
  g.outW = Math.floor((g.w + 2 * g.padW - g.dilationW * (g.kw - 1) - 1) / g.strideW) + 1;
  return g;
}

let seed = 2024;
function random(): number {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}
/** Standard normal (Box-Muller), deterministic. */
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
function heapArray(n: number, value: () => number): Float32Array {
  const a = wasm.alloc(n);
  for (let i = 0; i < n; i++) a[i] = value();
  return a;
}
function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  assert.equal(ua.length, ub.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.fail(`${what}: 1 and 2 threads differ at ${i}: ${a[i]} vs ${b[i]}`);
}
/** max |got - want| / max |want|. */
function normwiseError(got: Float32Array, want: Float32Array): number {
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}

test('convAlgorithm: Winograd only for 3x3 stride-1 undilated ungrouped convolutions with padding <= 2 and enough channels', () => {
  const vgg = geometry({ n: 8, cIn: 32, h: 28, w: 28, cOut: 32 });
  assert.equal(convAlgorithm(vgg), 'winograd4x4');
  assert.equal(convAlgorithm(geometry({ n: 1, cIn: 64, h: 8, w: 8, cOut: 64 })), 'winograd4x4'); // resnet20's last stage
  assert.equal(convAlgorithm(geometry({ n: 2, cIn: 8, h: 9, w: 11, cOut: 6, padH: 0, padW: 2 })), 'winograd4x4');
  assert.equal(convAlgorithm(geometry({ n: 8, cIn: 3, h: 32, w: 32, cOut: 16 })), 'gemm'); // first layer: 3 channels
  assert.equal(convAlgorithm(geometry({ n: 8, cIn: 32, h: 32, w: 32, cOut: WINOGRAD_MIN_CHANNELS - 1 })), 'gemm');
  assert.equal(convAlgorithm(vgg, 'forward'), 'winograd4x4');
  assert.equal(convAlgorithm(vgg, 'inputGradient'), 'winograd4x4');
  assert.equal(convAlgorithm(vgg, 'weightGradient'), 'winograd'); // F(3x3,2x2)
  const narrow = geometry({ n: 8, cIn: WINOGRAD_WEIGHT_GRAD_MIN_CHANNELS - 1, h: 32, w: 32, cOut: 64 });
  assert.equal(convAlgorithm(narrow, 'forward'), 'winograd4x4');
  assert.equal(convAlgorithm(narrow, 'inputGradient'), 'winograd4x4');
  assert.equal(convAlgorithm(narrow, 'weightGradient'), 'gemm');
  assert.equal(convAlgorithm(geometry({ n: 8, cIn: 32, h: 28, w: 28, cOut: 32, strideH: 2, strideW: 2 })), 'gemm');
  assert.equal(convAlgorithm(geometry({ n: 8, cIn: 32, h: 28, w: 28, cOut: 32, dilationH: 2, dilationW: 2, padH: 2, padW: 2 })), 'gemm');
  assert.equal(convAlgorithm(geometry({ n: 8, cIn: 32, h: 28, w: 28, cOut: 32, groups: 2 })), 'gemm');
  assert.equal(convAlgorithm(geometry({ n: 8, cIn: 32, h: 28, w: 28, cOut: 32, padH: 3, padW: 3 })), 'gemm');
  assert.equal(convAlgorithm(geometry({ n: 8, cIn: 32, h: 28, w: 28, cOut: 32, kh: 5, kw: 5, padH: 2, padW: 2 })), 'gemm');
  assert.equal(convAlgorithm(geometry({ n: 8, cIn: 32, h: 28, w: 28, cOut: 32, kh: 1, kw: 1, padH: 0, padW: 0 })), 'gemm');
});

test('convAlgorithm: the conv2d fixture cases named winograd_* (and wide_channels) take the Winograd path, winograd_16ch_* for the weight gradient too', () => {
  const fixtureGeometry = (c: FixtureCase): Conv2dGeometry => {
    const [, cInPerGroup, kh, kw] = c.shape('w') as [number, number, number, number];
    const p = c.params['padding'];
    const options: Conv2dOptions = {
      stride: c.intOrPair('stride'), dilation: c.intOrPair('dilation'), groups: c.num('groups'),
      padding: p === 'same' || p === 'valid' ? p : c.intOrPair('padding'),
    };
    return conv2dGeometry('conv2d', c.shape('x'), c.shape('w')[0]!, cInPerGroup, kh, kw, options);
  };
  const cases = loadFixtures('conv2d');
  const winograd = cases.filter((c) => convAlgorithm(fixtureGeometry(c)) === 'winograd4x4').map((c) => c.name).sort();
  assert.deepEqual(winograd, ['wide_channels', 'winograd_16ch_nobias', 'winograd_16ch_p0', 'winograd_16ch_p2', 'winograd_output_1x2',
    'winograd_p0', 'winograd_p1', 'winograd_p2', 'winograd_same'].sort());
  const weightGrad = cases.filter((c) => convAlgorithm(fixtureGeometry(c), 'weightGradient') === 'winograd').map((c) => c.name).sort();
  assert.deepEqual(weightGrad, ['winograd_16ch_nobias', 'winograd_16ch_p0', 'winograd_16ch_p2']);
  // partial tiles at the right and bottom edges, and every padding the path supports
  const geometries = cases.filter((c) => c.name.startsWith('winograd_')).map(fixtureGeometry);
  assert.ok(geometries.some((g) => g.outH % 2 === 1) && geometries.some((g) => g.outW % 2 === 1));
  // F(4x4,3x3)'s tiles: ragged right and bottom edges of every width 1..3, and images narrower than one tile
  for (const rest of [1, 2, 3]) assert.ok(geometries.some((g) => g.outW % 4 === rest) && geometries.some((g) => g.outH % 4 === rest), `edge ${rest}`);
  assert.ok(geometries.some((g) => g.outW < 4 || g.outH < 4));
  assert.deepEqual([...new Set(geometries.map((g) => g.padH))].sort(), [0, 1, 2]);
  assert.ok(geometries.every((g) => g.n === 2));
});

for (const algorithm of ['winograd4x4', 'winograd'] as const) test(`wasm Winograd (${algorithm}): forward, input and weight gradients of a vggsmall-sized layer are bit-identical on 1 and 2 threads`, async () => {
  wasm.beginScope();
  try {
    // 30x30: F(4x4,3x3) tiles with a ragged edge (7.5 tiles per row)
    const g = geometry({ n: 8, cIn: 32, h: 30, w: 30, cOut: 32 });
    assert.equal(convAlgorithm(g), 'winograd4x4');
    wasm.setConvAlgorithm(algorithm);
    const x = heapArray(g.n * g.cIn * g.h * g.w, gaussian), w = heapArray(g.cOut * g.cIn * 9, () => gaussian() / Math.sqrt(288));
    const b = heapArray(g.cOut, gaussian), gy = heapArray(g.n * g.cOut * g.outH * g.outW, gaussian);
    const outs: Float32Array[] = [], grads: Float32Array[] = [], weightGrads: Float32Array[] = [];
    for (const threads of [1, 2]) {
      await wasm.setThreads(threads);
      wasm.setParallelThreshold(0);
      const out = wasm.alloc(gy.length), gx = wasm.alloc(x.length), gw = wasm.alloc(w.length);
      wasm.conv2d(x, w, b, g, out);
      wasm.conv2dBackwardInput(gy, w, g, gx);
      wasm.conv2dBackwardWeight(x, gy, g, gw);
      outs.push(out); grads.push(gx); weightGrads.push(gw);
    }
    sameBits(outs[0]!, outs[1]!, 'forward');
    sameBits(grads[0]!, grads[1]!, 'input gradient');
    sameBits(weightGrads[0]!, weightGrads[1]!, 'weight gradient');
    // and it is this algorithm's result: the GEMM path and the other Winograd variant round differently
    for (const other of ['gemm', algorithm === 'winograd' ? 'winograd4x4' : 'winograd'] as const) {
      wasm.setConvAlgorithm(other);
      const viaOther = wasm.alloc(gy.length);
      wasm.conv2d(x, w, b, g, viaOther);
      assert.ok(viaOther.some((v, i) => v !== outs[0]![i]), `${algorithm} and ${other} give different roundings`);
    }
  } finally {
    wasm.setConvAlgorithm(null);
    wasm.setParallelThreshold(20_000);
    wasm.endScope();
  }
});

test('wasm Winograd: error against the GEMM path and the reference on a vggsmall layer with realistic magnitudes', async (t) => {
  wasm.beginScope();
  try {
    await wasm.setThreads(1);
    // vggsmall's 64->64 layer at 14x14: inputs after batch norm + ReLU (half zeros), Kaiming-normal filters
    const g = geometry({ n: 4, cIn: 64, h: 14, w: 14, cOut: 64 });
    const x = heapArray(g.n * g.cIn * g.h * g.w, () => Math.max(0, gaussian()));
    const w = heapArray(g.cOut * g.cIn * 9, () => gaussian() * Math.sqrt(2 / (g.cIn * 9)));
    const b = heapArray(g.cOut, () => 0.1 * gaussian()), gy = heapArray(g.n * g.cOut * g.outH * g.outW, () => 1e-3 * gaussian());
    const want = new Float32Array(gy.length), wantGx = new Float32Array(x.length), wantGw = new Float32Array(w.length);
    ref.conv2d(x, w, b, g, want);
    ref.conv2dBackwardInput(gy, w, g, wantGx);
    ref.conv2dBackwardWeight(x, gy, g, wantGw);
    const results: Record<string, { out: Float32Array; gx: Float32Array; gw: Float32Array }> = {};
    for (const algorithm of ['winograd4x4', 'winograd', 'gemm'] as const) {
      wasm.setConvAlgorithm(algorithm);
      const out = wasm.alloc(gy.length), gx = wasm.alloc(x.length), gw = wasm.alloc(w.length);
      wasm.conv2d(x, w, b, g, out);
      wasm.conv2dBackwardInput(gy, w, g, gx);
      wasm.conv2dBackwardWeight(x, gy, g, gw);
      results[algorithm] = { out, gx, gw };
    }
    const win4 = results['winograd4x4']!, win = results['winograd']!, gemm = results['gemm']!;
    // F(4x4,3x3)'s larger transform entries cost about 4x the rounding error of F(2x2,3x3) (2-3e-6 here); it stays below the
    // 1e-5 of the fixture suite relative to the largest output
    const bounds: Record<string, [number, number]> = {
      f4x4ForwardVsReference: [normwiseError(win4.out, want), 5e-6], f4x4InputGradVsReference: [normwiseError(win4.gx, wantGx), 5e-6],
      forwardVsGemm: [normwiseError(win.out, gemm.out), 2e-6], inputGradVsGemm: [normwiseError(win.gx, gemm.gx), 2e-6],
      forwardVsReference: [normwiseError(win.out, want), 2e-6], inputGradVsReference: [normwiseError(win.gx, wantGx), 2e-6],
      weightGradVsGemm: [normwiseError(win.gw, gemm.gw), 2e-6], weightGradVsReference: [normwiseError(win.gw, wantGw), 2e-6],
      gemmForwardVsReference: [normwiseError(gemm.out, want), 2e-6], gemmInputGradVsReference: [normwiseError(gemm.gx, wantGx), 2e-6],
      gemmWeightGradVsReference: [normwiseError(gemm.gw, wantGw), 2e-6],
    };
    t.diagnostic(`normwise relative errors: ${JSON.stringify(Object.fromEntries(Object.entries(bounds).map(([k, [e]]) => [k, e])))}`);
    for (const [name, [e, bound]] of Object.entries(bounds)) assert.ok(e > 0 && e < bound, `${name}: ${e}`);
    // and the F(4x4,3x3) weight gradient is F(3x3,2x2)'s, bit for bit
    assert.deepEqual(win4.gw, win.gw);
  } finally {
    wasm.setConvAlgorithm(null);
    wasm.endScope();
  }
});

test('wasm Winograd weight gradient: tiles split into a fixed number of groups give the same bits on 1 and 2 threads and the reference\'s values', async () => {
  wasm.beginScope();
  try {
    // asm/winograd.ts cuts the tiles into floor(tiles / 256) groups, at most 8, whatever the thread count: 126 tiles
    // make 1 group, 784 make 3 (one thread takes 2 of them), 1,120 make 4; odd sizes leave partial tiles and
    // groups that end inside a chunk and inside a 16-tile partial sum
    for (const [n, cIn, h, w, cOut] of [[3, 16, 11, 13, 24], [14, 17, 15, 13, 16], [20, 16, 15, 13, 18]] as const) {
      const g = geometry({ n, cIn, h, w, cOut });
      assert.equal(convAlgorithm(g, 'weightGradient'), 'winograd');
      wasm.setConvAlgorithm('winograd');
      const x = heapArray(g.n * g.cIn * g.h * g.w, gaussian), gy = heapArray(g.n * g.cOut * g.outH * g.outW, gaussian);
      const weightGrads: Float32Array[] = [];
      for (const threads of [1, 2]) {
        await wasm.setThreads(threads);
        wasm.setParallelThreshold(0);
        const gw = wasm.alloc(g.cOut * g.cIn * 9);
        gw.fill(Number.NaN);
        wasm.conv2dBackwardWeight(x, gy, g, gw);
        weightGrads.push(gw);
      }
      sameBits(weightGrads[0]!, weightGrads[1]!, `weight gradient ${n}x${cIn}x${h}x${w}->${cOut}`);
      const want = new Float32Array(g.cOut * g.cIn * 9);
      ref.conv2dBackwardWeight(x, gy, g, want);
      assert.ok(normwiseError(weightGrads[1]!, want) < 2e-6, `${n}x${cIn}x${h}x${w}->${cOut}: every group is counted once`);
    }
  } finally {
    wasm.setConvAlgorithm(null);
    wasm.setParallelThreshold(20_000);
    wasm.endScope();
  }
});

test('setConvAlgorithm refuses an unknown algorithm with a message listing the valid ones', () => {
  assert.throws(() => wasm.setConvAlgorithm('winograd6x6' as never), /setConvAlgorithm expects one of 'gemm', 'winograd', 'winograd4x4' or null, got "winograd6x6"/);
  // and the automatic choice is still in force
  assert.equal(convAlgorithm(geometry({ n: 1, cIn: 8, h: 8, w: 8, cOut: 8 })), 'winograd4x4');
});
