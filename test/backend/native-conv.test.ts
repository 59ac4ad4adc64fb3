// The native backend's convolution algorithms (native/src/isa/conv.cc, winograd.cc, direct.cc, gemm.cc): for every
// algorithm, shapes that reach each of its edge cases agree with the reference backend within rounding, give the
// same bits on 1 and 2 threads, and conv2dFused gives the bits of conv2d + biasActivation + maxPool2d.
// The C++ kernels have their own harness too (sh native/test/run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Activation, Conv2dGeometry } from '../../src/backend/backend.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { loadNativeBackend, type NativeBackend } from '../../src/backend/native/index.js';
import type { ConvPass } from '../../src/backend/wasm/conv-algorithm.js';

const native: NativeBackend | null = await loadNativeBackend().catch(() => null);
const skip = native ? false : 'the native addon is not built (npm run build:native)';

/** Values in [-1, 1) from a linear congruential sequence. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 2147483648 - 1; }
  return out;
}

interface Shape { n: number; c: number; h: number; w: number; o: number; kh: number; kw: number; stride?: number; pad?: [number, number]; dilation?: number; groups?: number }
function geometry(s: Shape): Conv2dGeometry {
  const stride = s.stride ?? 1, [padH, padW] = s.pad ?? [0, 0], d = s.dilation ?? 1;
  return { n: s.n, cIn: s.c, h: s.h, w: s.w, cOut: s.o, kh: s.kh, kw: s.kw, strideH: stride, strideW: stride, padH, padW,
    dilationH: d, dilationW: d, groups: s.groups ?? 1,
    outH: Math.floor((s.h + 2 * padH - d * (s.kh - 1) - 1) / stride) + 1, outW: Math.floor((s.w + 2 * padW - d * (s.kw - 1) - 1) / stride) + 1 };
}

// The weight gradient's flat and channel-lane kernels and the direct input gradient run on AVX2 only.
const avx2 = native?.isa === 'avx2';

/** Each case names the algorithm native must pick for its passes (forward, input gradient, weight gradient). */
const CASES: [string, Shape, [string, string, string]][] = [
  ['LeNet conv1 (C=1, 5x5, pad 2)', { n: 3, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, pad: [2, 2] }, ['direct', 'gemm', avx2 ? 'direct-flat' : 'direct']],
  ['LeNet conv2 (6 -> 16, 5x5: direct forward)', { n: 3, c: 6, h: 14, w: 14, o: 16, kh: 5, kw: 5 },
    ['direct', avx2 ? 'direct' : 'gemm', avx2 ? 'direct-channels' : 'direct']],
  ['rows of 20, 5x3, pads 2 and 1 (direct input gradient over 3 vectors)', { n: 2, c: 4, h: 6, w: 20, o: 5, kh: 5, kw: 3, pad: [2, 1] },
    ['direct', avx2 ? 'direct' : 'gemm', avx2 ? 'direct-flat' : 'direct']],
  ['3x3 with channels off the vector width, pads 0 and 2', { n: 3, c: 9, h: 7, w: 9, o: 13, kh: 3, kw: 3, pad: [0, 2] }, ['winograd', 'winograd', 'direct']],
  ['3x3 whose outputs outgrow the input (pad 2, 1)', { n: 5, c: 32, h: 5, w: 6, o: 33, kh: 3, kw: 3, pad: [2, 1] }, ['winograd', 'winograd', 'winograd']],
  ['3x3 over several image groups, ragged tiles', { n: 20, c: 32, h: 7, w: 7, o: 40, kh: 3, kw: 3, pad: [1, 1] }, ['winograd', 'winograd', 'winograd']],
  ['3x3 on one large image (Winograd bands of tile rows)', { n: 1, c: 8, h: 50, w: 47, o: 9, kh: 3, kw: 3, pad: [1, 2] }, ['winograd', 'winograd', 'direct']],
  ['3x3 with 4 channels (direct forward, GEMM input gradient)', { n: 2, c: 4, h: 10, w: 11, o: 6, kh: 3, kw: 3, pad: [1, 1] }, ['direct', 'gemm', 'direct']],
  ['3x3 on one channel (GEMM forward below 16 taps)', { n: 2, c: 1, h: 10, w: 11, o: 6, kh: 3, kw: 3, pad: [1, 1] }, ['gemm', 'gemm', 'direct']],
  ['stride 2', { n: 2, c: 8, h: 12, w: 9, o: 8, kh: 3, kw: 3, stride: 2, pad: [1, 1] }, ['stride2', 'gemm', 'gemm']],
  ['stride 2, 5x4 kernel, 13 output channels (register tile tails), odd sizes', { n: 3, c: 4, h: 15, w: 21, o: 13, kh: 5, kw: 4, stride: 2, pad: [2, 1] }, ['stride2', 'gemm', 'gemm']],
  ['stride 2, resnet20\'s 16 -> 32 downsampling at 32x32', { n: 2, c: 16, h: 32, w: 32, o: 32, kh: 3, kw: 3, stride: 2, pad: [1, 1] }, ['stride2', 'gemm', 'gemm']],
  ['groups, dilation 2', { n: 2, c: 6, h: 13, w: 11, o: 9, kh: 3, kw: 2, pad: [2, 1], dilation: 2, groups: 3 }, ['gemm', 'gemm', 'gemm']],
  ['dilation 2, ungrouped', { n: 2, c: 5, h: 12, w: 13, o: 6, kh: 3, kw: 3, pad: [2, 1], dilation: 2 }, ['direct', 'gemm', 'direct']],
  ['2x4 kernel (tap blocks of 3 and 1)', { n: 2, c: 3, h: 10, w: 10, o: 5, kh: 2, kw: 4, pad: [0, 1] }, ['direct', 'gemm', 'direct']],
  ['pointwise', { n: 3, c: 16, h: 8, w: 8, o: 32, kh: 1, kw: 1 }, ['gemm', 'gemm', 'gemm']],
  ['GEMM tails: 13 output channels, 37 rows of reduction', { n: 2, c: 37, h: 5, w: 7, o: 13, kh: 1, kw: 1, stride: 2 }, ['gemm', 'gemm', 'gemm']],
  ['depthwise', { n: 2, c: 8, h: 7, w: 7, o: 8, kh: 3, kw: 3, pad: [1, 1], groups: 8 }, ['gemm', 'gemm', 'gemm']],
];
const PASSES: ConvPass[] = ['forward', 'inputGradient', 'weightGradient'];

