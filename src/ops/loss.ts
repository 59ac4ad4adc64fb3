/** Softmax family and losses. Cross-entropy = logSoftmax + nllLoss (with PyTorch's label smoothing). */
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { getBackend } from '../backend/registry.js';
import { formatShape, normDim } from '../tensor/shape.js';
import { empty } from './util.js';
import { abs, add, exp, log, maximum, mul, neg, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { permute, reshape } from './shape.js';

export type Reduction = 'mean' | 'sum' | 'none';

/** log(softmax(x)) along `dim`, computed stably (x − logsumexp). */
export function logSoftmax(x: Tensor, dim = -1, opName = 'logSoftmax'): Tensor {
  const d = normDim(dim, x.ndim, opName);
  if (d !== x.ndim - 1) {
    // Move `dim` last, apply, move back: both permutes are differentiable.
    const order = x.shape.map((_, i) => i).filter((i) => i !== d).concat(d);
    const inverse = order.map((_, i) => order.indexOf(i));
    return permute(logSoftmax(permute(x, order), -1), inverse);
  }
  const cols = x.shape[d]!, rows = x.numel / Math.max(cols, 1);
  const out = empty(x.shape);
  getBackend().logSoftmax(x.data, rows, cols, out.data);
  return record('logSoftmax', [x], out, { dim: d });
}

export function softmax(x: Tensor, dim = -1): Tensor {
  return exp(logSoftmax(x, dim, 'softmax'));
}

/** PyTorch's default ignore_index: no class has it, so nothing is ignored unless a target says -100. */
const DEFAULT_IGNORE_INDEX = -100;

function checkTarget(op: string, input: Tensor, target: Int32Array | readonly number[], ignoreIndex: number): Int32Array {
  if (input.ndim !== 2) {
    throw new Error(`${op}: expected input [N, C] (batch, classes)${op === 'crossEntropy' ? ' or [N, C, d1, ...]' : ''}, got ${formatShape(input.shape)}`);
  }
  const [n, c] = input.shape as [number, number];
  if (target.length !== n) throw new Error(`${op}: target has ${target.length} labels but the input batch has ${n} rows (input ${formatShape(input.shape)})`);
  if (!Number.isInteger(ignoreIndex)) throw new Error(`${op}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  const t = target instanceof Int32Array ? target : Int32Array.from(target);
  for (let i = 0; i < n; i++) {
    const v = t[i]!;
    if (!Number.isInteger(target[i]) || ((v < 0 || v >= c) && v !== ignoreIndex)) {
      throw new Error(`${op}: target ${target[i]} at position ${i} is out of range for ${c} classes`);
    }
  }
  return t;
}

export interface NllLossOptions {
  reduction?: Reduction;
  weight?: Tensor | null;
  /**
   * Rows whose target equals this index add nothing: loss 0, no gradient, and `mean` does not count them
   * (default -100, as in PyTorch; it may also be a real class index).
   */
  ignoreIndex?: number;
}

/** Negative log-likelihood of class indices given log-probabilities [N, C]; `mean` divides by the total target weight. */
export function nllLoss(logProbs: Tensor, target: Int32Array | readonly number[], options: NllLossOptions = {}): Tensor {
  const ignoreIndex = options.ignoreIndex ?? DEFAULT_IGNORE_INDEX;
  const t = checkTarget('nllLoss', logProbs, target, ignoreIndex);
  const [n, c] = logProbs.shape as [number, number];
  const reduction = options.reduction ?? 'mean';
  const weight = options.weight ? options.weight.data : null;
  if (weight && weight.length !== c) throw new Error(`nllLoss: weight must have one entry per class (${c}), got ${formatShape(options.weight!.shape)}`);
  const losses = new Float32Array(n);
  let totalWeight = 0;
  for (let i = 0; i < n; i++) {
    if (t[i] === ignoreIndex) continue;
    const w = weight ? weight[t[i]!]! : 1;
    losses[i] = -w * logProbs.data[i * c + t[i]!]!;
    totalWeight += w;
  }
  let out: Tensor;
  if (reduction === 'none') {
    out = empty([n]);
    out.data.set(losses);
  } else {
    let s = 0;
    for (let i = 0; i < n; i++) s += losses[i]!;
    out = empty([]);
    out.data[0] = reduction === 'sum' ? s : s / totalWeight;
  }
  return record('nllLoss', [logProbs], out, { target: t, weight, reduction, totalWeight, ignoreIndex });
}

export interface CrossEntropyOptions extends NllLossOptions {
  /** Mix the one-hot target with the uniform distribution: (1−ε)·onehot + ε/C. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits [N, C] against class indices, = nllLoss(logSoftmax(logits)), with PyTorch's label
 * smoothing: (1−ε)·nll + ε/C · Σ_c −w_c·log p_c (normalised like nll under `mean`).
 * Logits [N, C, d1, ...] (e.g. per-pixel classes) take targets [N, d1, ...] flattened row-major; `none` then
 * returns [N, d1, ...] and `mean` averages over every position, as in PyTorch.
 *
 * One fused op (backend kernels softmaxCrossEntropy / softmaxCrossEntropyBackward): the forward keeps only each
 * row's log-sum-exp, and the backward writes (softmax − smoothed one-hot)·scale in one pass. The class weight is a
 * constant (no gradient), as in PyTorch and as in nllLoss.
 */
export function crossEntropy(logits: Tensor, target: Int32Array | readonly number[], options: CrossEntropyOptions = {}): Tensor {
  if (logits.ndim > 2) {
    // Move the classes last and make every position a row: the permute is differentiable, the rest is the 2-D op.
    const [n, c] = logits.shape as [number, number];
    const positions = logits.shape.slice(2);
    const rows = n * positions.reduce((a, b) => a * b, 1);
    if (target.length !== rows) {
      throw new Error(`crossEntropy: logits ${formatShape(logits.shape)} need ${rows} targets ([N, d1, ...] flattened), got ${target.length}`);
    }
    const order = [0, ...positions.map((_, i) => i + 2), 1];
    const loss = crossEntropy(reshape(permute(logits, order), [rows, c]), target, options);
    return (options.reduction ?? 'mean') === 'none' ? reshape(loss, [n, ...positions]) : loss;
  }
  const ignoreIndex = options.ignoreIndex ?? DEFAULT_IGNORE_INDEX;
  let t = checkTarget('crossEntropy', logits, target, ignoreIndex);
  const eps = options.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  const reduction = options.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new Error(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got '${reduction as string}'`);
  }
  const [n, c] = logits.shape as [number, number];
  if (options.weight && options.weight.numel !== c) {
    throw new Error(`crossEntropy: weight must have one entry per class (${c}), got ${formatShape(options.weight.shape)}`);
  }
  // The kernels know an ignored row by a negative target (ignoreIndex may be a real class).
  if (t.includes(ignoreIndex)) t = t.map((v) => (v === ignoreIndex ? -1 : v));
  const weight = options.weight ? options.weight.data : null;
  const backend = getBackend();
  const losses = backend.alloc(n), lse = backend.alloc(2 * n);
  backend.softmaxCrossEntropy(logits.data, n, c, t, weight, eps, losses, lse);
  let totalWeight = 0;
  for (let i = 0; i < n; i++) if (t[i]! >= 0) totalWeight += weight ? weight[t[i]!]! : 1;
  let out: Tensor;
  if (reduction === 'none') out = new Tensor(losses, [n]);
  else {
    let s = 0;
    for (let i = 0; i < n; i++) s += losses[i]!;
    out = empty([]);
    out.data[0] = reduction === 'sum' ? s : s / totalWeight;
  }
  return record('softmaxCrossEntropy', [logits], out, { target: t, weight, labelSmoothing: eps, reduction, totalWeight, lse });
}

