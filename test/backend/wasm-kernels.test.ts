// Every kernel of the wasm backend against the reference backend on random inputs, with 1 and 2 threads,
// plus a check that 1 and 2 threads give bit-identical outputs.
//
// Error measure: normwise relative error max|got - want| / max|want| (the infinity norm), at most 1e-5.
// Elementwise relative error is meaningless where an output cancels to ~0 (a dot product, x - mean), so the
// bound is relative to the output's scale. Integer outputs (argmax) must match exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIVATIONS, BINARY_OPS, REDUCE_OPS, UNARY_OPS, type Backend, type Conv2dGeometry, type Pool2dGeometry } from '../../src/backend/backend.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { loadWasmBackend, type WasmBackend } from '../../src/backend/wasm/index.js';

const TOLERANCE = 1e-5;

let seed = 12345;
function random(): number {
  // xorshift32: deterministic inputs, so a failure reproduces.
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}
function randomArray(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * random();
  return a;
}
/** The same values in the wasm heap (the usual case) or in a plain array (exercises the copy path). */
function place(w: WasmBackend, src: Float32Array, inHeap: boolean): Float32Array {
  if (!inHeap) return src.slice();
  const a = w.alloc(src.length);
  a.set(src);
  return a;
}

function assertClose(got: Float32Array, want: Float32Array, what: string, tol = TOLERANCE): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let maxErr = 0, scale = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = want[i]!, g = got[i]!;
    if (Number.isNaN(e) || Number.isNaN(g)) {
      assert.ok(Number.isNaN(e) && Number.isNaN(g), `${what}: NaN mismatch at ${i}: got ${g}, want ${e}`);
      continue;
    }
    if (!Number.isFinite(e) || !Number.isFinite(g)) {
      assert.equal(g, e, `${what}: at ${i}`);
      continue;
    }
    scale = Math.max(scale, Math.abs(e));
    const d = Math.abs(g - e);
    if (d > maxErr) { maxErr = d; at = i; }
  }
  const rel = maxErr / Math.max(scale, 1e-30);
  assert.ok(rel <= tol, `${what}: normwise relative error ${rel.toExponential(2)} > ${tol} (at ${at}: got ${got[at]}, want ${want[at]})`);
}