function closeTo(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    assert.ok(err <= 1e-5 * (1 + scale), `${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (error ${err}, scale ${scale})`);
  }
}

/** The three passes of g on a backend: forward output, input gradient and weight gradient. */
function passes(b: Pick<NativeBackend, 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight'>, g: Conv2dGeometry, seed: number) {
  const x = values(g.n * g.cIn * g.h * g.w, seed), w = values(g.cOut * (g.cIn / g.groups) * g.kh * g.kw, seed + 1);
  const bias = values(g.cOut, seed + 2), gy = values(g.n * g.cOut * g.outH * g.outW, seed + 3);
  const y = new Float32Array(gy.length), gx = new Float32Array(x.length), gw = new Float32Array(w.length);
  b.conv2d(x, w, bias, g, y);
  b.conv2dBackwardInput(gy, w, g, gx);
  b.conv2dBackwardWeight(x, gy, g, gw);
  return { x, w, bias, y, gx, gw };
}

for (const [label, shape, algorithms] of CASES) {
  const g = geometry(shape);
  test(`native conv ${label}: ${algorithms.join(' / ')}, against the reference backend, 1 vs 2 threads`, { skip }, async () => {
    const nb = native!;
    nb.setParallelThreshold(0);
    assert.deepEqual(PASSES.map((p) => nb.convAlgorithmName(g, p)), algorithms, 'the algorithms picked');
    await nb.setThreads(1);
    const one = passes(nb, g, 7);
    await nb.setThreads(2);
    const two = passes(nb, g, 7);
    await nb.setThreads(1);
    const ref = passes(referenceBackend, g, 7);
    for (const key of ['y', 'gx', 'gw'] as const) {
      closeTo(one[key], ref[key], `${label} ${key}`);
      assert.deepEqual(two[key], one[key], `${label} ${key}: 2 threads differ from 1`);
    }
  });
}

