/** Normalisation and regularisation: batch norm, dropout, local response norm. */
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { getBackend } from '../backend/registry.js';
import { formatShape, numelOf } from '../tensor/shape.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { uninitialized } from './util.js';
import { avgPool2d } from './pool.js';
import { add, div, mul, pow } from './elementwise.js';
import { pad, reshape } from './shape.js';

export interface BatchNormOptions {
  /** Use batch statistics and update the running ones (true in `train()` mode). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (PyTorch's convention), default 0.1. */
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over channel 1 of x [N, C], [N, C, L] or [N, C, H, W]:
 * y = (x − mean) / sqrt(var + eps) · weight + bias, statistics per channel over N and the spatial positions.
 * In training the batch's biased variance normalises and the unbiased one enters the running average; in
 * eval the running statistics are used. Running tensors are updated in place.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null, options: BatchNormOptions = {}): Tensor {
  if (x.ndim < 2 || x.ndim > 4) throw new Error(`batchNorm: expected input [N, C], [N, C, L] or [N, C, H, W], got ${formatShape(x.shape)}`);
  const n = x.shape[0]!, c = x.shape[1]!, hw = numelOf(x.shape.slice(2));
  const training = options.training ?? false, momentum = options.momentum ?? 0.1, eps = options.eps ?? 1e-5;
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && t.numel !== c) throw new Error(`batchNorm: expected input with ${c} channels to match ${name} of shape ${formatShape(t.shape)}; got input ${formatShape(x.shape)}`);
  }
  const batchStats = training || runningMean === null || runningVar === null;
  const be = getBackend();
  const mean = new Float32Array(c), invStd = new Float32Array(c);
  if (batchStats) {
    const count = n * hw;
    if (training && count <= 1) throw new Error(`batchNorm: expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`);
    const variance = new Float32Array(c);
    be.channelMoments(x.data, n, c, hw, mean, variance);
    for (let i = 0; i < c; i++) invStd[i] = 1 / Math.sqrt(variance[i]! + eps);
    if (training && runningMean && runningVar) {
      const rm = runningMean.data, rv = runningVar.data;
      for (let i = 0; i < c; i++) {
        rm[i] = (1 - momentum) * rm[i]! + momentum * mean[i]!;
        rv[i] = (1 - momentum) * rv[i]! + momentum * variance[i]! * (count / (count - 1));
      }
    }
  } else {
    mean.set(runningMean!.data);
    for (let i = 0; i < c; i++) invStd[i] = 1 / Math.sqrt(runningVar!.data[i]! + eps);
  }
  const out = uninitialized(x.shape);
  be.batchNormApply(x.data, n, c, hw, mean, invStd, weight ? weight.data : null, bias ? bias.data : null, out.data);
  return record('batchNorm', [x, weight, bias], out, { mean, invStd, batchStats, n, c, hw });
}

export interface DropoutOptions { p?: number; training?: boolean; generator?: Generator }

/** Zero each element with probability p and scale the rest by 1/(1−p) in training; identity in eval. */
export function dropout(x: Tensor, options: DropoutOptions = {}): Tensor {
  const p = options.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!(options.training ?? true) || p === 0) return x;
  const g = options.generator ?? defaultGenerator;
  const mask = new Float32Array(x.numel);
  const scale = p === 1 ? 0 : 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = g.uniform() < p ? 0 : scale;
  const out = uninitialized(x.shape);
  for (let i = 0; i < mask.length; i++) out.data[i] = x.data[i]! * mask[i]!;
  return record('dropout', [x], out, { mask });
}

export interface LocalResponseNormOptions { size: number; alpha?: number; beta?: number; k?: number }

/**
 * Local response normalisation across channels (AlexNet):
 * y = x / (k + alpha/size · Σ_{c' near c} x_{c'}²)^beta, the window being `size` channels centred on c.
 * Built from differentiable ops exactly as PyTorch does (pad channels, average-pool the squares).
 */
export function localResponseNorm(x: Tensor, options: LocalResponseNormOptions): Tensor {
  if (x.ndim !== 4) throw new Error(`localResponseNorm: expected a 4-D input [N, C, H, W], got ${formatShape(x.shape)}`);
  const { size, alpha = 1e-4, beta = 0.75, k = 1 } = options;
  if (!Number.isInteger(size) || size < 1) throw new Error(`localResponseNorm: size must be a positive integer, got ${size}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const squares = reshape(mul(x, x), [n, 1, c, h * w]);
  const padded = pad(squares, [0, 0, Math.floor(size / 2), Math.floor((size - 1) / 2)]);
  const windowMean = reshape(avgPool2d(padded, { kernelSize: [size, 1], stride: 1 }), [n, c, h, w]);
  const denom = pow(add(mul(windowMean, alpha), k), beta);
  return div(x, denom);
}
