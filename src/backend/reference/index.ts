/**
 * The reference backend: plain TypeScript, written to be read. It is the oracle that every faster backend is
 * tested against, and the fallback for anything a faster backend does not implement.
 */
import type { Activation, AdamHyper, Backend, BinaryOp, Conv2dGeometry, Pool2dGeometry, ReduceOp, SgdHyper, UnaryOp } from '../backend.js';

// ---------------------------------------------------------------- GEMM

function gemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: Float32Array, aOff: number, b: Float32Array, bOff: number,
  c: Float32Array, cOff: number, accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, cOff, cOff + m * n);
  // Loop order i-p-j keeps the inner loop contiguous in B and C when B is not transposed.
  if (!transB) {
    for (let i = 0; i < m; i++) {
      const cRow = cOff + i * n;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[aOff + p * m + i]! : a[aOff + i * k + p]!;
        if (av === 0) continue;
        const bRow = bOff + p * n;
        for (let j = 0; j < n; j++) c[cRow + j]! += av * b[bRow + j]!;
      }
    }
  } else {
    // B is [n,k]: a dot product per output element.
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        const bRow = bOff + j * k;
        if (transA) for (let p = 0; p < k; p++) s += a[aOff + p * m + i]! * b[bRow + p]!;
        else {
          const aRow = aOff + i * k;
          for (let p = 0; p < k; p++) s += a[aRow + p]! * b[bRow + p]!;
        }
        c[cOff + i * n + j]! += s;
      }
    }
  }
}

// ---------------------------------------------------------------- im2col / col2im

// x plane block (Cg,H,W) starting at xOff -> col (Cg*KH*KW, OH*OW)
function im2col(x: Float32Array, xOff: number, cg: number, g: Conv2dGeometry, col: Float32Array): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  let r = 0;
  for (let c = 0; c < cg; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, r++) {
        const rowOff = r * outH * outW;
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * strideH - padH + i * dilationH;
          for (let ox = 0; ox < outW; ox++) {
            const ix = ox * strideW - padW + j * dilationW;
            col[rowOff + oy * outW + ox] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[xOff + (c * h + iy) * w + ix]! : 0;
          }
        }
      }
    }
  }
}

