/** Creating tensors: from data, constants, ranges and seeded random numbers. */
import { Tensor } from './tensor.js';
import { checkShape, formatShape, numelOf, type Shape } from './shape.js';
import { defaultGenerator, type Generator } from './random.js';

type Nested = number | readonly Nested[];

function flattenNested(data: Nested, shape: number[], out: number[], depth: number): void {
  if (typeof data === 'number') {
    if (depth !== shape.length && shape.length > 0) throw new Error('tensor: ragged nested array');
    out.push(data);
    return;
  }
  if (shape.length === depth) shape.push(data.length);
  else if (shape[depth] !== data.length) throw new Error(`tensor: ragged nested array (dimension ${depth} has sizes ${shape[depth]} and ${data.length})`);
  for (const d of data) flattenNested(d, shape, out, depth + 1);
}

/**
 * A tensor from data. `tensor([[1, 2], [3, 4]])` infers the shape; `tensor(float32Array, [2, 2])` uses the
 * array directly (no copy); a flat number array with a shape is copied.
 */
export function tensor(data: Nested | Float32Array | ArrayLike<number>, shape?: Shape, options: { requiresGrad?: boolean } = {}): Tensor {
  let t: Tensor;
  if (data instanceof Float32Array) {
    t = new Tensor(data, shape ?? [data.length]);
  } else if (typeof data === 'number') {
    t = new Tensor(Float32Array.of(data), shape ?? []);
  } else if (shape !== undefined && !Array.isArray((data as ArrayLike<Nested>)[0])) {
    checkShape(shape, 'tensor');
    const arr = Float32Array.from(data as ArrayLike<number>);
    if (arr.length !== numelOf(shape)) throw new Error(`tensor: ${arr.length} values do not fill shape ${formatShape(shape)}`);
    t = new Tensor(arr, shape);
  } else {
    const inferred: number[] = [];
    const flat: number[] = [];
    flattenNested(data as Nested, inferred, flat, 0);
    t = new Tensor(Float32Array.from(flat), shape ?? inferred);
  }
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

export function full(shape: Shape, value: number, options: { requiresGrad?: boolean } = {}): Tensor {
  checkShape(shape, 'full');
  const t = new Tensor(new Float32Array(numelOf(shape)).fill(value), shape);
  t.requiresGrad = options.requiresGrad ?? false;
  return t;
}
export const zeros = (shape: Shape, options: { requiresGrad?: boolean } = {}): Tensor => full(shape, 0, options);
export const ones = (shape: Shape, options: { requiresGrad?: boolean } = {}): Tensor => full(shape, 1, options);
export const zerosLike = (t: Tensor): Tensor => zeros(t.shape);
export const onesLike = (t: Tensor): Tensor => ones(t.shape);

/** Values start, start+step, ... below end (like `torch.arange`). */
export function arange(start: number, end?: number, step = 1): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

export interface RandomOptions { requiresGrad?: boolean; generator?: Generator }

/** Standard normal samples from the seeded generator (see `manualSeed`). */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  checkShape(shape, 'randn');
  const g = options.generator ?? defaultGenerator;
  const data = new Float32Array(numelOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = g.normal();
  const t = new Tensor(data, shape);
  t.requiresGrad = options.requiresGrad ?? false;
  return t;
}

/** Uniform samples in [low, high) from the seeded generator. */
export function rand(shape: Shape, options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkShape(shape, 'rand');
  const g = options.generator ?? defaultGenerator;
  const low = options.low ?? 0, high = options.high ?? 1;
  const data = new Float32Array(numelOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * g.uniform();
  const t = new Tensor(data, shape);
  t.requiresGrad = options.requiresGrad ?? false;
  return t;
}