const EPILOGUES: [Activation, boolean][] = [['none', true], ['relu', false], ['relu', true], ['sigmoid', true], ['tanh', false]];
// conv2dFused runs blocks of images, each convolved and then given its epilogue: one block (batch 1), one image a
// block (batch 3), blocks of several images with a short last one (7 and 43), odd output sizes (a pooled row and
// column left over), rows of fewer pooled outputs than a vector and of more but not whole vectors.
const FUSED_CASES: [string, Shape][] = [
  ['direct, batch 1, odd 27x29 outputs', { n: 1, c: 1, h: 27, w: 29, o: 6, kh: 5, kw: 5, pad: [2, 2] }],
  ['direct, batch 3, odd 11x9 outputs', { n: 3, c: 6, h: 15, w: 13, o: 16, kh: 5, kw: 5 }],
  ['LeNet conv1, batch 7 (blocks of 2, the last of 1)', { n: 7, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, pad: [2, 2] }],
  ['LeNet conv1, batch 43 (blocks of 5, the last of 3), odd 27x35 outputs', { n: 43, c: 1, h: 27, w: 35, o: 6, kh: 5, kw: 5, pad: [2, 2] }],
  ['GEMM, batch 3, odd 9x11 outputs', { n: 3, c: 1, h: 9, w: 11, o: 5, kh: 3, kw: 3, pad: [1, 1] }],
];
for (const [label, shape] of [CASES[0]!, CASES[2]!, CASES[7]!, CASES[8]!, ...FUSED_CASES]) {  // direct, Winograd, GEMM, stride 2, ...
  const g = geometry(shape);
  test(`native conv2dFused ${label}: the bits of conv2d + biasActivation + maxPool2d`, { skip }, async () => {
    const nb = native!;
    for (const threads of [1, 2]) {
      await nb.setThreads(threads);
      for (const [activation, maxPool2x2] of EPILOGUES) {
        const { x, w, bias, y } = passes(nb, g, 11);
        const fused = nb.conv2dFused(x, w, bias, g, { activation, maxPool2x2 });
        assert.ok(fused, `${label}: conv2dFused declined ${activation}${maxPool2x2 ? ' + pool' : ''}`);
        const act = y.slice();
        nb.biasActivation(act, null, 1, act.length, activation);
        let want = act;
        if (maxPool2x2) {
          const pg = { n: g.n, c: g.cOut, h: g.outH, w: g.outW, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 0, padW: 0,
            dilationH: 1, dilationW: 1, outH: Math.floor(g.outH / 2), outW: Math.floor(g.outW / 2) };
          want = new Float32Array(g.n * g.cOut * pg.outH * pg.outW);
          const wantIndex = new Int32Array(want.length);
          nb.maxPool2d(act, pg, want, wantIndex);
          // With winner indices (training's one op): the same outputs, and maxPool2d's indices wherever the gradient
          // can reach; with ReLU a window without a positive value may name another of its cells.
          const index = new Int32Array(want.length).fill(-1);
          const withIndex = nb.conv2dFused(x, w, bias, g, { activation, maxPool2x2, argmax: index });
          assert.deepEqual(withIndex, want, `${label} ${activation} + pool with argmax, ${threads} thread(s)`);
          for (let i = 0; i < want.length; i++) {
            const ox = i % pg.outW, oy = Math.floor(i / pg.outW) % pg.outH, iy = Math.floor(index[i]! / g.outW), ix = index[i]! % g.outW;
            assert.ok(index[i]! >= 0 && iy >> 1 === oy && ix >> 1 === ox, `${label} ${activation}: index ${index[i]} of output ${i} is outside its window`);
            if (activation !== 'relu' || want[i]! > 0 || Number.isNaN(want[i])) assert.equal(index[i], wantIndex[i], `${label} ${activation}: winner of output ${i}`);
          }
        }
        assert.deepEqual(fused, want, `${label} ${activation}${maxPool2x2 ? ' + pool' : ''}, ${threads} thread(s)`);
      }
    }
    await nb.setThreads(1);
  });
}

test('native conv2dFused refuses winner indices without pooling, and an index array of the wrong length', { skip }, () => {
  const nb = native!;
  const g = geometry({ n: 1, c: 1, h: 6, w: 6, o: 2, kh: 3, kw: 3 });
  const x = new Float32Array(36), w = new Float32Array(18);
  assert.throws(() => nb.conv2dFused(x, w, null, g, { activation: 'relu', maxPool2x2: false, argmax: new Int32Array(32) }), /argmax holds the winners of the 2x2 pooling/);
  assert.throws(() => nb.conv2dFused(x, w, null, g, { activation: 'relu', maxPool2x2: true, argmax: new Int32Array(7) }), /argmax/);
});

test('native conv2dBackwardWeight over an empty batch is zero on every path (GEMM, direct, channel lanes, flat planes, Winograd)', { skip }, async () => {
  const nb = native!;
  const shapes: Shape[] = [
    { n: 0, c: 3, h: 9, w: 9, o: 4, kh: 3, kw: 3, stride: 2 },        // GEMM (stride 2)
    { n: 0, c: 6, h: 14, w: 14, o: 16, kh: 5, kw: 5 },                 // LeNet conv2
    { n: 0, c: 1, h: 28, w: 28, o: 6, kh: 5, kw: 5, pad: [2, 2] },     // LeNet conv1
    { n: 0, c: 16, h: 16, w: 16, o: 16, kh: 3, kw: 3, pad: [1, 1] },   // Winograd-sized
  ];
  for (const threads of [1, 2]) {
    await nb.setThreads(threads);
    for (const s of shapes) {
      const g = geometry(s);
      const gw = new Float32Array(g.cOut * g.cIn * g.kh * g.kw).fill(7);
      nb.conv2dBackwardWeight(new Float32Array(0), new Float32Array(0), g, gw);
      assert.ok(gw.every((v) => v === 0), `${JSON.stringify(s)}, ${threads} thread(s): ${gw.slice(0, 4).join(', ')}`);
    }
  }
  await nb.setThreads(1);
});