// col (Cg*KH*KW, OH*OW) -> adds into gx plane block (Cg,H,W) at gxOff
function col2im(col: Float32Array, cg: number, g: Conv2dGeometry, gx: Float32Array, gxOff: number): void {
  const { h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  let r = 0;
  for (let c = 0; c < cg; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, r++) {
        const rowOff = r * outH * outW;
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * strideH - padH + i * dilationH;
          if (iy < 0 || iy >= h) continue;
          for (let ox = 0; ox < outW; ox++) {
            const ix = ox * strideW - padW + j * dilationW;
            if (ix >= 0 && ix < w) gx[gxOff + (c * h + iy) * w + ix]! += col[rowOff + oy * outW + ox]!;
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- convolution

function conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry, out: Float32Array): void {
  const { n, cIn, h, cOut, kh, kw, groups, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups, kk = cg * kh * kw, p = outH * outW;
  const col = new Float32Array(kk * p);
  for (let b = 0; b < n; b++) {
    for (let grp = 0; grp < groups; grp++) {
      im2col(x, (b * cIn + grp * cg) * h * g.w, cg, g, col);
      gemm(false, false, og, p, kk, w, grp * og * kk, col, 0, out, (b * cOut + grp * og) * p, false);
    }
    if (bias) for (let o = 0; o < cOut; o++) addScalar(out, (b * cOut + o) * p, p, bias[o]!);
  }
}

function addScalar(buf: Float32Array, off: number, len: number, v: number): void {
  for (let i = 0; i < len; i++) buf[off + i]! += v;
}

function conv2dBackwardInput(gy: Float32Array, w: Float32Array, g: Conv2dGeometry, gx: Float32Array): void {
  const { n, cIn, h, cOut, kh, kw, groups, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups, kk = cg * kh * kw, p = outH * outW;
  const col = new Float32Array(kk * p);
  gx.fill(0);
  for (let b = 0; b < n; b++) {
    for (let grp = 0; grp < groups; grp++) {
      gemm(true, false, kk, p, og, w, grp * og * kk, gy, (b * cOut + grp * og) * p, col, 0, false);
      col2im(col, cg, g, gx, (b * cIn + grp * cg) * h * g.w);
    }
  }
}

function conv2dBackwardWeight(x: Float32Array, gy: Float32Array, g: Conv2dGeometry, gw: Float32Array): void {
  const { n, cIn, h, cOut, kh, kw, groups, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups, kk = cg * kh * kw, p = outH * outW;
  const col = new Float32Array(kk * p);
  gw.fill(0);
  for (let b = 0; b < n; b++) {
    for (let grp = 0; grp < groups; grp++) {
      im2col(x, (b * cIn + grp * cg) * h * g.w, cg, g, col);
      gemm(false, true, og, kk, p, gy, (b * cOut + grp * og) * p, col, 0, gw, grp * og * kk, true);
    }
  }
}

// ---------------------------------------------------------------- locally connected

// Patches at output position (oy, ox) for every image: rows (N), columns (C*KH*KW).
function gatherPatches(x: Float32Array, g: Conv2dGeometry, oy: number, ox: number, patches: Float32Array): void {
  const { n, cIn, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  const kk = cIn * kh * kw;
  for (let b = 0; b < n; b++) {
    let r = b * kk;
    for (let c = 0; c < cIn; c++) {
      for (let i = 0; i < kh; i++) {
        const iy = oy * strideH - padH + i * dilationH;
        for (let j = 0; j < kw; j++, r++) {
          const ix = ox * strideW - padW + j * dilationW;
          patches[r] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[((b * cIn + c) * h + iy) * w + ix]! : 0;
        }
      }
    }
  }
}

function scatterPatches(patches: Float32Array, g: Conv2dGeometry, oy: number, ox: number, gx: Float32Array): void {
  const { n, cIn, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  const kk = cIn * kh * kw;
  for (let b = 0; b < n; b++) {
    let r = b * kk;
    for (let c = 0; c < cIn; c++) {
      for (let i = 0; i < kh; i++) {
        const iy = oy * strideH - padH + i * dilationH;
        for (let j = 0; j < kw; j++, r++) {
          const ix = ox * strideW - padW + j * dilationW;
          if (iy >= 0 && iy < h && ix >= 0 && ix < w) gx[((b * cIn + c) * h + iy) * w + ix]! += patches[r]!;
        }
      }
    }
  }
}

function locallyConnected2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry, out: Float32Array): void {
  const { n, cIn, cOut, kh, kw, outH, outW } = g;
  const kk = cIn * kh * kw, p = outH * outW;
  const patches = new Float32Array(n * kk), y = new Float32Array(n * cOut);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const pos = oy * outW + ox;
      gatherPatches(x, g, oy, ox, patches);
      gemm(false, true, n, cOut, kk, patches, 0, w, pos * cOut * kk, y, 0, false); // y[N,O] = patches @ W_pos^T
      for (let b = 0; b < n; b++) {
        for (let o = 0; o < cOut; o++) out[(b * cOut + o) * p + pos] = y[b * cOut + o]! + (bias ? bias[o * p + pos]! : 0);
      }
    }
  }
}

function locallyConnected2dBackwardInput(gy: Float32Array, w: Float32Array, g: Conv2dGeometry, gx: Float32Array): void {
  const { n, cIn, cOut, kh, kw, outH, outW } = g;
  const kk = cIn * kh * kw, p = outH * outW;
  const gyPos = new Float32Array(n * cOut), patches = new Float32Array(n * kk);
  gx.fill(0);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const pos = oy * outW + ox;
      for (let b = 0; b < n; b++) for (let o = 0; o < cOut; o++) gyPos[b * cOut + o] = gy[(b * cOut + o) * p + pos]!;
      gemm(false, false, n, kk, cOut, gyPos, 0, w, pos * cOut * kk, patches, 0, false); // [N,KK] = gy_pos @ W_pos
      scatterPatches(patches, g, oy, ox, gx);
    }
  }
}

function locallyConnected2dBackwardWeight(x: Float32Array, gy: Float32Array, g: Conv2dGeometry, gw: Float32Array): void {
  const { n, cIn, cOut, kh, kw, outH, outW } = g;
  const kk = cIn * kh * kw, p = outH * outW;
  const gyPos = new Float32Array(n * cOut), patches = new Float32Array(n * kk);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const pos = oy * outW + ox;
      gatherPatches(x, g, oy, ox, patches);
      for (let b = 0; b < n; b++) for (let o = 0; o < cOut; o++) gyPos[b * cOut + o] = gy[(b * cOut + o) * p + pos]!;
      gemm(true, false, cOut, kk, n, gyPos, 0, patches, 0, gw, pos * cOut * kk, false); // [O,KK] = gy_pos^T @ patches
    }
  }
}

// ---------------------------------------------------------------- pooling

function maxPool2d(x: Float32Array, g: Pool2dGeometry, out: Float32Array, argmax: Int32Array | null): void {
  const { n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  for (let plane = 0; plane < n * c; plane++) {
    const xOff = plane * h * w, oOff = plane * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let best = -Infinity, bestIdx = -1;
        for (let i = 0; i < kh; i++) {
          const iy = oy * strideH - padH + i * dilationH;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const ix = ox * strideW - padW + j * dilationW;
            if (ix < 0 || ix >= w) continue;
            const v = x[xOff + iy * w + ix]!;
            // NaN propagates (it wins and stays), like PyTorch.
            if (bestIdx < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) { best = v; bestIdx = iy * w + ix; }
          }
        }
        out[oOff + oy * outW + ox] = best;
        if (argmax) argmax[oOff + oy * outW + ox] = bestIdx;
      }
    }
  }
}

