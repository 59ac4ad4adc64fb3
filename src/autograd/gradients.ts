/**
 * THE gradient table: for every op, its vector-Jacobian product. Given the gradient `gy` of the op's output
 * (and the output itself, the inputs and what the op saved), return the gradient of each input, or null
 * where the input needs none. Backward runs under noGrad, so ops used here record nothing.
 * Composite ops (softmax, mseLoss, localResponseNorm, ...) have no entry: they are built from
 * these and get their gradients for free.
 */
import { Tensor } from '../tensor/tensor.js';
import type { OpContexts } from './contexts.js';
import type { Activation, Conv2dGeometry } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { erf } from '../backend/reference/index.js';
import { numelOf } from '../tensor/shape.js';
import { empty, sumToShape, uninitialized } from '../ops/util.js';
import { binary, log, mul, div, neg, pow, sub } from '../ops/elementwise.js';
import { copyShiftedPlanes, permute } from '../ops/shape.js';
import { matmulBatchPairs } from '../ops/linalg.js';

type Vjp<K extends keyof OpContexts> = (gy: Tensor, out: Tensor, inputs: readonly (Tensor | null)[], saved: OpContexts[K]) => (Tensor | null)[];

const needs = (t: Tensor | null | undefined): t is Tensor => !!t && t.requiresGrad;

/** Elementwise map over (gy, a[, b]) of equal length into a new tensor of gy's shape. */
function map2(gy: Tensor, a: Float32Array, f: (g: number, v: number) => number): Tensor {
  const r = uninitialized(gy.shape);
  const gd = gy.data, rd = r.data;
  for (let i = 0; i < rd.length; i++) rd[i] = f(gd[i]!, a[i]!);
  return r;
}

/** The gradient before a fused activation, from the gradient after it and the op's (activated) output: one pass. */
function throughActivation(gy: Tensor, out: Tensor, activation: Activation): Tensor {
  if (activation === 'none') return gy;
  const g = uninitialized(gy.shape);
  getBackend().activationBackward(out.data, gy.data, g.data, activation);
  return g;
}

/** conv2d's input, weight and bias gradients from the gradient of its (pre-activation) output. */
function conv2dGradients(gy: Tensor, [x, w, b]: readonly (Tensor | null)[], g: Conv2dGeometry): (Tensor | null)[] {
  // an empty batch: zero weight and bias gradients, without calling kernels that divide work by images
  if (g.n === 0) return [needs(x) ? empty(x.shape) : null, needs(w) ? empty(w.shape) : null, needs(b) ? empty(b.shape) : null];
  const be = getBackend();
  let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
  if (needs(x)) { gx = uninitialized(x.shape); be.conv2dBackwardInput(gy.data, w!.data, g, gx.data); }
  if (needs(w)) { gw = uninitialized(w.shape); be.conv2dBackwardWeight(x!.data, gy.data, g, gw.data); }
  if (needs(b)) { gb = uninitialized(b.shape); be.reduce('sum', gy.data, [g.n, g.cOut, g.outH * g.outW], [0, 2], gb.data); }
  return [gx, gw, gb];
}

