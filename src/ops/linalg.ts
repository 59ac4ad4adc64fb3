/** Matrix products: matmul (2-D and batched) and linear (x·Wᵀ + b). */
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { getBackend } from '../backend/registry.js';
import { ACTIVATIONS, type Activation, type PackedGemmB } from '../backend/backend.js';
import { broadcastShapes, formatShape, numelOf } from '../tensor/shape.js';
import { reshape } from './shape.js';
import { uninitialized } from './util.js';

/**
 * For broadcast batch dimensions: which batch of a and which of b feed each output batch.
 * aBatch / bBatch are the leading (batch) dimensions of the operands; the output's are their broadcast.
 */
export function matmulBatchPairs(aBatch: readonly number[], bBatch: readonly number[]): { outBatch: number[]; aIndex: Int32Array; bIndex: Int32Array } {
  const outBatch = broadcastShapes(aBatch, bBatch, 'matmul');
  const count = numelOf(outBatch);
  const aIndex = new Int32Array(count), bIndex = new Int32Array(count);
  const rank = outBatch.length;
  const strideFor = (shape: readonly number[]) => {
    const strides = new Array<number>(rank).fill(0);
    let s = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      strides[rank - shape.length + i] = shape[i] === 1 ? 0 : s;
      s *= shape[i]!;
    }
    return strides;
  };
  const sa = strideFor(aBatch), sb = strideFor(bBatch);
  for (let i = 0; i < count; i++) {
    let rem = i, ia = 0, ib = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rem % outBatch[d]!;
      rem = Math.floor(rem / outBatch[d]!);
      ia += idx * sa[d]!; ib += idx * sb[d]!;
    }
    aIndex[i] = ia; bIndex[i] = ib;
  }
  return { outBatch, aIndex, bIndex };
}

/**
 * Matrix product with PyTorch's rules: a [..., M, K] @ b [..., K, N] -> [..., M, N], the batch dimensions
 * broadcast. 1-D operands are treated as a row (a) or a column (b) vector and that dimension is dropped.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmul: both operands need at least 1 dimension, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  if (a.ndim === 1 || b.ndim === 1) {
    const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]!]) : a;
    const b2 = b.ndim === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
    const r = matmul(a2, b2);
    const shape = [...r.shape];
    if (b.ndim === 1) shape.pop();
    if (a.ndim === 1) shape.splice(shape.length - (b.ndim === 1 ? 1 : 2), 1);
    return reshape(r, shape);
  }
  const m = a.shape[a.ndim - 2]!, k = a.shape[a.ndim - 1]!;
  const k2 = b.shape[b.ndim - 2]!, n = b.shape[b.ndim - 1]!;
  if (k !== k2) throw new Error(`matmul: inner dimensions differ: ${formatShape(a.shape)} @ ${formatShape(b.shape)} (${k} vs ${k2})`);
  const { outBatch, aIndex, bIndex } = matmulBatchPairs(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = uninitialized([...outBatch, m, n]);
  const be = getBackend();
  for (let i = 0; i < aIndex.length; i++) {
    be.gemm(false, false, m, n, k, a.data, aIndex[i]! * m * k, b.data, bIndex[i]! * k * n, out.data, i * m * n, false);
  }
  return record('matmul', [a, b], out, {});
}

/** Options of the fused ops `linear` and `conv2d`: an activation applied in the same output pass. */
export interface FusedActivationOptions {
  /**
   * Applied to the output in the pass that adds the bias, recorded as one autograd op (like tf.fused.matMul's
   * `activation`): the values and gradients equal those of the separate activation op. Default 'none'.
   */
  activation?: Activation;
}

/** Options of `linear`. */
export interface LinearOptions extends FusedActivationOptions {
  /**
   * `weight` packed by the current backend's `packGemmB(true, out, in, weight.data, 0)` (nn.Linear's inference
   * pack): the product then reads it instead of packing the weight again, with the same bits. Ignored when another
   * backend packed it.
   */
  packedWeight?: PackedGemmB | null;
}

/** Validate a user-given activation name (the option may come from untyped JS). */
export function checkActivation(op: string, activation: Activation | undefined): Activation {
  const a = activation ?? 'none';
  if (!ACTIVATIONS.includes(a)) throw new Error(`${op}: activation must be one of ${ACTIVATIONS.map((n) => `'${n}'`).join(', ')}, got '${String(a)}'`);
  return a;
}

/**
 * y = act(x·Wᵀ + b) for x [N, in] (or any [..., in]), W [out, in], b [out]; act is `options.activation`
 * (default 'none': PyTorch's F.linear). The bias and the activation are one pass over the output, and the
 * backward masks gy by the saved output in one pass before the matrix products.
 * Shape: (*, in) -> (*, out).
 *
 * @example linear(x, w, b, { activation: 'relu' })   // = relu(linear(x, w, b)), one op
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, options: LinearOptions = {}): Tensor {
  const activation = checkActivation('linear', options.activation);
  if (weight.ndim !== 2) throw new Error(`linear: weight must be 2-D [out, in], got ${formatShape(weight.shape)}`);
  const [outF, inF] = weight.shape as [number, number];
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(`linear: expected input with ${inF} features in the last dimension [*, ${inF}], got ${formatShape(x.shape)}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) throw new Error(`linear: bias must be [${outF}], got ${formatShape(bias.shape)}`);
  const rows = x.numel / inF;
  const out = uninitialized([...x.shape.slice(0, -1), outF]);
  const be = getBackend();
  const packed = options.packedWeight;
  if (packed && packed.backend === be.name && be.gemmPacked) {
    if (packed.n !== outF || packed.k !== inF) throw new Error(`linear: the packed weight is [${packed.n}, ${packed.k}], the weight ${formatShape(weight.shape)}`);
    be.gemmPacked(rows, x.data, 0, packed, out.data, 0, bias ? bias.data : null, activation);
  } else {
    be.gemm(false, true, rows, outF, inF, x.data, 0, weight.data, 0, out.data, 0, false);
    if (bias || activation !== 'none') be.biasActivation(out.data, bias ? bias.data : null, rows, outF, activation);
  }
  return record('linear', [x, weight, bias ?? null], out, { activation });
}
