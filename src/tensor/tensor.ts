/**
 * Tensor: a dense float32 array with a shape (row-major; images are NCHW), plus what autograd needs:
 * `requiresGrad`, the accumulated `grad`, and `gradFn`, the tape node of the op that made it.
 * Methods are thin wrappers over the functional ops in src/ops, so `x.add(y)` and `add(x, y)` are the same.
 */
import type { TapeNode } from '../autograd/tape.js';
import { formatShape, numelOf, type Shape } from './shape.js';
import * as ops from '../ops/index.js';
import { backward as runBackward } from '../autograd/backward.js';

export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** Whether gradients flow to (a leaf) or through (an op result) this tensor. */
  requiresGrad = false;
  /** Accumulated gradient, filled by `backward()` for leaves that require it. */
  grad: Tensor | null = null;
  /** The tape node of the op that produced this tensor; null for leaves. */
  gradFn: TapeNode | null = null;

  constructor(data: Float32Array, shape: Shape) {
    const n = numelOf(shape);
    if (data.length !== n) {
      throw new Error(`Tensor: data has ${data.length} elements but shape ${formatShape(shape)} needs ${n}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
  }

  get numel(): number { return this.data.length; }
  get ndim(): number { return this.shape.length; }
  /** Size of one dimension (negative counts from the end). */
  size(dim: number): number {
    const d = dim < 0 ? dim + this.shape.length : dim;
    const s = this.shape[d];
    if (s === undefined) throw new Error(`Tensor.size: dimension ${dim} out of range for shape ${formatShape(this.shape)}`);
    return s;
  }
  /** Whether this tensor was made by the user (not by an op that records a gradient). */
  get isLeaf(): boolean { return this.gradFn === null; }

  /** Mark a leaf as requiring a gradient (in place); returns this. */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf) throw new Error('requiresGrad_: only leaf tensors can change requiresGrad (use detach() first)');
    this.requiresGrad = flag;
    return this;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new Error(`item: tensor of shape ${formatShape(this.shape)} has ${this.data.length} elements, expected 1`);
    return this.data[0]!;
  }
  /** A copy of the data. */
  toFloat32Array(): Float32Array { return this.data.slice(); }
  /** Nested arrays (for printing and small tests). */
  toArray(): unknown {
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return this.data[off];
      const stride = numelOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }
  toString(): string { return `Tensor(shape=${formatShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`; }

  /** Same data, no history, no gradient. */
  detach(): Tensor { return new Tensor(this.data, this.shape); }
  /** A deep copy that stays on the tape (gradient flows back). */
  clone(): Tensor { return ops.clone(this); }

  /**
   * Reverse-mode autodiff from this tensor. A scalar gets seed 1; a non-scalar needs `gradient` of its shape.
   * Gradients accumulate into `.grad` of every leaf that requires one.
   * `interrupt` is called before each node's gradient; an error it throws abandons the pass (a Stop button).
   */
  backward(gradient?: Tensor, options: { retainGraph?: boolean; interrupt?: () => void } = {}): void {
    runBackward(this, gradient, options);
  }

  // ---- shape
  reshape(...shape: number[] | [number[]]): Tensor { return ops.reshape(this, flatArgs(shape)); }
  view(...shape: number[] | [number[]]): Tensor { return ops.reshape(this, flatArgs(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return ops.flatten(this, startDim, endDim); }
  transpose(dim0: number, dim1: number): Tensor { return ops.transpose(this, dim0, dim1); }
  permute(...dims: number[] | [number[]]): Tensor { return ops.permute(this, flatArgs(dims)); }
  /** Rows start..end (exclusive) of the first dimension, e.g. a slice of a batch. */
  slice(start: number, end?: number): Tensor { return ops.narrow(this, 0, start, (end ?? this.shape[0]!) - start); }
  /** Index the first dimension: `x.at(i)` has shape `shape.slice(1)`. */
  at(index: number): Tensor { return ops.select(this, 0, index); }

  // ---- arithmetic (broadcasting)
  add(other: Tensor | number): Tensor { return ops.add(this, other); }
  sub(other: Tensor | number): Tensor { return ops.sub(this, other); }
  mul(other: Tensor | number): Tensor { return ops.mul(this, other); }
  div(other: Tensor | number): Tensor { return ops.div(this, other); }
  pow(exponent: Tensor | number): Tensor { return ops.pow(this, exponent); }
  neg(): Tensor { return ops.neg(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  abs(): Tensor { return ops.abs(this); }
  relu(): Tensor { return ops.relu(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  tanh(): Tensor { return ops.tanh(this); }
  maximum(other: Tensor | number): Tensor { return ops.maximum(this, other); }
  minimum(other: Tensor | number): Tensor { return ops.minimum(this, other); }
  clamp(min?: number, max?: number): Tensor { return ops.clamp(this, min, max); }
  matmul(other: Tensor): Tensor { return ops.matmul(this, other); }

  // ---- reductions
  sum(dim?: number | number[], keepdim = false): Tensor { return ops.sum(this, dim, keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return ops.mean(this, dim, keepdim); }
  max(dim?: number, keepdim = false): Tensor { return ops.max(this, dim, keepdim); }
  min(dim?: number, keepdim = false): Tensor { return ops.min(this, dim, keepdim); }
  argmax(dim?: number, keepdim = false): Int32Array { return ops.argmax(this, dim, keepdim).indices; }
}

function flatArgs(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}