const SQRT_HALF = Math.SQRT1_2, INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const vjp: { [K in keyof OpContexts]: Vjp<K> } = {
  binary(gyOut, out, [a, b], { op, activation }) {
    const gy = throughActivation(gyOut, out, activation ?? 'none');
    const ta = a!, tb = b!;
    let ga: Tensor | null = null, gb: Tensor | null = null;
    switch (op) {
      case 'add': ga = gy; gb = gy; break;
      case 'sub': ga = gy; gb = needs(tb) ? neg(gy) : null; break;
      case 'mul': ga = needs(ta) ? mul(gy, tb) : null; gb = needs(tb) ? mul(gy, ta) : null; break;
      case 'div': ga = needs(ta) ? div(gy, tb) : null; gb = needs(tb) ? neg(div(mul(gy, out), tb)) : null; break;
      case 'pow':
        // d/da a^b = b·a^(b−1); d/db a^b = a^b·log(a) (taken as 0 where a = 0, like PyTorch).
        ga = needs(ta) ? mul(gy, mul(tb, pow(ta, sub(tb, 1)))) : null;
        if (needs(tb)) {
          const logA = log(ta);
          for (let i = 0; i < logA.data.length; i++) if (ta.data.length === logA.data.length && ta.data[i] === 0) logA.data[i] = 0;
          gb = mul(gy, mul(out, logA));
        }
        break;
      case 'max': case 'min': {
        // torch.maximum's rule: the winner takes the gradient, a tie splits it equally, and where an operand is
        // NaN (no comparison holds) both sides get all of it: grad·(a == b ? ½ : 1), masked where a loses.
        const half = sub(1, mul(binary('eq', ta, tb), 0.5));
        const aLoses = op === 'max' ? binary('lt', ta, tb) : binary('gt', ta, tb);
        const bLoses = op === 'max' ? binary('gt', ta, tb) : binary('lt', ta, tb);
        ga = needs(ta) ? mul(gy, mul(half, sub(1, aLoses))) : null;
        gb = needs(tb) ? mul(gy, mul(half, sub(1, bLoses))) : null;
        break;
      }
      default:
        throw new Error(`backward: '${op}' has no gradient`);
    }
    return [ga && sumToShape(ga, ta.shape), gb && sumToShape(gb, tb.shape)];
  },

  neg: (gy) => [neg(gy)],
  exp: (gy, out) => [mul(gy, out)],
  log: (gy, _out, [x]) => [div(gy, x!)],
  sqrt: (gy, out) => [map2(gy, out.data, (g, y) => g / (2 * y))],
  abs: (gy, _out, [x]) => [map2(gy, x!.data, (g, v) => (v > 0 ? g : v < 0 ? -g : 0))],
  // Two backend passes (mask, product) beat one scalar JS loop over backend memory.
  // One pass (gy masked by out > 0), the same values as mul(gy, gt(out, 0)).
  relu: (gy, out) => [throughActivation(gy, out, 'relu')],
  sigmoid: (gy, out) => [map2(gy, out.data, (g, y) => g * y * (1 - y))],
  tanh: (gy, out) => [map2(gy, out.data, (g, y) => g * (1 - y * y))],
  // d/dx x·Φ(x) = Φ(x) + x·φ(x)
  gelu: (gy, _out, [x]) => [map2(gy, x!.data, (g, v) => g * (0.5 * (1 + erf(v * SQRT_HALF)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v)))],
  leakyRelu: (gy, _out, [x], { negativeSlope }) => [map2(gy, x!.data, (g, v) => (v > 0 ? g : g * negativeSlope))],
  // for x ≤ 0, d/dx alpha·(e^x − 1) = alpha·e^x = out + alpha
  // (NaN takes the second branch and stays NaN, as in PyTorch's vectorised kernel.)
  elu: (gy, out, [x], { alpha }) => {
    const r = map2(gy, x!.data, (g, v) => (v > 0 ? g : 0));
    for (let i = 0; i < r.data.length; i++) if (!(x!.data[i]! > 0)) r.data[i] = gy.data[i]! * (out.data[i]! + alpha);
    return [r];
  },
  clamp: (gy, _out, [x], { min, max }) => [map2(gy, x!.data, (g, v) => (v >= min && v <= max ? g : 0))],

  sum(gy, _out, [x], { axes }) {
    // Broadcast gy (reduced dims kept as size 1) back over x.
    const keptShape = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const gx = uninitialized(x!.shape);
    getBackend().binary('add', new Float32Array(1), [], gy.data, keptShape, gx.data, x!.shape);
    return [gx];
  },
  max(gy, _out, [x], { indices, dim }) {
    const gx = empty(x!.shape);
    if (dim < 0) { gx.data[indices[0]!] = gy.data[0]!; return [gx]; }
    const size = x!.shape[dim]!, inner = numelOf(x!.shape.slice(dim + 1)), outer = numelOf(x!.shape.slice(0, dim));
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) gx.data[(o * size + indices[o * inner + i]!) * inner + i] = gy.data[o * inner + i]!;
    return [gx];
  },

  reshape: (gy, _out, [x]) => [new Tensor(gy.data, x!.shape)],
  permute(gy, _out, _inputs, { dims }) {
    const inverse = dims.map((_, i) => dims.indexOf(i));
    return [permute(gy, inverse)];
  },
  narrow(gy, _out, [x], { dim, start }) {
    const gx = empty(x!.shape);
    const size = x!.shape[dim]!, length = gy.shape[dim]!;
    const inner = numelOf(x!.shape.slice(dim + 1)), outer = numelOf(x!.shape.slice(0, dim));
    for (let o = 0; o < outer; o++) gx.data.set(gy.data.subarray(o * length * inner, (o + 1) * length * inner), (o * size + start) * inner);
    return [gx];
  },
  concat(gy, _out, inputs, { dim }) {
    const total = gy.shape[dim]!, inner = numelOf(gy.shape.slice(dim + 1)), outer = numelOf(gy.shape.slice(0, dim));
    let offset = 0;
    return inputs.map((t) => {
      const chunk = t!.shape[dim]! * inner;
      let g: Tensor | null = null;
      if (needs(t)) {
        g = uninitialized(t.shape);
        for (let o = 0; o < outer; o++) g.data.set(gy.data.subarray(o * total * inner + offset, o * total * inner + offset + chunk), o * chunk);
      }
      offset += chunk;
      return g;
    });
  },
  pad(gy, _out, [x], { pads: [left, right, top, bottom] }) {
    // The inverse shift of the forward copy: gx[i, j] = gy[i + top, j + left].
    const gx = empty(x!.shape);
    // Without vertical padding every row is its own plane (this also covers 2-value pads of any rank).
    const w = x!.shape[x!.ndim - 1]!, h = top === 0 && bottom === 0 ? 1 : x!.shape[x!.ndim - 2]!;
    copyShiftedPlanes(gy.data, h + top + bottom, w + left + right, gx.data, h, w, -top, -left);
    return [gx];
  },

  matmul(gy, _out, [a, b]) {
    // ga = gy · bᵀ and gb = aᵀ · gy per output batch, accumulated where an operand was broadcast.
    const ta = a!, tb = b!, be = getBackend();
    const m = ta.shape[ta.ndim - 2]!, k = ta.shape[ta.ndim - 1]!, n = tb.shape[tb.ndim - 1]!;
    const { aIndex, bIndex } = matmulBatchPairs(ta.shape.slice(0, -2), tb.shape.slice(0, -2));
    const ga = needs(ta) ? empty(ta.shape) : null, gb = needs(tb) ? empty(tb.shape) : null;
    for (let i = 0; i < aIndex.length; i++) {
      if (ga) be.gemm(false, true, m, k, n, gy.data, i * m * n, tb.data, bIndex[i]! * k * n, ga.data, aIndex[i]! * m * k, true);
      if (gb) be.gemm(true, false, k, n, m, ta.data, aIndex[i]! * m * k, gy.data, i * m * n, gb.data, bIndex[i]! * k * n, true);
    }
    return [ga, gb];
  },
  linear(gyOut, out, [x, w, b], { activation }) {
    const gy = throughActivation(gyOut, out, activation);
    const [outF, inF] = w!.shape as [number, number];
    const rows = x!.numel / inF, be = getBackend();
    let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
    if (needs(x)) { gx = uninitialized(x.shape); be.gemm(false, false, rows, inF, outF, gy.data, 0, w!.data, 0, gx.data, 0, false); }
    if (needs(w)) { gw = uninitialized(w.shape); be.gemm(true, false, outF, inF, rows, gy.data, 0, x!.data, 0, gw.data, 0, false); }
    if (needs(b)) { gb = uninitialized(b.shape); be.reduce('sum', gy.data, [rows, outF], [0], gb.data); }
    return [gx, gw, gb];
  },

  conv2d(gyOut, out, inputs, { geometry, activation }) {
    return conv2dGradients(throughActivation(gyOut, out, activation), inputs, geometry);
  },
  // The activation's gradient at the pooled output (the winners' values), then to the winners: the bits of
  // maxPool2d's backward, then the activation's, then conv2d's (a window without a positive value gets 0 either way).
  conv2dMaxPool2x2(gyOut, out, inputs, { geometry: g, activation, pool, argmax }) {
    const gPooled = throughActivation(gyOut, out, activation);
    const gy = uninitialized([g.n, g.cOut, g.outH, g.outW]);
    getBackend().maxPool2dBackward(gPooled.data, argmax, pool, gy.data);
    return conv2dGradients(gy, inputs, g);
  },
  locallyConnected2d(gy, _out, [x, w, b], { geometry: g }) {
    const be = getBackend();
    let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
    if (needs(x)) { gx = uninitialized(x.shape); be.locallyConnected2dBackwardInput(gy.data, w!.data, g, gx.data); }
    if (needs(w)) { gw = uninitialized(w.shape); be.locallyConnected2dBackwardWeight(x!.data, gy.data, g, gw.data); }
    if (needs(b)) { gb = uninitialized(b.shape); be.reduce('sum', gy.data, [g.n, g.cOut * g.outH * g.outW], [0], gb.data); }
    return [gx, gw, gb];
  },
  maxPool2d(gy, _out, [x], { geometry, argmax }) {
    const gx = uninitialized(x!.shape);
    getBackend().maxPool2dBackward(gy.data, argmax, geometry, gx.data);
    return [gx];
  },
  avgPool2d(gy, _out, [x], { geometry, countIncludePad, divisorOverride }) {
    const gx = uninitialized(x!.shape);
    getBackend().avgPool2dBackward(gy.data, geometry, countIncludePad, divisorOverride, gx.data);
    return [gx];
  },

  batchNorm(gy, _out, [x, w, b], { mean, invStd, batchStats, n, c, hw }) {
    const gx = uninitialized(x!.shape), gWeight = new Float32Array(c), gBias = new Float32Array(c);
    getBackend().batchNormBackward(x!.data, gy.data, n, c, hw, mean, invStd, w ? w.data : null, batchStats, gx.data, gWeight, gBias);
    const wrap = (t: Tensor | null, d: Float32Array) => (needs(t) ? new Tensor(d, t.shape) : null);
    return [needs(x) ? gx : null, wrap(w!, gWeight), wrap(b!, gBias)];
  },
  dropout: (gy, _out, _inputs, { mask }) => [map2(gy, mask, (g, m) => g * m)],
  logSoftmax(gy, out) {
    // gx = gy − softmax · Σ gy (per row)
    const cols = out.shape[out.ndim - 1]!, rows = out.numel / Math.max(cols, 1);
    const gx = uninitialized(out.shape);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += gy.data[r * cols + j]!;
      for (let j = 0; j < cols; j++) gx.data[r * cols + j] = gy.data[r * cols + j]! - Math.exp(out.data[r * cols + j]!) * s;
    }
    return [gx];
  },
  softmaxCrossEntropy(gy, _out, [logits], { target, weight, labelSmoothing, reduction, totalWeight, lse }) {
    // gx = (softmax − smoothed one-hot) · scale per row, where scale carries the reduction and the incoming gradient.
    const [rows, cols] = logits!.shape as [number, number];
    const rowScale = new Float32Array(rows);
    if (reduction === 'none') rowScale.set(gy.data);
    else rowScale.fill(reduction === 'sum' ? gy.data[0]! : gy.data[0]! / totalWeight);
    const gx = empty(logits!.shape);
    getBackend().softmaxCrossEntropyBackward(logits!.data, lse, rows, cols, target, weight, labelSmoothing, rowScale, gx.data);
    return [gx];
  },
  nllLoss(gy, _out, [logProbs], { target, weight, reduction, totalWeight, ignoreIndex }) {
    const gx = empty(logProbs!.shape);
    const c = logProbs!.shape[1]!;
    for (let i = 0; i < target.length; i++) {
      if (target[i] === ignoreIndex) continue;
      const w = weight ? weight[target[i]!]! : 1;
      const g = reduction === 'none' ? gy.data[i]! : reduction === 'sum' ? gy.data[0]! : gy.data[0]! / totalWeight;
      gx.data[i * c + target[i]!] = -w * g;
    }
    return [gx];
  },
};

