/**
 * When nn.Sequential may fuse a layer with the activation that follows it.
 *
 * A Conv2d or Linear directly followed by an nn.ReLU runs as one op (`forwardWithActivation(x, 'relu')`:
 * the layer's GEMM / convolution, then one pass adding the bias and applying ReLU in place; backward one pass
 * masking the gradient by the saved output). It gives bit-identical outputs and gradients (the same float32
 * additions and comparisons as the separate ops, see asm/fused.ts), so the only differences are what can be
 * observed between the two modules: the ReLU's forward is never called and the layer's pre-activation output
 * never exists as a tensor. The rule therefore fuses only when nothing can observe that:
 *
 * 1. `next` is an nn.ReLU (or a subclass) whose `forward` is ReLU's own, so nothing replaced or wrapped it
 *    (inspect's `summary` wraps every module's `forward` with an own property for its pass, a user may patch
 *    it; either disables fusion for that pair and the ReLU's call is seen as before);
 * 2. `layer` is an nn.Linear or nn.Conv2d whose `forward` is its class's own (not wrapped, not overridden by a
 *    subclass that might do something else before or after);
 * 3. both are consecutive children of the Sequential, so the pre-activation output goes nowhere else.
 *
 * The same rule extends to a 2x2 max pooling after the convolution (Conv2d, [ReLU,] MaxPool2d(2)): the three run as
 * `conv2dMaxPool2x2`, which in inference pools each image's convolution output while it is in cache and otherwise
 * is exactly conv2d (with the ReLU) then maxPool2d. Condition 1 applies to the MaxPool2d too, and it must be
 * 2x2 with stride 2, no padding, dilation 1 and floor mode (LeNet's and VGG's pooling).
 *
 * convkit's ReLU has no `inplace` flag (it always returns a new tensor), so no aliasing is lost. A caller that
 * wraps modules' `forward` (src/lab/probe.ts's `traceLayers`) turns the fusion off by that (condition 1) and sees
 * every output.
 */
import type { Activation } from '../../backend/backend.js';
import type { Tensor } from '../../tensor/tensor.js';
import { add, addActivation, relu } from '../../ops/index.js';
import type { Module } from '../module.js';
import { ReLU } from './activation.js';
import { Conv2d } from './conv.js';
import { Identity, Linear } from './linear.js';
import { MaxPool2d } from './pooling.js';

/** The activation `layer` may absorb from `next` (see the file comment), or null to run both as written. */
export function fusibleActivation(layer: Module, next: Module | undefined): Activation | null {
  if (!(next instanceof ReLU) || next.forward !== ReLU.prototype.forward) return null;
  if (layer instanceof Linear && layer.forward === Linear.prototype.forward) return 'relu';
  if (layer instanceof Conv2d && layer.forward === Conv2d.prototype.forward) return 'relu';
  return null;
}

/** A layer that can apply an activation in its own output pass. */
export type ActivationFusingLayer = Linear | Conv2d;

/** Whether `next` is a plain 2x2 / stride 2 max pooling that a Conv2d before it may absorb (see the file comment). */
export function fusibleMaxPool2x2(layer: Module, next: Module | undefined): boolean {
  if (!(layer instanceof Conv2d) || layer.forward !== Conv2d.prototype.forward) return false;
  if (!(next instanceof MaxPool2d) || next.forward !== MaxPool2d.prototype.forward) return false;
  const two = (v: number | readonly [number, number]): boolean => (typeof v === 'number' ? v === 2 : v[0] === 2 && v[1] === 2);
  const zero = (v: number | readonly [number, number]): boolean => (typeof v === 'number' ? v === 0 : v[0] === 0 && v[1] === 0);
  return two(next.kernelSize) && two(next.stride) && zero(next.padding) && next.dilation === 1 && !next.ceilMode;
}

/** Whether `module` is absent (the functional relu) or an nn.ReLU whose forward nothing replaced or wrapped. */
const plainReLU = (module: ReLU | undefined): boolean => module === undefined || module.forward === ReLU.prototype.forward;

/**
 * relu(norm(conv(x))): the convolution, batch norm, ReLU unit of ResNets and Inception, for model code written as
 * calls rather than an nn.Sequential. `reluModule` is the block's nn.ReLU (its forward runs, so hooks see it), or
 * omitted for the functional relu. As written in training and until nn.optimizeForInference folds `norm` into `conv`
 * (it becomes an nn.Identity); then, with the same rule as nn.Sequential's Conv2d, ReLU (the convolution's and the
 * ReLU's forward their classes' own), the ReLU runs in the convolution's output pass: the same values, one pass
 * over the activations fewer.
 */
export function convNormReLU(conv: Conv2d, norm: Module, x: Tensor, reluModule?: ReLU): Tensor {
  if (norm instanceof Identity && norm.forward === Identity.prototype.forward && conv.forward === Conv2d.prototype.forward && plainReLU(reluModule)) {
    return conv.forwardWithActivation(x, 'relu');
  }
  const y = norm.forward(conv.forward(x));
  return reluModule ? reluModule.forward(y) : relu(y);
}

/**
 * relu(a + b), a residual join, as one op (F.addActivation: the same values and gradients as the two) unless
 * `reluModule`'s forward was replaced or wrapped, which then sees its call.
 */
export function addReLU(a: Tensor, b: Tensor, reluModule?: ReLU): Tensor {
  if (plainReLU(reluModule)) return addActivation(a, b, 'relu');
  return reluModule!.forward(add(a, b));
}
