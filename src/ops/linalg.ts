/** Matrix products: matmul (2-D and batched) and linear (x·Wᵀ + b). */
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { getBackend } from '../backend/registry.js';
import { formatShape } from '../tensor/shape.js';
import { empty } from './util.js';

/**
 * Matrix product. a is [M,K] or [B,M,K]; b is [K,N] or [B,K,N]. A 2-D b is shared by every batch of a 3-D a.
 * 1-D operands are treated as a row (a) or a column (b) vector and that dimension is dropped, like torch.matmul.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 1 || b.ndim === 1) {
    const a2 = a.ndim === 1 ? a.reshape([1, a.shape[0]!]) : a;
    const b2 = b.ndim === 1 ? b.reshape([b.shape[0]!, 1]) : b;
    const r = matmul(a2, b2);
    const shape = [...r.shape];
    if (b.ndim === 1) shape.pop();
    if (a.ndim === 1) shape.splice(shape.length - (b.ndim === 1 ? 1 : 2), 1);
    return r.reshape(shape);
  }
  if (a.ndim < 2 || a.ndim > 3 || b.ndim < 2 || b.ndim > 3) {
    throw new Error(`matmul: expected 2-D or 3-D operands, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const m = a.shape[a.ndim - 2]!, k = a.shape[a.ndim - 1]!;
  const k2 = b.shape[b.ndim - 2]!, n = b.shape[b.ndim - 1]!;
  const batchA = a.ndim === 3 ? a.shape[0]! : 1, batchB = b.ndim === 3 ? b.shape[0]! : 1;
  if (k !== k2) throw new Error(`matmul: inner dimensions differ: ${formatShape(a.shape)} @ ${formatShape(b.shape)} (${k} vs ${k2})`);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) {
    throw new Error(`matmul: batch sizes differ: ${formatShape(a.shape)} @ ${formatShape(b.shape)}`);
  }
  const batch = Math.max(batchA, batchB);
  const outShape = a.ndim === 3 || b.ndim === 3 ? [batch, m, n] : [m, n];
  const out = empty(outShape);
  const be = getBackend();
  for (let i = 0; i < batch; i++) {
    be.gemm(false, false, m, n, k, a.data, batchA === 1 ? 0 : i * m * k, b.data, batchB === 1 ? 0 : i * k * n, out.data, i * m * n, false);
  }
  return record('matmul', [a, b], out, {});
}

/**
 * y = x·Wᵀ + b for x [N, in] (or any [..., in]), W [out, in], b [out].
 * Shape: (*, in) -> (*, out).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2) throw new Error(`linear: weight must be 2-D [out, in], got ${formatShape(weight.shape)}`);
  const [outF, inF] = weight.shape as [number, number];
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(`linear: expected input with ${inF} features in the last dimension [*, ${inF}], got ${formatShape(x.shape)}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) throw new Error(`linear: bias must be [${outF}], got ${formatShape(bias.shape)}`);
  const rows = x.numel / inF;
  const out = empty([...x.shape.slice(0, -1), outF]);
  getBackend().gemm(false, true, rows, outF, inF, x.data, 0, weight.data, 0, out.data, 0, false);
  if (bias) {
    const od = out.data, bd = bias.data;
    for (let r = 0; r < rows; r++) for (let o = 0; o < outF; o++) od[r * outF + o]! += bd[o]!;
  }
  return record('linear', [x, weight, bias ?? null], out, {});
}
