/** Elementwise ops with broadcasting, and the activations. Gradients: src/autograd/gradients.ts. */
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { getBackend } from '../backend/registry.js';
import { ACTIVATIONS, type Activation, type BinaryOp, type UnaryOp } from '../backend/backend.js';
import { broadcastShapes, shapesEqual } from '../tensor/shape.js';
import { asTensor, uninitialized } from './util.js';

/** a (op) b with PyTorch broadcasting. Comparisons (gt, ge, lt, le, eq) return 0/1 floats and carry no gradient. */
export function binary(op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  const ta = asTensor(a), tb = asTensor(b);
  const out = uninitialized(broadcastShapes(ta.shape, tb.shape, op));
  getBackend().binary(op, ta.data, ta.shape, tb.data, tb.shape, out.data, out.shape);
  if (op === 'gt' || op === 'ge' || op === 'lt' || op === 'le' || op === 'eq') return out;
  return record('binary', [ta, tb], out, { op });
}

export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary('add', a, b);
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary('sub', a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary('mul', a, b);
export const div = (a: Tensor | number, b: Tensor | number): Tensor => binary('div', a, b);
export const pow = (a: Tensor | number, b: Tensor | number): Tensor => binary('pow', a, b);
/** Elementwise maximum (like `torch.maximum`); with a number, like `clamp(min=...)`. */
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary('max', a, b);
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor => binary('min', a, b);
export const gt = (a: Tensor | number, b: Tensor | number): Tensor => binary('gt', a, b);
export const lt = (a: Tensor | number, b: Tensor | number): Tensor => binary('lt', a, b);
export const eq = (a: Tensor | number, b: Tensor | number): Tensor => binary('eq', a, b);

/**
 * activation(a + b) as one op, for tensors of the same shape (a ResNet block's `relu(add(out, skip))`): the same
 * values and gradients as the two ops, in one pass over memory on a backend with `addActivation` (native). Operands
 * of different shapes run as the two ops.
 */
export function addActivation(a: Tensor, b: Tensor, activation: Activation): Tensor {
  if (!ACTIVATIONS.includes(activation)) throw new Error(`addActivation: activation must be one of ${ACTIVATIONS.map((n) => `'${n}'`).join(', ')}, got '${String(activation)}'`);
  if (!shapesEqual(a.shape, b.shape)) {
    const sum = add(a, b);
    return activation === 'none' ? sum : unary(activation, sum);
  }
  const out = uninitialized(a.shape);
  const be = getBackend();
  if (be.addActivation) be.addActivation(a.data, b.data, out.data, activation);
  else {
    be.binary('add', a.data, a.shape, b.data, b.shape, out.data, out.shape);
    if (activation !== 'none') be.biasActivation(out.data, null, 1, out.numel, activation);
  }
  return record('binary', [a, b], out, { op: 'add', activation });
}

type UnaryName = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'relu' | 'sigmoid' | 'tanh' | 'gelu';
function unary(op: UnaryName & UnaryOp, x: Tensor): Tensor {
  const out = uninitialized(x.shape);
  getBackend().unary(op, x.data, out.data);
  return record(op, [x], out, {});
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** GELU, exact form x·Φ(x) with the Gaussian CDF (PyTorch's default `approximate='none'`). */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);

/** max(0,x) + negativeSlope·min(0,x). */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  const out = uninitialized(x.shape);
  const xd = x.data, od = out.data;
  for (let i = 0; i < xd.length; i++) { const v = xd[i]!; od[i] = v > 0 ? v : v * negativeSlope; }
  return record('leakyRelu', [x], out, { negativeSlope });
}

/** x for x > 0, alpha·(exp(x) − 1) otherwise. */
export function elu(x: Tensor, alpha = 1): Tensor {
  const out = uninitialized(x.shape);
  const xd = x.data, od = out.data;
  for (let i = 0; i < xd.length; i++) { const v = xd[i]!; od[i] = v > 0 ? v : alpha * Math.expm1(v); }
  return record('elu', [x], out, { alpha });
}

/** Clamp into [min, max]; the gradient passes where the input was inside the range (inclusive, like PyTorch). */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (min > max) throw new Error(`clamp: min (${min}) is greater than max (${max})`);
  const out = uninitialized(x.shape);
  const xd = x.data, od = out.data;
  for (let i = 0; i < xd.length; i++) od[i] = Math.min(Math.max(xd[i]!, min), max);
  return record('clamp', [x], out, { min, max });
}

export function square(x: Tensor): Tensor {
  return mul(x, x);
}

/** A copy that stays on the tape. */
export function clone(x: Tensor): Tensor {
  const out = uninitialized(x.shape);
  out.data.set(x.data);
  return record('reshape', [x], out, {});
}
