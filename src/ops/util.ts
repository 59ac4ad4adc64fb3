/** Helpers shared by the ops: output allocation, scalar promotion, un-broadcasting gradients. */
import { Tensor } from '../tensor/tensor.js';
import { getBackend } from '../backend/registry.js';
import { formatShape, numelOf, type Shape } from '../tensor/shape.js';

/** A new zero-filled tensor whose storage comes from the current backend. */
export function empty(shape: Shape): Tensor {
  return new Tensor(getBackend().alloc(numelOf(shape)), shape);
}

/**
 * A new tensor with unspecified contents, for an output whose every element the caller then writes (a kernel that
 * overwrites its output, a full copy): on the wasm backend this skips zeroing the block. Anything that accumulates
 * into its output, or writes only some elements, takes `empty`.
 */
export function uninitialized(shape: Shape): Tensor {
  const be = getBackend(), n = numelOf(shape);
  return new Tensor(be.allocUninitialized ? be.allocUninitialized(n) : be.alloc(n), shape);
}

/** Promote a number to a 0-d tensor (never requiring grad). */
export function asTensor(x: Tensor | number): Tensor {
  return typeof x === 'number' ? new Tensor(Float32Array.of(x), []) : x;
}

/** Sum a gradient of a broadcast shape back down to `shape` (the VJP of broadcasting). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const reducedShape = g.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = uninitialized(reducedShape); // the reduction writes every element
  getBackend().reduce('sum', g.data, g.shape, axes, out.data);
  return new Tensor(out.data, shape);
}

export function assertRank(x: Tensor, ranks: number[], op: string, layout: string): void {
  if (!ranks.includes(x.ndim)) {
    throw new Error(`${op}: expected a ${ranks.join(' or ')}-D input ${layout}, got shape ${formatShape(x.shape)}`);
  }
}

export function pair(v: number | readonly [number, number], op: string, name: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!Number.isInteger(p[0]) || !Number.isInteger(p[1])) throw new Error(`${op}: ${name} must be an integer or a pair of integers, got ${JSON.stringify(v)}`);
  return p;
}