function maxPool2dBackward(gy: Float32Array, argmax: Int32Array, g: Pool2dGeometry, gx: Float32Array): void {
  const { n, c, h, w, outH, outW } = g;
  gx.fill(0);
  for (let plane = 0; plane < n * c; plane++) {
    const xOff = plane * h * w, oOff = plane * outH * outW;
    for (let o = 0; o < outH * outW; o++) gx[xOff + argmax[oOff + o]!]! += gy[oOff + o]!;
  }
}

function avgWindow(g: Pool2dGeometry, oy: number, ox: number, countIncludePad: boolean, divisorOverride: number) {
  const { h, w, kh, kw, strideH, strideW, padH, padW } = g;
  let y0 = oy * strideH - padH, x0 = ox * strideW - padW;
  let y1 = Math.min(y0 + kh, h + padH), x1 = Math.min(x0 + kw, w + padW);
  const poolSize = (y1 - y0) * (x1 - x0);
  y0 = Math.max(y0, 0); x0 = Math.max(x0, 0); y1 = Math.min(y1, h); x1 = Math.min(x1, w);
  const divisor = divisorOverride > 0 ? divisorOverride : countIncludePad ? poolSize : (y1 - y0) * (x1 - x0);
  return { y0, x0, y1, x1, divisor };
}

function avgPool2d(x: Float32Array, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number, out: Float32Array): void {
  const { n, c, h, w, outH, outW } = g;
  for (let plane = 0; plane < n * c; plane++) {
    const xOff = plane * h * w, oOff = plane * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const { y0, x0, y1, x1, divisor } = avgWindow(g, oy, ox, countIncludePad, divisorOverride);
        let s = 0;
        for (let i = y0; i < y1; i++) for (let j = x0; j < x1; j++) s += x[xOff + i * w + j]!;
        out[oOff + oy * outW + ox] = s / divisor;
      }
    }
  }
}

function avgPool2dBackward(gy: Float32Array, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number, gx: Float32Array): void {
  const { n, c, h, w, outH, outW } = g;
  gx.fill(0);
  for (let plane = 0; plane < n * c; plane++) {
    const xOff = plane * h * w, oOff = plane * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const { y0, x0, y1, x1, divisor } = avgWindow(g, oy, ox, countIncludePad, divisorOverride);
        const v = gy[oOff + oy * outW + ox]! / divisor;
        for (let i = y0; i < y1; i++) for (let j = x0; j < x1; j++) gx[xOff + i * w + j]! += v;
      }
    }
  }
}

