/** Normalisation layers: `BatchNorm1d`, `BatchNorm2d`, `LocalResponseNorm`. */
import type { Tensor } from '../../tensor/tensor.js';
import { Tensor as TensorClass } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import { batchNorm, localResponseNorm } from '../../ops/index.js';
import { Module, Parameter, withModuleContext, pyBool, pyFloat } from '../module.js';

export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of each new batch in the running statistics (default 0.1); null = cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel scale `weight` (init 1) and shift `bias` (init 0) (default true). */
  affine?: boolean;
  /** Keep running mean/variance for eval mode (default true). */
  trackRunningStats?: boolean;
}

abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  /** Count of training batches seen (PyTorch's `num_batches_tracked`; float32 here, exact up to 2^24). */
  readonly numBatchesTracked: Tensor | null;

  protected abstract readonly ranks: readonly number[];
  protected abstract readonly layout: string;

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`BatchNorm: numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const c = numFeatures;
    this.weight = this.registerParameter('weight', this.affine ? Parameter.zeros([c]) : null);
    this.weight?.data.fill(1);
    this.bias = this.registerParameter('bias', this.affine ? Parameter.zeros([c]) : null);
    this.runningMean = this.registerBuffer('running_mean', this.trackRunningStats ? new TensorClass(new Float32Array(c), [c]) : null);
    this.runningVar = this.registerBuffer('running_var', this.trackRunningStats ? new TensorClass(new Float32Array(c).fill(1), [c]) : null);
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', this.trackRunningStats ? new TensorClass(new Float32Array(1), []) : null);
  }

  /** Reset running statistics to mean 0, variance 1, 0 batches. */
  resetRunningStats(): void {
    this.runningMean?.data.fill(0);
    this.runningVar?.data.fill(1);
    this.numBatchesTracked?.data.fill(0);
  }

  override describe(): string {
    return `${this.typeName}(${this.numFeatures})`;
  }

  forward(x: Tensor): Tensor {
    if (!this.ranks.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      this.fail(`expected input with ${this.numFeatures} channels ${this.layout}, got ${formatShape(x.shape)}`);
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.numBatchesTracked !== null) {
      this.numBatchesTracked.data[0]! += 1;
      if (this.momentum === null) factor = 1 / this.numBatchesTracked.data[0]!;
    }
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    const passStats = !this.training || this.trackRunningStats;
    return withModuleContext(this, () =>
      batchNorm(x, passStats ? this.runningMean : null, passStats ? this.runningVar : null, this.weight, this.bias, {
        training: useBatchStats, momentum: factor, eps: this.eps,
      }),
    );
  }

  override extraRepr(): string {
    const m = this.momentum === null ? 'None' : pyFloat(this.momentum);
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${m}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

/**
 * Batch normalisation over a 4-D input, as `torch.nn.BatchNorm2d`: per channel,
 * y = (x − E[x]) / sqrt(Var[x] + eps) · weight + bias, with batch statistics over (N, H, W) in training
 * (the running mean/variance are updated with `momentum`, using the unbiased variance) and the running ones in eval.
 *
 * **Shape:** [N, C, H, W] -> [N, C, H, W].
 *
 * State-dict keys: `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked` (as in PyTorch).
 */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];
  protected readonly layout = '[N,C,H,W]';
  override get typeName(): string {
    return 'BatchNorm2d';
  }
}

/**
 * Batch normalisation over a 2-D or 3-D input, as `torch.nn.BatchNorm1d` (statistics over N, or N and L).
 *
 * **Shape:** [N, C] -> [N, C], or [N, C, L] -> [N, C, L].
 */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];
  protected readonly layout = '[N,C] or [N,C,L]';
  override get typeName(): string {
    return 'BatchNorm1d';
  }
}

/**
 * Local response normalisation across channels (AlexNet), as `torch.nn.LocalResponseNorm`:
 * y_c = x_c / (k + alpha/size · Σ_{c' in a window of `size` channels around c} x_{c'}²)^beta.
 *
 * **Shape:** [N, C, H, W] -> [N, C, H, W].
 */
export class LocalResponseNorm extends Module {
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
  constructor(readonly size: number, options: { alpha?: number; beta?: number; k?: number } = {}) {
    super();
    this.alpha = options.alpha ?? 1e-4;
    this.beta = options.beta ?? 0.75;
    this.k = options.k ?? 1;
  }
  override get typeName(): string {
    return 'LocalResponseNorm';
  }
  forward(x: Tensor): Tensor {
    this.expectInput(x, 4, '[N,C,H,W]');
    return withModuleContext(this, () => localResponseNorm(x, { size: this.size, alpha: this.alpha, beta: this.beta, k: this.k }));
  }
  override extraRepr(): string {
    return `${this.size}, alpha=${pyFloat(this.alpha)}, beta=${pyFloat(this.beta)}, k=${pyFloat(this.k)}`;
  }
}
