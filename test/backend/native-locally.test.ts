// The native backend's locally connected kernels (native/src/isa/locally.cc) on shapes that reach their edge cases:
// batches off the vector width (1, 3, 67: padded image lanes), stride 2, no padding, 1x1 and 5x3 kernels,
// dilation, channel counts off the register tile, no bias. On every ISA level this CPU runs: within rounding of the
// reference backend, every output element written (outputs start as NaN), and 1 and 2 threads give the same bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Conv2dGeometry } from '../../src/backend/backend.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { loadNativeBackend, type NativeBackend } from '../../src/backend/native/index.js';
import { assertClose } from '../helpers/compare.js';
import { normalData } from '../helpers/gradcheck.js';

const native = await loadNativeBackend().catch(() => null);

interface Shape { n: number; c: number; h: number; w: number; o: number; kh: number; kw: number; stride?: [number, number]; pad?: [number, number]; dilation?: [number, number]; bias?: boolean }
function geometry(s: Shape): Conv2dGeometry {
  const [sh, sw] = s.stride ?? [1, 1], [padH, padW] = s.pad ?? [0, 0], [dh, dw] = s.dilation ?? [1, 1];
  return { n: s.n, cIn: s.c, h: s.h, w: s.w, cOut: s.o, kh: s.kh, kw: s.kw, strideH: sh, strideW: sw, padH, padW,
    dilationH: dh, dilationW: dw, groups: 1,
    outH: Math.floor((s.h + 2 * padH - dh * (s.kh - 1) - 1) / sh) + 1, outW: Math.floor((s.w + 2 * padW - dw * (s.kw - 1) - 1) / sw) + 1 };
}

const CASES: [string, Shape][] = [
  ['one image, 3x3 pad 1', { n: 1, c: 3, h: 7, w: 6, o: 5, kh: 3, kw: 3, pad: [1, 1] }],
  ['3 images, stride 2, no padding, no bias', { n: 3, c: 4, h: 9, w: 8, o: 7, kh: 3, kw: 3, stride: [2, 2], bias: false }],
  ['67 images (a ragged last vector of images), 13 output channels', { n: 67, c: 2, h: 6, w: 5, o: 13, kh: 3, kw: 3, pad: [1, 1] }],
  ['1x1 kernel, 17 output channels', { n: 5, c: 9, h: 4, w: 5, o: 17, kh: 1, kw: 1 }],
  ['5x3 kernel, strides 1 and 2, pads 2 and 0', { n: 9, c: 3, h: 10, w: 9, o: 6, kh: 5, kw: 3, stride: [1, 2], pad: [2, 0] }],
  ['dilation 2, stride 3 rows, one output channel', { n: 16, c: 2, h: 11, w: 10, o: 1, kh: 3, kw: 2, stride: [3, 1], pad: [2, 1], dilation: [2, 2] }],
  ['5x5 kernel, pad 2, 8 images', { n: 8, c: 1, h: 8, w: 7, o: 4, kh: 5, kw: 5, pad: [2, 2] }],
  ['reduction of 144 (whole cache lines of weight-gradient rows), 9 output channels', { n: 5, c: 16, h: 6, w: 5, o: 9, kh: 3, kw: 3, pad: [1, 1] }],
];

type Passes = Pick<NativeBackend, 'locallyConnected2d' | 'locallyConnected2dBackwardInput' | 'locallyConnected2dBackwardWeight'>;
/** The three passes of g on a backend, outputs starting as NaN: forward output, input gradient, weight gradient. */
function passes(b: Passes, g: Conv2dGeometry, withBias: boolean) {
  const p = g.outH * g.outW;
  const x = normalData(g.n * g.cIn * g.h * g.w, 3), w = normalData(p * g.cOut * g.cIn * g.kh * g.kw, 4);
  const bias = withBias ? normalData(g.cOut * p, 5) : null, gy = normalData(g.n * g.cOut * p, 6);
  const y = new Float32Array(gy.length).fill(NaN), gx = new Float32Array(x.length).fill(NaN), gw = new Float32Array(w.length).fill(NaN);
  b.locallyConnected2d(x, w, bias, g, y);
  b.locallyConnected2dBackwardInput(gy, w, g, gx);
  b.locallyConnected2dBackwardWeight(x, gy, g, gw);
  return { y, gx, gw };
}

for (const [label, shape] of CASES) {
  const g = geometry(shape), withBias = shape.bias ?? true;
  test(`native locallyConnected2d ${label}: against the reference backend on every ISA level, 1 vs 2 threads`, { skip: native ? false : 'the native addon is not built (npm run build:native)' }, async () => {
    const nb = native!;
    const ref = passes(referenceBackend, g, withBias);
    nb.setParallelThreshold(0);
    try {
      for (const level of nb.availableIsas().filter((l) => l.supported)) {
        nb.setIsa(level.name);
        await nb.setThreads(1);
        const one = passes(nb, g, withBias);
        await nb.setThreads(2);
        const two = passes(nb, g, withBias);
        for (const key of ['y', 'gx', 'gw'] as const) {
          assertClose(one[key], ref[key], `${label} ${level.name} ${key}`);
          assert.deepEqual(two[key], one[key], `${label} ${level.name} ${key}: 2 threads differ from 1`);
        }
      }
    } finally {
      nb.setIsa(null);
      await nb.setThreads(1);
    }
  });
}

// The weight gradient streams whole cache lines of gw rows past the caches where its rows (K = 144 floats here) all
// start at the same 16-byte-aligned offset in a line, and stores the rest as usual: gw views at 16 successive float
// offsets reach every head length and the unaligned fallback.
{
  const g = geometry(CASES.at(-1)![1]), p = g.outH * g.outW, wLength = p * g.cOut * g.cIn * g.kh * g.kw;
  test('native locallyConnected2dBackwardWeight into gw at every alignment', { skip: native ? false : 'the native addon is not built (npm run build:native)' }, async () => {
    const nb = native!;
    const x = normalData(g.n * g.cIn * g.h * g.w, 3), gy = normalData(g.n * g.cOut * p, 6), want = new Float32Array(wLength);
    referenceBackend.locallyConnected2dBackwardWeight(x, gy, g, want);
    nb.setParallelThreshold(0);
    try {
      for (const level of nb.availableIsas().filter((l) => l.supported)) {
        nb.setIsa(level.name);
        for (const threads of [1, 2]) {
          await nb.setThreads(threads);
          for (let offset = 0; offset < 16; offset++) {
            const gw = new Float32Array(wLength + 16).fill(NaN).subarray(offset, offset + wLength);
            nb.locallyConnected2dBackwardWeight(x, gy, g, gw);
            assertClose(gw, want, `${level.name}, ${threads} thread(s), gw at float offset ${offset}`);
          }
        }
      }
    } finally {
      nb.setIsa(null);
      await nb.setThreads(1);
    }
  });
}