// ---------------------------------------------------------------- elementwise

const SQRT_HALF = Math.SQRT1_2;
/** erf with |error| < 1.2e-7 (Numerical Recipes erfc), enough for float32 GELU. */
export function erf(x: number): number {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

const unaryFns: Record<UnaryOp, (v: number) => number> = {
  neg: (v) => -v,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: (v) => (v > 0 ? 1 : v < 0 ? -1 : 0),
  // `v <= 0 ? 0 : v`, not `v > 0 ? v : 0`: NaN must stay NaN (torch.relu(nan) is nan).
  relu: (v) => (v <= 0 ? 0 : v),
  sigmoid: (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))),
  tanh: Math.tanh,
  gelu: (v) => 0.5 * v * (1 + erf(v * SQRT_HALF)),
  reciprocal: (v) => 1 / v,
  square: (v) => v * v,
};

function unary(op: UnaryOp, x: Float32Array, out: Float32Array): void {
  const f = unaryFns[op];
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
}

const binaryFns: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  max: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  min: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  eq: (a, b) => (a === b ? 1 : 0),
};

/** Strides of `shape` right-aligned to `outShape`, 0 where the dimension is broadcast. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const oi = outShape.length - shape.length + i;
    strides[oi] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return strides;
}

function binary(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void {
  const f = binaryFns[op];
  const n = out.length;
  if (a.length === n && b.length === n) { for (let i = 0; i < n; i++) out[i] = f(a[i]!, b[i]!); return; }
  if (b.length === 1) { const bv = b[0]!; if (a.length === n) { for (let i = 0; i < n; i++) out[i] = f(a[i]!, bv); return; } }
  if (a.length === 1) { const av = a[0]!; if (b.length === n) { for (let i = 0; i < n; i++) out[i] = f(av, b[i]!); return; } }
  // General case: walk the output with an odometer, tracking both input offsets.
  const rank = outShape.length;
  const sa = broadcastStrides(aShape, outShape), sb = broadcastStrides(bShape, outShape);
  const idx = new Array<number>(rank).fill(0);
  let ia = 0, ib = 0;
  for (let i = 0; i < n; i++) {
    out[i] = f(a[ia]!, b[ib]!);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++; ia += sa[d]!; ib += sb[d]!;
      if (idx[d]! < outShape[d]!) break;
      ia -= sa[d]! * outShape[d]!; ib -= sb[d]! * outShape[d]!; idx[d] = 0;
    }
  }
}

function reduce(op: ReduceOp, x: Float32Array, shape: readonly number[], axes: readonly number[], out: Float32Array): void {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const so = broadcastStrides(outShape, shape);
  const init = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
  out.fill(init);
  const rank = shape.length, n = x.length;
  const idx = new Array<number>(rank).fill(0);
  let io = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (op === 'sum') out[io]! += v;
    else if (op === 'max') { if (v > out[io]! || Number.isNaN(v)) out[io] = v; }
    else if (v < out[io]! || Number.isNaN(v)) out[io] = v;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++; io += so[d]!;
      if (idx[d]! < shape[d]!) break;
      io -= so[d]! * shape[d]!; idx[d] = 0;
    }
  }
}

/** log(sum(exp(x[off..off+cols)))), shifted by the row's maximum so no exp overflows. */
function rowLogSumExp(x: Float32Array, off: number, cols: number): number {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, x[off + j]!);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x[off + j]! - m);
  return m + Math.log(s);
}

function logSoftmax(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const lse = rowLogSumExp(x, off, cols);
    for (let j = 0; j < cols; j++) out[off + j] = x[off + j]! - lse;
  }
}

// ---------------------------------------------------------------- fused softmax cross-entropy

