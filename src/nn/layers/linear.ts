/** `Linear`, `Flatten`, `Identity`. */
import type { Tensor } from '../../tensor/tensor.js';
import type { Activation, PackedGemmB } from '../../backend/backend.js';
import { getBackend } from '../../backend/registry.js';
import { isGradEnabled } from '../../autograd/tape.js';
import { formatShape } from '../../tensor/shape.js';
import { linear, flatten } from '../../ops/index.js';
import { Module, Parameter, withModuleContext, pyBool } from '../module.js';
import { defaultLayerInit_ } from '../init.js';

/**
 * Fully connected layer y = x·Wᵀ + b, as `torch.nn.Linear`.
 *
 * **Shape:** input [*, in_features] -> output [*, out_features] (any leading dimensions).
 *
 * **Parameters:** `weight` [out_features, in_features], `bias` [out_features] (or null), both
 * U(−1/sqrt(in_features), 1/sqrt(in_features)) as in PyTorch.
 *
 * ```ts
 * const fc = new nn.Linear(400, 120);   // [N,400] -> [N,120]
 * ```
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /**
   * The weight packed once for the backend's GEMM by `packForInference()` (nn.optimizeForInference does it for its
   * copy), or null. Forwards read it instead of packing the weight at every call (same bits). It is dropped by a
   * forward that records the weight's gradient (the weight may be trained next) and by loadStateDict; other writes
   * to `weight.data` are not seen while it is set.
   */
  packedWeight: PackedGemmB | null = null;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    if (!Number.isInteger(inFeatures) || inFeatures < 1) throw new Error(`Linear: inFeatures must be a positive integer, got ${inFeatures}`);
    if (!Number.isInteger(outFeatures) || outFeatures < 1) throw new Error(`Linear: outFeatures must be a positive integer, got ${outFeatures}`);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter('weight', Parameter.zeros([outFeatures, inFeatures]));
    this.bias = this.registerParameter('bias', (options.bias ?? true) ? Parameter.zeros([outFeatures]) : null);
    this.resetParameters();
  }

  /** PyTorch's default initialisation (kaiming uniform with a = sqrt(5), bias U(±1/sqrt(fanIn))). */
  resetParameters(): void {
    defaultLayerInit_(this.weight, this.bias);
  }

  override get typeName(): string {
    return 'Linear';
  }

  /**
   * Pack the weight for the current backend's GEMM (a backend with `packGemmB`: native), for inference with weights
   * that no longer change. Returns whether it did (backends without packing run the plain product).
   */
  packForInference(): boolean {
    const be = getBackend();
    if (!be.packGemmB || !be.gemmPacked) return false;
    this.packedWeight = be.packGemmB(true, this.outFeatures, this.inFeatures, this.weight.data, 0);
    return true;
  }

  protected override parametersLoaded(): void {
    this.packedWeight = null;
  }
  override describe(): string {
    return `Linear(${this.inFeatures}->${this.outFeatures})`;
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithActivation(x, 'none');
  }

  /**
   * activation(this.forward(x)) as one fused op (F.linear's `activation`): the same values and gradients.
   * nn.Sequential calls it for a Linear directly followed by a ReLU (see src/nn/layers/fusion.ts).
   */
  forwardWithActivation(x: Tensor, activation: Activation): Tensor {
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) {
      const hint = x.ndim > 2 ? ' (flatten the input first, e.g. with nn.Flatten)' : '';
      this.fail(`expected input with ${this.inFeatures} features [N,${this.inFeatures}], got ${formatShape(x.shape)}${hint}`);
    }
    if (this.packedWeight !== null && isGradEnabled() && this.weight.requiresGrad) this.packedWeight = null;
    return withModuleContext(this, () => linear(x, this.weight, this.bias, { activation, packedWeight: this.packedWeight }));
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/**
 * Merge dimensions startDim..endDim (default 1..-1: everything but the batch), as `torch.nn.Flatten`.
 *
 * **Shape:** [N, C, H, W] -> [N, C·H·W] with the defaults.
 */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  override get typeName(): string {
    return 'Flatten';
  }
  forward(x: Tensor): Tensor {
    return withModuleContext(this, () => flatten(x, this.startDim, this.endDim));
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Returns its input unchanged (a placeholder, e.g. for a removed classifier head). **Shape:** any -> same. */
export class Identity extends Module {
  override get typeName(): string {
    return 'Identity';
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}
