/** Shape ops: reshape (a view), permute/transpose, narrow/select, concat, pad. */
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { formatShape, normDim, numelOf, stridesOf } from '../tensor/shape.js';
import { empty, uninitialized } from './util.js';

/** Same data, new shape (one dimension may be -1). Shares storage like `torch.reshape` of a contiguous tensor. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const resolved = [...shape];
  const inferAt = resolved.indexOf(-1);
  if (resolved.filter((d) => d === -1).length > 1) throw new Error(`reshape: only one dimension can be -1, got ${formatShape(shape)}`);
  if (inferAt >= 0) {
    const known = numelOf(resolved.filter((d) => d !== -1));
    if (known === 0 || x.numel % known !== 0) throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} (${x.numel} elements) into ${formatShape(shape)}`);
    resolved[inferAt] = x.numel / known;
  }
  if (resolved.some((d) => !Number.isInteger(d) || d < 0) || numelOf(resolved) !== x.numel) {
    throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} (${x.numel} elements) into ${formatShape(shape)}`);
  }
  return record('reshape', [x], new Tensor(x.data, resolved), {});
}

/** Merge dimensions startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim(startDim, x.ndim, 'flatten'), e = normDim(endDim, x.ndim, 'flatten');
  if (s > e) throw new Error(`flatten: startDim (${startDim}) must not come after endDim (${endDim})`);
  const shape = [...x.shape.slice(0, s), numelOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Reorder dimensions (copies into a contiguous result). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const rank = x.ndim;
  const d = dims.map((v) => normDim(v, rank, 'permute'));
  if (d.length !== rank || new Set(d).size !== rank) throw new Error(`permute: dims ${formatShape(dims)} are not a permutation of ${rank} dimensions`);
  const outShape = d.map((i) => x.shape[i]!);
  const out = uninitialized(outShape);
  const inStrides = stridesOf(x.shape);
  const srcStride = d.map((i) => inStrides[i]!);
  const idx = new Array<number>(rank).fill(0);
  const xd = x.data, od = out.data;
  let src = 0;
  for (let i = 0; i < od.length; i++) {
    od[i] = xd[src]!;
    for (let k = rank - 1; k >= 0; k--) {
      idx[k]!++; src += srcStride[k]!;
      if (idx[k]! < outShape[k]!) break;
      src -= srcStride[k]! * outShape[k]!; idx[k] = 0;
    }
  }
  return record('permute', [x], out, { dims: d });
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const dims = x.shape.map((_, i) => i);
  const a = normDim(dim0, x.ndim, 'transpose'), b = normDim(dim1, x.ndim, 'transpose');
  [dims[a], dims[b]] = [dims[b]!, dims[a]!];
  return permute(x, dims);
}

/** Elements start..start+length-1 along `dim` (a copy). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim(dim, x.ndim, 'narrow');
  const size = x.shape[d]!;
  if (start < 0) start += size;
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > size) {
    throw new Error(`narrow: range [${start}, ${start + length}) is out of bounds for dimension ${dim} of size ${size} (shape ${formatShape(x.shape)})`);
  }
  const outShape = [...x.shape];
  outShape[d] = length;
  const out = uninitialized(outShape);
  const inner = numelOf(x.shape.slice(d + 1)), outer = numelOf(x.shape.slice(0, d));
  for (let o = 0; o < outer; o++) {
    out.data.set(x.data.subarray((o * size + start) * inner, (o * size + start + length) * inner), o * length * inner);
  }
  return record('narrow', [x], out, { dim: d, start });
}

/** Index one position of `dim`, removing that dimension. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim(dim, x.ndim, 'select');
  const size = x.shape[d]!;
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new Error(`select: index ${index} is out of range for dimension ${dim} of size ${size}`);
  }
  const shape = x.shape.filter((_, i) => i !== d);
  return reshape(narrow(x, d, index < 0 ? index + size : index, 1), shape);
}

/** Join tensors along `dim`; all other dimensions must match (DenseNet and Inception use this on channels). */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: expected at least one tensor');
  const first = tensors[0]!;
  const d = normDim(dim, first.ndim, 'concat');
  for (const [i, t] of tensors.entries()) {
    if (t.ndim !== first.ndim || t.shape.some((s, k) => k !== d && s !== first.shape[k])) {
      throw new Error(`concat: tensor ${i} has shape ${formatShape(t.shape)}, which does not match ${formatShape(first.shape)} outside dimension ${d}`);
    }
  }
  const total = tensors.reduce((s, t) => s + t.shape[d]!, 0);
  const outShape = [...first.shape];
  outShape[d] = total;
  const out = uninitialized(outShape);
  const inner = numelOf(first.shape.slice(d + 1)), outer = numelOf(first.shape.slice(0, d));
  let offset = 0;
  for (const t of tensors) {
    const chunk = t.shape[d]! * inner;
    for (let o = 0; o < outer; o++) out.data.set(t.data.subarray(o * chunk, (o + 1) * chunk), o * total * inner + offset);
    offset += chunk;
  }
  // A copy of the list: callers (DenseNet's blocks) keep appending to theirs, and the gradient must see only
  // the tensors this output was made from.
  return record('concat', [...tensors], out, { dim: d });
}

/** Constant padding of the last two dimensions: pads = [left, right, top, bottom] (PyTorch's F.pad order). */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length !== 2 && pads.length !== 4) throw new Error(`pad: expected [left, right] or [left, right, top, bottom], got ${formatShape(pads)}`);
  const [left, right, top, bottom] = [pads[0]!, pads[1]!, pads[2] ?? 0, pads[3] ?? 0];
  if (pads.length === 4 && x.ndim < 2) throw new Error(`pad: 4 padding values need at least a 2-D input, got shape ${formatShape(x.shape)}`);
  if (x.ndim < 1) throw new Error('pad: cannot pad a 0-d tensor');
  const h = pads.length === 4 ? x.shape[x.ndim - 2]! : 1, w = x.shape[x.ndim - 1]!;
  const oh = h + top + bottom, ow = w + left + right;
  if ([left, right, top, bottom].some((p) => !Number.isInteger(p)) || oh <= 0 || ow <= 0) {
    throw new Error(`pad: padding ${formatShape(pads)} is invalid for shape ${formatShape(x.shape)}`);
  }
  const outShape = pads.length === 4 ? [...x.shape.slice(0, -2), oh, ow] : [...x.shape.slice(0, -1), ow];
  const out = empty(outShape);
  if (value !== 0) out.data.fill(value);
  copyShiftedPlanes(x.data, h, w, out.data, oh, ow, top, left);
  return record('pad', [x], out, { pads: [left, right, top, bottom] });
}

/**
 * For each plane: to[i + dy, j + dx] = from[i, j] wherever both are in range. Constant padding (dy, dx ≥ 0),
 * cropping (negative) and the gradient of either (the inverse shift) are all this one copy.
 */
export function copyShiftedPlanes(from: Float32Array, fromH: number, fromW: number, to: Float32Array, toH: number, toW: number, dy: number, dx: number): void {
  const planes = from.length / (fromH * fromW);
  const j0 = Math.max(0, -dx), j1 = Math.min(fromW, toW - dx);
  if (j1 <= j0) return;
  for (let p = 0; p < planes; p++) {
    for (let i = Math.max(0, -dy); i < Math.min(fromH, toH - dy); i++) {
      const src = (p * fromH + i) * fromW, dst = (p * toH + i + dy) * toW + dx;
      to.set(from.subarray(src + j0, src + j1), dst + j0);
    }
  }
}