function softmaxCrossEntropy(x: Float32Array, rows: number, cols: number, target: Int32Array, weight: Float32Array | null,
  labelSmoothing: number, loss: Float32Array, lse: Float32Array): void {
  const eps = labelSmoothing;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const l = rowLogSumExp(x, off, cols);
    // The log-probabilities as logSoftmax stores them (float32), so the loss equals nllLoss(logSoftmax(x)).
    const logp = (j: number) => Math.fround(x[off + j]! - l);
    const t = target[r]!;
    const hi = Math.fround(l);
    lse[2 * r] = hi;
    lse[2 * r + 1] = l - hi;
    if (t < 0) { loss[r] = 0; continue; } // an ignored row
    let value = -(weight ? weight[t]! : 1) * logp(t);
    if (eps !== 0) {
      // Label smoothing: the cross-entropy against the uniform distribution, mixed in with weight eps.
      let smooth = 0;
      for (let j = 0; j < cols; j++) smooth -= (weight ? weight[j]! : 1) * logp(j);
      value = (1 - eps) * value + eps / cols * smooth;
    }
    loss[r] = value;
  }
}

function softmaxCrossEntropyBackward(x: Float32Array, lse: Float32Array, rows: number, cols: number, target: Int32Array,
  weight: Float32Array | null, labelSmoothing: number, rowScale: Float32Array, gx: Float32Array): void {
  const eps = labelSmoothing, spread = eps / cols;
  let weightSum = cols;
  if (weight) { weightSum = 0; for (let j = 0; j < cols; j++) weightSum += weight[j]!; }
  for (let r = 0; r < rows; r++) {
    const off = r * cols, l = lse[2 * r]! + lse[2 * r + 1]!, scale = rowScale[r]!, t = target[r]!;
    if (t < 0) { gx.fill(0, off, off + cols); continue; } // an ignored row
    const hit = (1 - eps) * (weight ? weight[t]! : 1);
    // d loss / d x[j] = softmax[j] · (the row's total target mass) − (target mass at j)
    const a = hit + spread * weightSum;
    for (let j = 0; j < cols; j++) {
      let g = Math.exp(Math.fround(x[off + j]! - l)) * a - spread * (weight ? weight[j]! : 1);
      if (j === t) g -= hit;
      gx[off + j] = scale * g;
    }
  }
}

// ---------------------------------------------------------------- optimizer updates

function sgdStep(param: Float32Array, grad: Float32Array, momentumBuffer: Float32Array | null, firstStep: boolean, h: SgdHyper): void {
  const { lr, momentum, dampening, nesterov, weightDecay } = h;
  const w = param, sign = h.maximize ? -1 : 1;
  if (momentum === 0 || momentumBuffer === null) {
    for (let i = 0; i < w.length; i++) w[i] = w[i]! - lr * (sign * grad[i]! + weightDecay * w[i]!);
    return;
  }
  const buf = momentumBuffer;
  for (let i = 0; i < w.length; i++) {
    const d = sign * grad[i]! + weightDecay * w[i]!;
    const b = firstStep ? d : momentum * buf[i]! + (1 - dampening) * d;
    buf[i] = b;
    w[i] = w[i]! - lr * (nesterov ? d + momentum * buf[i]! : buf[i]!);
  }
}

function adamStep(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, vMax: Float32Array | null, h: AdamHyper): void {
  const { lr, beta1, beta2, eps, weightDecay, step } = h;
  const w = param;
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / biasCorrection1;
  const sign = h.maximize ? -1 : 1;
  const l2 = h.decoupled ? 0 : weightDecay;
  const shrink = h.decoupled ? 1 - lr * weightDecay : 1;
  for (let i = 0; i < w.length; i++) {
    // AdamW decays the weight itself before the update; Adam adds the L2 term to the gradient.
    const wi = w[i]! * shrink;
    const gi = sign * grad[i]! + l2 * wi;
    m[i] = beta1 * m[i]! + (1 - beta1) * gi;
    v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
    let second = v[i]!;
    if (vMax !== null) {
      if (second > vMax[i]!) vMax[i] = second;
      second = vMax[i]!;
    }
    w[i] = wi - stepSize * m[i]! / (Math.sqrt(second) / biasCorrection2Sqrt + eps);
  }
}

// ---------------------------------------------------------------- batch norm

function channelMoments(x: Float32Array, n: number, c: number, hw: number, mean: Float32Array, variance: Float32Array): void {
  const count = n * hw;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) { const off = (b * c + ch) * hw; for (let i = 0; i < hw; i++) s += x[off + i]!; }
    const m = s / count;
    let v = 0;
    for (let b = 0; b < n; b++) { const off = (b * c + ch) * hw; for (let i = 0; i < hw; i++) { const d = x[off + i]! - m; v += d * d; } }
    mean[ch] = m;
    variance[ch] = v / count;
  }
}

