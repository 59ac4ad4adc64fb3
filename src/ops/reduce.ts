/** Reductions: sum, mean, max/min (over one dimension or all), argmax. */
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { getBackend } from '../backend/registry.js';
import { normDim, numelOf } from '../tensor/shape.js';
import { uninitialized } from './util.js';
import { mul } from './elementwise.js';

function axesOf(x: Tensor, dim: number | readonly number[] | undefined, op: string): number[] {
  if (dim === undefined) return x.shape.map((_, i) => i);
  const dims = (typeof dim === 'number' ? [dim] : [...dim]).map((d) => normDim(d, x.ndim, op));
  return [...new Set(dims)].sort((a, b) => a - b);
}

function keptShape(x: Tensor, axes: number[], keepdim: boolean): number[] {
  return keepdim ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
}

/** Sum over `dim` (a dimension, a list, or all when omitted). */
export function sum(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const axes = axesOf(x, dim, 'sum');
  const out = uninitialized(keptShape(x, axes, keepdim));
  if (x.ndim === 0) out.data[0] = x.data[0]!;
  else getBackend().reduce('sum', x.data, x.shape, axes, out.data);
  return record('sum', [x], out, { axes });
}

/** Mean over `dim` (a dimension, a list, or all when omitted). */
export function mean(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const axes = axesOf(x, dim, 'mean');
  const count = numelOf(axes.map((a) => x.shape[a]!));
  return mul(sum(x, axes, keepdim), 1 / count);
}

function extremum(kind: 'max' | 'min', x: Tensor, dim: number | undefined, keepdim: boolean): { values: Tensor; indices: Int32Array; shape: number[] } {
  if (x.numel === 0) throw new Error(`${kind}: cannot reduce an empty tensor`);
  const flat = dim === undefined;
  const d = flat ? 0 : normDim(dim, x.ndim, kind);
  const size = flat ? x.numel : x.shape[d]!;
  const inner = flat ? 1 : numelOf(x.shape.slice(d + 1));
  const outer = flat ? 1 : numelOf(x.shape.slice(0, d));
  const shape = flat ? (keepdim ? x.shape.map(() => 1) : []) : keepdim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
  const values = uninitialized(shape);
  const indices = new Int32Array(outer * inner);
  const xd = x.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = xd[o * size * inner + i]!, bestK = 0;
      for (let k = 1; k < size; k++) {
        const v = xd[(o * size + k) * inner + i]!;
        if (Number.isNaN(best)) break;
        if (kind === 'max' ? v > best || Number.isNaN(v) : v < best || Number.isNaN(v)) { best = v; bestK = k; }
      }
      values.data[o * inner + i] = best;
      indices[o * inner + i] = bestK;
    }
  }
  return { values, indices, shape };
}

/** Maximum over `dim` (values only; see `argmax` for positions), or over all elements when `dim` is omitted. */
export function max(x: Tensor, dim?: number, keepdim = false): Tensor {
  const r = extremum('max', x, dim, keepdim);
  const d = dim === undefined ? -1 : normDim(dim, x.ndim, 'max');
  return record('max', [x], r.values, { indices: r.indices, dim: d, keepdim });
}

export function min(x: Tensor, dim?: number, keepdim = false): Tensor {
  const r = extremum('min', x, dim, keepdim);
  const d = dim === undefined ? -1 : normDim(dim, x.ndim, 'min');
  return record('max', [x], r.values, { indices: r.indices, dim: d, keepdim });
}

/** Positions of the maximum along `dim` (first on ties), or the flat position over all elements. */
export function argmax(x: Tensor, dim?: number, keepdim = false): { indices: Int32Array; shape: number[] } {
  const r = extremum('max', x, dim, keepdim);
  return { indices: r.indices, shape: r.shape };
}

export function argmin(x: Tensor, dim?: number, keepdim = false): { indices: Int32Array; shape: number[] } {
  const r = extremum('min', x, dim, keepdim);
  return { indices: r.indices, shape: r.shape };
}