function reduce(x: Tensor, reduction: Reduction, op: string): Tensor {
  if (reduction === 'none') return x;
  if (reduction === 'sum') return sum(x);
  if (reduction === 'mean') return mean(x);
  throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got '${reduction as string}'`);
}

function checkSameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: input ${formatShape(a.shape)} and target ${formatShape(b.shape)} must have the same shape`);
  }
}

/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkSameShape('mseLoss', input, target);
  const d = sub(input, target);
  return reduce(mul(d, d), options.reduction ?? 'mean', 'mseLoss');
}

/**
 * Binary cross-entropy on logits, stable form: (1−t)·x + (1 + (pw−1)·t)·(log(1 + e^{−|x|}) + max(−x, 0)).
 */
export function bceWithLogits(logits: Tensor, target: Tensor, options: { reduction?: Reduction; posWeight?: Tensor | null } = {}): Tensor {
  checkSameShape('bceWithLogits', logits, target);
  const softplusNeg = add(log(add(exp(neg(abs(logits))), 1)), maximum(neg(logits), 0));
  const logWeight = options.posWeight ? add(mul(sub(options.posWeight, 1), target), 1) : null;
  const loss = add(mul(sub(1, target), logits), logWeight ? mul(logWeight, softplusNeg) : softplusNeg);
  return reduce(loss, options.reduction ?? 'mean', 'bceWithLogits');
}