function batchNormApply(x: Float32Array, n: number, c: number, hw: number, mean: Float32Array, invStd: Float32Array,
  weight: Float32Array | null, bias: Float32Array | null, out: Float32Array): void {
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const scale = invStd[ch]! * (weight ? weight[ch]! : 1);
      const shift = (bias ? bias[ch]! : 0) - mean[ch]! * scale;
      const off = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) out[off + i] = x[off + i]! * scale + shift;
    }
  }
}

function batchNormBackward(x: Float32Array, gy: Float32Array, n: number, c: number, hw: number, mean: Float32Array, invStd: Float32Array,
  weight: Float32Array | null, training: boolean, gx: Float32Array, gWeight: Float32Array, gBias: Float32Array): void {
  const count = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch]!, is = invStd[ch]!, wv = weight ? weight[ch]! : 1;
    let sumGy = 0, sumGyXhat = 0;
    for (let b = 0; b < n; b++) {
      const off = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) { const g = gy[off + i]!; sumGy += g; sumGyXhat += g * (x[off + i]! - m) * is; }
    }
    gWeight[ch] = sumGyXhat;
    gBias[ch] = sumGy;
    for (let b = 0; b < n; b++) {
      const off = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        if (training) {
          const xhat = (x[off + i]! - m) * is;
          gx[off + i] = (wv * is / count) * (count * gy[off + i]! - sumGy - xhat * sumGyXhat);
        } else gx[off + i] = gy[off + i]! * wv * is;
      }
    }
  }
}

const activationFns: Record<Activation, (v: number) => number> = {
  none: (v) => v,
  relu: unaryFns.relu,
  sigmoid: unaryFns.sigmoid,
  tanh: unaryFns.tanh,
};

// out is (rows, cols), updated in place; bias is (cols) or null
function biasActivation(out: Float32Array, bias: Float32Array | null, rows: number, cols: number, activation: Activation): void {
  const f = activationFns[activation];
  if (!bias) {
    for (let i = 0; i < rows * cols; i++) out[i] = f(out[i]!);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    // Math.fround: the activation sees the float32 sum, as it would after a separate add pass.
    for (let c = 0; c < cols; c++) out[row + c] = f(Math.fround(out[row + c]! + bias[c]!));
  }
}

function activationBackward(y: Float32Array, gy: Float32Array, gx: Float32Array, activation: Activation): void {
  switch (activation) {
    // A product with the 0/1 mask (not a select), like the unfused gt-then-mul: gy = -1 masks to -0, inf to NaN.
    // Where the output is NaN the gradient passes (PyTorch's threshold_backward masks only y <= 0).
    case 'relu': for (let i = 0; i < gx.length; i++) gx[i] = y[i]! <= 0 ? 0 : gy[i]!; break;
    case 'sigmoid': for (let i = 0; i < gx.length; i++) gx[i] = gy[i]! * y[i]! * (1 - y[i]!); break;
    case 'tanh': for (let i = 0; i < gx.length; i++) gx[i] = gy[i]! * (1 - y[i]! * y[i]!); break;
    default: if (gx !== gy) gx.set(gy);
  }
}

export const referenceBackend = {
  name: 'reference',
  alloc: (n: number) => new Float32Array(n),
  // A fresh JS array is always zeroed; nothing to save.
  allocUninitialized: (n: number) => new Float32Array(n),
  gemm,
  conv2d, conv2dBackwardInput, conv2dBackwardWeight,
  locallyConnected2d, locallyConnected2dBackwardInput, locallyConnected2dBackwardWeight,
  maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
  unary, binary, reduce, logSoftmax,
  biasActivation, activationBackward,
  softmaxCrossEntropy, softmaxCrossEntropyBackward,
  sgdStep, adamStep,
  allocState: (n: number) => new Float32Array(n),
  channelMoments, batchNormApply, batchNormBackward,
} satisfies Backend;

export default referenceBackend;