function assertSameBits(a: Float32Array | Int32Array, b: Float32Array | Int32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  assert.equal(ua.length, ub.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}: 1 and 2 threads differ at ${i}: ${a[i]} vs ${b[i]}`);
  }
}

function convGeometry(o: Partial<Conv2dGeometry> & { n: number; cIn: number; h: number; w: number; cOut: number; kh: number; kw: number }): Conv2dGeometry {
  const g = { strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, outH: 0, outW: 0, ...o };
  g.outH = Math.floor((g.h + 2 * g.padH - g.dilationH * (g.kh - 1) - 1) / g.strideH) + 1;
  g.outW = Math.floor((g.w + 2 * g.padW - g.dilationW * (g.kw - 1) - 1) / g.strideW) + 1;
  return g;
}

const CONVS: Conv2dGeometry[] = [
  convGeometry({ n: 2, cIn: 3, h: 9, w: 7, cOut: 4, kh: 3, kw: 3, padH: 1, padW: 1 }),
  convGeometry({ n: 2, cIn: 3, h: 11, w: 10, cOut: 5, kh: 3, kw: 3, strideH: 2, strideW: 2 }),
  convGeometry({ n: 1, cIn: 2, h: 12, w: 13, cOut: 3, kh: 3, kw: 3, padH: 2, padW: 2, dilationH: 2, dilationW: 2 }),
  convGeometry({ n: 2, cIn: 4, h: 8, w: 8, cOut: 6, kh: 3, kw: 3, padH: 1, padW: 1, groups: 2 }),
  convGeometry({ n: 2, cIn: 5, h: 9, w: 9, cOut: 5, kh: 3, kw: 3, padH: 1, padW: 1, groups: 5 }), // depthwise
  convGeometry({ n: 2, cIn: 6, h: 7, w: 5, cOut: 17, kh: 1, kw: 1 }), // pointwise fast path
  convGeometry({ n: 2, cIn: 6, h: 7, w: 5, cOut: 3, kh: 1, kw: 1, strideH: 2, strideW: 2 }),
  convGeometry({ n: 1, cIn: 3, h: 10, w: 9, cOut: 4, kh: 5, kw: 3, padH: 2, padW: 1, strideH: 1, strideW: 2 }),
  convGeometry({ n: 2, cIn: 1, h: 28, w: 28, cOut: 6, kh: 5, kw: 5, padH: 2, padW: 2 }), // LeNet's first layer
  convGeometry({ n: 3, cIn: 16, h: 14, w: 14, cOut: 33, kh: 3, kw: 3, padH: 1, padW: 1 }),
  convGeometry({ n: 1, cIn: 2, h: 5, w: 5, cOut: 2, kh: 3, kw: 3, padH: 3, padW: 0, strideH: 3, strideW: 1 }),
  // Direct kernels (asm/direct.ts): widths around the 4/8/16-column blocks, every block of output channels
  // (4s and singles), strides, dilations, depthwise with multipliers 1 and 2, a 2-wide weight-gradient tile.
  convGeometry({ n: 3, cIn: 1, h: 12, w: 13, cOut: 6, kh: 5, kw: 5, padH: 2, padW: 2 }),
  convGeometry({ n: 2, cIn: 3, h: 17, w: 19, cOut: 9, kh: 3, kw: 3, padH: 1, padW: 1, strideH: 2, strideW: 2 }),
  convGeometry({ n: 2, cIn: 2, h: 15, w: 21, cOut: 5, kh: 3, kw: 2, padH: 2, padW: 1, dilationH: 2, dilationW: 3, strideH: 1, strideW: 3 }),
  convGeometry({ n: 2, cIn: 8, h: 14, w: 14, cOut: 8, kh: 3, kw: 3, padH: 1, padW: 1, groups: 8 }),
  convGeometry({ n: 2, cIn: 6, h: 13, w: 11, cOut: 12, kh: 3, kw: 3, padH: 1, padW: 1, strideH: 2, strideW: 2, groups: 6 }),
  convGeometry({ n: 1, cIn: 4, h: 9, w: 33, cOut: 8, kh: 5, kw: 5, padH: 2, padW: 2, groups: 4 }),
  convGeometry({ n: 2, cIn: 3, h: 10, w: 10, cOut: 3, kh: 3, kw: 3, strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, groups: 3 }),
  convGeometry({ n: 2, cIn: 4, h: 6, w: 7, cOut: 4, kh: 1, kw: 1, groups: 4 }),
  convGeometry({ n: 3, cIn: 2, h: 8, w: 9, cOut: 2, kh: 2, kw: 2, padH: 1, padW: 0, groups: 1 }),
  convGeometry({ n: 2, cIn: 2, h: 9, w: 9, cOut: 1, kh: 3, kw: 3 }), // one output channel: 1x4 weight-gradient tiles
  convGeometry({ n: 2, cIn: 16, h: 16, w: 16, cOut: 5, kh: 3, kw: 3, padH: 1, padW: 1 }), // r 144: direct both ways
  convGeometry({ n: 2, cIn: 5, h: 7, w: 30, cOut: 3, kh: 3, kw: 5, padH: 1, padW: 3, dilationH: 2 }), // direct input gradient
  convGeometry({ n: 1, cIn: 8, h: 5, w: 29, cOut: 4, kh: 3, kw: 3, padH: 0, padW: 1 }),
];

const LOCALS: Conv2dGeometry[] = [
  convGeometry({ n: 2, cIn: 2, h: 6, w: 5, cOut: 3, kh: 3, kw: 3 }),
  convGeometry({ n: 3, cIn: 3, h: 7, w: 7, cOut: 4, kh: 3, kw: 2, padH: 1, padW: 1, strideH: 2, strideW: 1 }),
  convGeometry({ n: 1, cIn: 1, h: 8, w: 8, cOut: 2, kh: 2, kw: 2, dilationH: 2, dilationW: 2 }),
];

function poolGeometry(o: { n: number; c: number; h: number; w: number; k: number; stride: number; pad?: number; dilation?: number; ceil?: boolean }): Pool2dGeometry {
  const pad = o.pad ?? 0, d = o.dilation ?? 1;
  const size = (x: number) => {
    const span = x + 2 * pad - d * (o.k - 1) - 1;
    let out = (o.ceil ? Math.ceil(span / o.stride) : Math.floor(span / o.stride)) + 1;
    if (o.ceil && (out - 1) * o.stride >= x + pad) out--;
    return out;
  };
  return { n: o.n, c: o.c, h: o.h, w: o.w, kh: o.k, kw: o.k, strideH: o.stride, strideW: o.stride, padH: pad, padW: pad,
    dilationH: d, dilationW: d, outH: size(o.h), outW: size(o.w) };
}

const POOLS: Pool2dGeometry[] = [
  poolGeometry({ n: 2, c: 3, h: 8, w: 8, k: 2, stride: 2 }),
  poolGeometry({ n: 2, c: 3, h: 9, w: 7, k: 2, stride: 2 }),
  poolGeometry({ n: 1, c: 4, h: 9, w: 9, k: 3, stride: 2, pad: 1 }),
  poolGeometry({ n: 2, c: 2, h: 7, w: 6, k: 3, stride: 1 }),
  poolGeometry({ n: 2, c: 2, h: 7, w: 8, k: 3, stride: 2, pad: 1, ceil: true }),
  poolGeometry({ n: 2, c: 2, h: 7, w: 9, k: 2, stride: 2, ceil: true }), // clipped last 2x2 windows
  poolGeometry({ n: 2, c: 3, h: 12, w: 22, k: 2, stride: 2 }), // 4-wide SIMD 2x2 path and its scalar tail
];
const MAX_ONLY_POOLS: Pool2dGeometry[] = [poolGeometry({ n: 1, c: 3, h: 10, w: 9, k: 3, stride: 1, pad: 1, dilation: 2 })];

interface KernelCase {
  name: string;
  /** Runs the kernel on backend b and returns its outputs (fresh each call). */
  run(b: Backend): (Float32Array | Int32Array)[];
  tol?: number;
}

function cases(w: WasmBackend): KernelCase[] {
  const list: KernelCase[] = [];
  const onWasm = (b: Backend) => b === w;
  // GEMM: every transpose, edges not multiple of 2/16, k beyond one KC block, m beyond MC, n beyond NC, offsets.
  const gemmShapes: [number, number, number][] = [[1, 1, 1], [2, 16, 1], [3, 17, 5], [37, 53, 300], [64, 33, 257], [130, 20, 7], [5, 1030, 3], [4, 4, 0]];
  let flip = false;
  for (const [m, n, k] of gemmShapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const accumulate of [false, true]) {
          const aOff = 3, bOff = 5, cOff = 7;
          const a = randomArray(aOff + m * k), b = randomArray(bOff + k * n), c0 = randomArray(cOff + m * n + 2);
          const inHeap = (flip = !flip);
          list.push({
            name: `gemm m${m} n${n} k${k} tA${+transA} tB${+transB} acc${+accumulate}${inHeap ? '' : ' (plain arrays)'}`,
            run(be) {
              const heap = onWasm(be) && inHeap;
              const c = onWasm(be) ? place(w, c0, heap) : c0.slice();
              be.gemm(transA, transB, m, n, k, onWasm(be) ? place(w, a, heap) : a, aOff, onWasm(be) ? place(w, b, heap) : b, bOff, c, cOff, accumulate);
              return [c];
            },
          });
        }
      }
    }
  }
  for (const g of CONVS) {
    const tag = `n${g.n} c${g.cIn} ${g.h}x${g.w} o${g.cOut} k${g.kh}x${g.kw} s${g.strideH},${g.strideW} p${g.padH},${g.padW} d${g.dilationH} g${g.groups}`;
    const x = randomArray(g.n * g.cIn * g.h * g.w), wt = randomArray(g.cOut * (g.cIn / g.groups) * g.kh * g.kw), bias = randomArray(g.cOut);
    const gy = randomArray(g.n * g.cOut * g.outH * g.outW);
    const put = (be: Backend, a: Float32Array) => (onWasm(be) ? place(w, a, true) : a);
    for (const withBias of [true, false]) {
      list.push({ name: `conv2d ${tag} bias${+withBias}`, run(be) {
        const out = be.alloc(g.n * g.cOut * g.outH * g.outW);
        be.conv2d(put(be, x), put(be, wt), withBias ? put(be, bias) : null, g, out);
        return [out];
      } });
    }
    list.push({ name: `conv2dBackwardInput ${tag}`, run(be) {
      const gx = be.alloc(x.length); gx.fill(7); // overwritten, not accumulated
      be.conv2dBackwardInput(put(be, gy), put(be, wt), g, gx);
      return [gx];
    } });
    list.push({ name: `conv2dBackwardWeight ${tag}`, run(be) {
      const gw = be.alloc(wt.length); gw.fill(7);
      be.conv2dBackwardWeight(put(be, x), put(be, gy), g, gw);
      return [gw];
    } });
  }
  for (const g of LOCALS) {
    const tag = `n${g.n} c${g.cIn} ${g.h}x${g.w} o${g.cOut} k${g.kh}x${g.kw} s${g.strideH},${g.strideW} p${g.padH} d${g.dilationH}`;
    const p = g.outH * g.outW;
    const x = randomArray(g.n * g.cIn * g.h * g.w), wt = randomArray(p * g.cOut * g.cIn * g.kh * g.kw), bias = randomArray(g.cOut * p);
    const gy = randomArray(g.n * g.cOut * p);
    const put = (be: Backend, a: Float32Array) => (onWasm(be) ? place(w, a, true) : a);
    list.push({ name: `locallyConnected2d ${tag}`, run(be) {
      const out = be.alloc(g.n * g.cOut * p);
      be.locallyConnected2d(put(be, x), put(be, wt), put(be, bias), g, out);
      return [out];
    } });
    list.push({ name: `locallyConnected2dBackwardInput ${tag}`, run(be) {
      const gx = be.alloc(x.length); gx.fill(7);
      be.locallyConnected2dBackwardInput(put(be, gy), put(be, wt), g, gx);
      return [gx];
    } });
    list.push({ name: `locallyConnected2dBackwardWeight ${tag}`, run(be) {
      const gw = be.alloc(wt.length); gw.fill(7);
      be.locallyConnected2dBackwardWeight(put(be, x), put(be, gy), g, gw);
      return [gw];
    } });
  }
  for (const g of [...POOLS, ...MAX_ONLY_POOLS]) {
    const tag = `n${g.n} c${g.c} ${g.h}x${g.w} k${g.kh} s${g.strideH} p${g.padH} d${g.dilationH} -> ${g.outH}x${g.outW}`;
    const x = randomArray(g.n * g.c * g.h * g.w);
    x[5] = NaN; // NaN propagates through max pooling
    x[9] = x[10]!; // ties: the first maximum wins
    x[x.length - 30] = NaN; x[x.length - 29] = NaN; // two NaNs in one window: the first wins
    for (let i = 40; i < 48; i++) x[i] = 0.5; // a flat region: every window's first cell wins
    const gy = randomArray(g.n * g.c * g.outH * g.outW);
    const put = (be: Backend, a: Float32Array) => (onWasm(be) ? place(w, a, true) : a);
    list.push({ name: `maxPool2d + backward ${tag}`, run(be) {
      const out = be.alloc(gy.length), argmax = new Int32Array(gy.length), gx = be.alloc(x.length);
      be.maxPool2d(put(be, x), g, out, argmax);
      be.maxPool2dBackward(put(be, gy), argmax, g, gx);
      return [out, argmax, gx];
    } });
    list.push({ name: `maxPool2d without indices ${tag}`, run(be) {
      const out = be.alloc(gy.length);
      be.maxPool2d(put(be, x), g, out, null);
      return [out];
    } });
    if (g.dilationH !== 1) continue;
    const xa = randomArray(x.length);
    for (const [countIncludePad, divisorOverride] of [[true, 0], [false, 0], [true, 3]] as const) {
      list.push({ name: `avgPool2d + backward ${tag} includePad${+countIncludePad} div${divisorOverride}`, run(be) {
        const out = be.alloc(gy.length), gx = be.alloc(x.length);
        be.avgPool2d(put(be, xa), g, countIncludePad, divisorOverride, out);
        be.avgPool2dBackward(put(be, gy), g, countIncludePad, divisorOverride, gx);
        return [out, gx];
      } });
    }
  }
  // Every op of backend.ts's lists: the kernels take the op's index there (asm/elementwise.ts numbers its switch
  // cases by hand), so a list and a kernel that disagree on an op's number or lack an op fail here.
  for (const op of UNARY_OPS) {
    for (const n of [1, 7, 1003]) {
      const positive = op === 'log' || op === 'sqrt';
      const x = randomArray(n, positive ? 0.01 : -3, 3);
      if (!positive && n > 4) { x[2] = 0; x[3] = -0; }
      list.push({ name: `unary ${op} n${n}`, run(be) {
        const out = be.alloc(n);
        be.unary(op, onWasm(be) ? place(w, x, n !== 7) : x, out);
        return [out];
      } });
    }
  }
  const shapes: [number[], number[]][] = [
    [[3, 5, 7], [3, 5, 7]], [[2, 3, 4, 5], [1]], [[1], [2, 3, 4, 5]], [[2, 3, 4, 5], [1, 3, 1, 1]], [[4, 1], [1, 6]],
    [[2, 3, 5], [3, 1]], [[2, 1, 3, 1, 2], [1, 4, 1, 5, 1]], [[6, 7], [7]],
  ];
  const broadcast = (a: number[], b: number[]) => {
    const r = Math.max(a.length, b.length), out: number[] = [];
    for (let i = 0; i < r; i++) {
      const da = a[a.length - r + i] ?? 1, db = b[b.length - r + i] ?? 1;
      out.push(Math.max(da, db));
    }
    return out;
  };
  for (const op of BINARY_OPS) {
    for (const [as, bs] of shapes) {
      const os = broadcast(as, bs), size = (s: number[]) => s.reduce((p, d) => p * d, 1);
      const a = randomArray(size(as), op === 'pow' ? 0.1 : -2, 2), b = randomArray(size(bs), -2, 2);
      if (op === 'eq' || op === 'max' || op === 'min') for (let i = 0; i < Math.min(a.length, b.length); i += 3) b[i] = a[i]!;
      if (a.length > 3 && op !== 'pow') a[1] = NaN;
      list.push({ name: `binary ${op} [${as}] [${bs}]`, run(be) {
        const out = be.alloc(size(os));
        be.binary(op, onWasm(be) ? place(w, a, true) : a, as, onWasm(be) ? place(w, b, true) : b, bs, out, os);
        return [out];
      } });
    }
  }
  const reductions: [number[], number[]][] = [
    [[37], [0]], [[5, 9], [1]], [[5, 9], [0]], [[4, 3, 6, 5], [0, 2, 3]], [[3, 4, 5], [1]], [[2, 3, 4, 5], [1, 3]],
    [[2, 3, 4, 5, 2], [0, 2, 4]], [[3, 1, 4], [1]], [[2, 3], [0, 1]],
    [[3, 5, 7, 37], [0, 2, 3]], [[2, 1000], [1]], [[4, 6, 50], [0, 2]], // long contiguous runs (16-lane path)
  ];
  for (const op of REDUCE_OPS) {
    for (const [shape, axes] of reductions) {
      const x = randomArray(shape.reduce((p, d) => p * d, 1));
      const outSize = shape.reduce((p, d, i) => (axes.includes(i) ? p : p * d), 1);
      list.push({ name: `reduce ${op} [${shape}] axes [${axes}]`, run(be) {
        const out = be.alloc(outSize);
        be.reduce(op, onWasm(be) ? place(w, x, true) : x, shape, axes, out);
        return [out];
      } });
    }
  }
  for (const [rows, cols] of [[1, 1], [3, 10], [64, 1000]]) {
    const x = randomArray(rows * cols, -10, 10);
    list.push({ name: `logSoftmax ${rows}x${cols}`, run(be) {
      const out = be.alloc(rows * cols);
      be.logSoftmax(onWasm(be) ? place(w, x, true) : x, rows, cols, out);
      return [out];
    } });
  }
  // Fused epilogues: row lengths that are and are not multiples of 4 (thread ranges then start inside a row),
  // without a bias (the conv2d case), and the backward in place (gx = gy) and from plain arrays.
  for (const activation of ACTIVATIONS) {
    for (const [rows, cols, withBias] of [[1, 1, true], [7, 5, true], [64, 120, true], [3, 1003, false], [33, 10, true]] as const) {
      const x = randomArray(rows * cols, -3, 3), bias = randomArray(cols);
      if (x.length > 4) { x[2] = 0; x[3] = -0; bias[0] = 0; }
      list.push({ name: `biasActivation ${activation} ${rows}x${cols}${withBias ? '' : ' no bias'}`, run(be) {
        const out = rows === 7 ? new Float32Array(x.length) : be.alloc(x.length); // 7: plain arrays (copy path)
        out.set(x);
        be.biasActivation(out, withBias ? (onWasm(be) ? place(w, bias, rows !== 7) : bias) : null, rows, cols, activation);
        return [out];
      } });
    }
    for (const n of [1, 7, 1003]) {
      const y = randomArray(n, activation === 'relu' ? -1 : 0, 1), gy = randomArray(n);
      if (n > 4) { y[2] = 0; gy[3] = -1; }
      for (const inPlace of [false, true]) {
        list.push({ name: `activationBackward ${activation} n${n}${inPlace ? ' in place' : ''}`, run(be) {
          const g = onWasm(be) ? place(w, gy, n !== 7) : gy.slice();
          const gx = inPlace ? g : be.alloc(n);
          be.activationBackward(onWasm(be) ? place(w, y, n !== 7) : y, g, gx, activation);
          return [gx];
        } });
      }
    }
  }
  // Batch norm: odd rows (scalar tails), HW = 1, N = 1, and rows of several 256-float summation blocks (asm/norm.ts)
  // ending in a 4-float block and a tail (1030 = 4*256 + 4 + 2; 263 = 256 + 4 + 3).
  for (const [n, c, hw] of [[4, 3, 25], [2, 5, 1], [8, 16, 49], [1, 4, 1030], [3, 6, 263]]) {
    const x = randomArray(n * c * hw, -2, 3), gy = randomArray(n * c * hw);
    const mean = randomArray(c), invStd = randomArray(c, 0.5, 2), weight = randomArray(c), bias = randomArray(c);
    const put = (be: Backend, a: Float32Array) => (onWasm(be) ? place(w, a, true) : a);
    list.push({ name: `channelMoments n${n} c${c} hw${hw}`, run(be) {
      const m = be.alloc(c), v = be.alloc(c);
      be.channelMoments(put(be, x), n, c, hw, m, v);
      return [m, v];
    } });
    for (const affine of [true, false]) {
      list.push({ name: `batchNormApply n${n} c${c} hw${hw} affine${+affine}`, run(be) {
        const out = be.alloc(x.length);
        be.batchNormApply(put(be, x), n, c, hw, put(be, mean), put(be, invStd), affine ? put(be, weight) : null, affine ? put(be, bias) : null, out);
        return [out];
      } });
      for (const training of [true, false]) {
        list.push({ name: `batchNormBackward n${n} c${c} hw${hw} affine${+affine} training${+training}`, run(be) {
          const gx = be.alloc(x.length), gw = be.alloc(c), gb = be.alloc(c);
          be.batchNormBackward(put(be, x), put(be, gy), n, c, hw, put(be, mean), put(be, invStd), affine ? put(be, weight) : null, training, gx, gw, gb);
          return [gx, gw, gb];
        } });
      }
    }
  }
  // Fused softmax cross-entropy: forward (loss, lse) and backward, with and without weights and smoothing, one row ignored.
  for (const [rows, cols] of [[7, 10], [33, 3], [1, 1]] as const) {
    const x = randomArray(rows * cols, -4, 4), weight = randomArray(cols, 0.5, 1.5), rowScale = randomArray(rows);
    const target = Int32Array.from({ length: rows }, () => Math.floor(random() * cols));
    if (rows > 1) target[1] = -1; // an ignored row
    const put = (be: Backend, a: Float32Array) => (onWasm(be) ? place(w, a, true) : a);
    for (const weighted of [false, true]) {
      for (const eps of [0, 0.1]) {
        list.push({ name: `softmaxCrossEntropy ${rows}x${cols} weighted${+weighted} eps${eps}`, run(be) {
          const loss = be.alloc(rows), lse = be.alloc(2 * rows), gx = be.alloc(rows * cols);
          const wt = weighted ? put(be, weight) : null;
          be.softmaxCrossEntropy(put(be, x), rows, cols, target, wt, eps, loss, lse);
          be.softmaxCrossEntropyBackward(put(be, x), lse, rows, cols, target, wt, eps, put(be, rowScale), gx);
          return [loss, lse, gx];
        } });
      }
    }
  }
  // Optimizer updates over 3 steps (the first initialises SGD's momentum buffer). The parameter and gradient are
  // plain arrays (the usual case: the kernel copies them), the state comes from allocState; 1003 floats leave a tail.
  const len = 1003, param0 = randomArray(len), grads = [randomArray(len), randomArray(len), randomArray(len)];
  const sgdVariants = [
    { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.01, maximize: false },
    { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, maximize: false },
    { lr: 0.05, momentum: 0.9, dampening: 0.3, nesterov: false, weightDecay: 1e-3, maximize: true },
    { lr: 0.05, momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 5e-4, maximize: false },
  ];
  for (const h of sgdVariants) {
    list.push({ name: `sgdStep ${JSON.stringify(h)}`, run(be) {
      const p = param0.slice(), buf = be.allocState(len);
      grads.forEach((g, k) => be.sgdStep(p, g, h.momentum === 0 ? null : buf, k === 0, h));
      return [p, buf];
    } });
  }
  for (const [decoupled, amsgrad, maximize, weightDecay] of [[false, false, false, 0], [false, true, true, 0.01], [true, false, false, 0.01], [true, true, false, 0.1]] as const) {
    list.push({ name: `adamStep decoupled${+decoupled} amsgrad${+amsgrad} maximize${+maximize} wd${weightDecay}`, run(be) {
      const p = param0.slice(), m = be.allocState(len), v = be.allocState(len), vMax = amsgrad ? be.allocState(len) : null;
      grads.forEach((g, k) => be.adamStep(p, g, m, v, vMax,
        { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay, decoupled, maximize, step: k + 1 }));
      return vMax ? [p, m, v, vMax] : [p, m, v];
    } });
  }
  return list;
}

function compare(got: (Float32Array | Int32Array)[], want: (Float32Array | Int32Array)[], name: string, tol?: number): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    const e = want[i]!;
    if (e instanceof Int32Array) assert.deepEqual(Array.from(g), Array.from(e), `${name}: output ${i} (indices)`);
    else assertClose(g as Float32Array, e, `${name}: output ${i}`, tol);
  });
}

const wasm = await loadWasmBackend();
// Outside a scope alloc() hands out plain GC-owned arrays (kernels then copy them in and out); inside one it
// hands out blocks of the wasm heap, used in place. This file stays inside one scope, so `place(..., true)` and
// every alloc() test the in-heap path, and `place(..., false)` the copying path.
wasm.beginScope();
const allCases = cases(wasm);

for (const threads of [1, 2]) {
  test(`wasm backend (${threads} thread${threads > 1 ? 's' : ''}) matches the reference backend`, async () => {
    await wasm.setThreads(threads);
    wasm.setParallelThreshold(0); // split even the small test shapes
    try {
      for (const c of allCases) compare(c.run(wasm), c.run(ref), c.name, c.tol);
    } finally {
      wasm.setParallelThreshold(20_000);
    }
  });
}

test('wasm backend: 1 and 2 threads give bit-identical outputs', async () => {
  wasm.setParallelThreshold(0);
  try {
    for (const c of allCases) {
      await wasm.setThreads(1);
      const one = c.run(wasm);
      await wasm.setThreads(2);
      const two = c.run(wasm);
      one.forEach((o, i) => assertSameBits(o, two[i]!, `${c.name} output ${i}`));
    }
  } finally {
    wasm.setParallelThreshold(20_000);
  }
});

test('wasm backend: large GEMM and conv split across threads stay bit-identical', async () => {
  const m = 203, n = 301, k = 517;
  const a = place(wasm, randomArray(m * k), true), b = place(wasm, randomArray(k * n), true);
  const outs: Float32Array[] = [];
  for (const t of [1, 2]) {
    await wasm.setThreads(t);
    const c = wasm.alloc(m * n);
    wasm.gemm(false, true, m, n, k, a, 0, b, 0, c, 0, false);
    outs.push(c);
  }
  assertSameBits(outs[0]!, outs[1]!, 'gemm 203x301x517');
  const want = new Float32Array(m * n);
  ref.gemm(false, true, m, n, k, a, 0, b, 0, want, 0, false);
  assertClose(outs[0]!, want, 'gemm 203x301x517 vs reference');
});

test('wasm backend: alloc in a scope gives zero-filled arrays that live in the wasm memory', () => {
  const a = wasm.alloc(1000);
  assert.ok(wasm.owns(a));
  assert.ok(a.every((v) => v === 0));
  a.fill(3);
  wasm.release(a);
  const b = wasm.alloc(1000); // reuses the block: must be zeroed again
  assert.ok(b.every((v) => v === 0));
  assert.equal(wasm.alloc(0).length, 0);
});

test('wasm backend: allocUninitialized skips zeroing, poison mode fills it with NaN, and alloc still zeroes', () => {
  const a = wasm.allocUninitialized!(1000);
  assert.ok(wasm.owns(a));
  assert.equal(a.length, 1000);
  a.fill(3);
  wasm.release(a);
  wasm.setPoisonFreed(true);
  try {
    const b = wasm.allocUninitialized!(1000);
    assert.ok(b.every((v) => Number.isNaN(v)), 'an uninitialised block reads as NaN in poison mode');
    wasm.release(b);
    const c = wasm.alloc(1000); // the poisoned block again: alloc must zero it
    assert.ok(c.every((v) => v === 0));
  } finally {
    wasm.setPoisonFreed(false);
  }
  assert.equal(wasm.allocUninitialized!(0).length, 0);
});

test('wasm backend: workers use memory the main thread grew just before the kernel', async () => {
  await wasm.setThreads(2);
  wasm.setParallelThreshold(0);
  try {
    for (let round = 0; round < 3; round++) {
      const before = wasm.memoryBytes();
      // A block as large as the whole memory cannot fit below the old end: it grows the memory, and its tail
      // (used as B) lies in pages the workers have never seen.
      const filler = wasm.alloc(before / 4);
      assert.ok(wasm.memoryBytes() > before, 'the memory grew');
      const m = 32, n = 32, k = 2048, bOffset = filler.length - k * n;
      assert.ok(filler.byteOffset + bOffset * 4 >= before, 'B lies in the new pages');
      filler.set(randomArray(k * n), bOffset);
      const a = place(wasm, randomArray(m * k), true), c = wasm.alloc(m * n);
      wasm.gemm(false, false, m, n, k, a, 0, filler, bOffset, c, 0, false);
      const want = new Float32Array(m * n);
      ref.gemm(false, false, m, n, k, a, 0, filler, bOffset, want, 0, false);
      assertClose(c, want, `gemm after growth (round ${round})`);
      wasm.release(filler); wasm.release(a); wasm.release(c);
    }
  } finally {
    wasm.setParallelThreshold(20_000);
  }
});

test('wasm backend: 600 back-to-back threaded kernels of random sizes match their 1-thread bits', async () => {
  // Exercises the job protocol (wake, shares, completion) with jobs that follow each other at once.
  const jobs: { run: () => Float32Array }[] = [];
  for (let i = 0; i < 200; i++) {
    const m = 1 + Math.floor(random() * 40), n = 1 + Math.floor(random() * 40), k = 1 + Math.floor(random() * 40);
    const a = place(wasm, randomArray(m * k), true), b = place(wasm, randomArray(k * n), true);
    jobs.push({ run: () => { const c = wasm.alloc(m * n); wasm.gemm(false, false, m, n, k, a, 0, b, 0, c, 0, false); return c; } });
    const len = 1 + Math.floor(random() * 5000), x = place(wasm, randomArray(len), true);
    jobs.push({ run: () => { const o = wasm.alloc(len); wasm.unary('relu', x, o); return o; } });
    const rows = 1 + Math.floor(random() * 30), cols = 1 + Math.floor(random() * 30), y = place(wasm, randomArray(rows * cols), true);
    jobs.push({ run: () => { const o = wasm.alloc(rows); wasm.reduce('sum', y, [rows, cols], [1], o); return o; } });
  }
  await wasm.setThreads(1);
  const one = jobs.map((j) => j.run());
  await wasm.setThreads(2);
  wasm.setParallelThreshold(0);
  try {
    const two = jobs.map((j) => j.run());
    one.forEach((o, i) => assertSameBits(o, two[i]!, `job ${i}`));
  } finally {
    wasm.setParallelThreshold(20_000);
  }
});

test('wasm batch norm: values near float32\'s range (a diverging run) give the reference\'s statistics and gradients, not an f32 overflow', () => {
  // Sums of 1e37-sized values overflow the f32 partial sums; the kernels then redo the channel in f64, as the
  // reference does: the mean stays finite, the variance rounds to Infinity, the normalised output is the bias.
  const n = 16, c = 2, hw = 784;
  let s = 1;
  const x = new Float32Array(n * c * hw).map(() => { s = (s * 1103515245 + 12345) >>> 0; return (s / 2 ** 32 - 0.3) * 3e37; });
  const gy = new Float32Array(x.length).map((_, i) => (i % 7) - 3 + (i % 2) * 1e37);
  const weight = new Float32Array([2, 3]), bias = new Float32Array([0.5, -1]);
  const results = [ref, wasm].map((be) => {
    const mean = new Float32Array(c), variance = new Float32Array(c);
    be.channelMoments(x, n, c, hw, mean, variance);
    const invStd = variance.map((v) => 1 / Math.sqrt(v + 1e-5));
    const out = new Float32Array(x.length), gx = new Float32Array(x.length), gw = new Float32Array(c), gb = new Float32Array(c);
    be.batchNormApply(x, n, c, hw, mean, invStd, weight, bias, out);
    be.batchNormBackward(x, gy, n, c, hw, mean, invStd, weight, true, gx, gw, gb);
    return { mean, variance, out, gx, gw, gb };
  });
  const [want, got] = results as [typeof results[0], typeof results[0]];
  assert.ok(want.mean.every(Number.isFinite) && want.variance.every((v) => v === Infinity), 'the case overflows f32, not f64');
  for (const key of ['mean', 'variance', 'out', 'gx', 'gw', 'gb'] as const) {
    want[key].forEach((v, i) => {
      const g = got[key][i]!;
      assert.ok(Object.is(v, g) || Math.abs(g - v) <= 1e-6 * Math.abs(v), `${key}[${i}]: wasm ${g}, reference ${v}`);
    });
  }
});
