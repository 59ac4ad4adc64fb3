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
 * convkit's ReLU has no `inplace` flag (it always returns a new tensor), so no aliasing is lost. Callers that run
 * the modules one by one (src/lab/probe.ts's `traceLayers`) call each module's `forward` and see every output.
 */
import type { Activation } from '../../backend/backend.js';
import type { Module } from '../module.js';
import { ReLU } from './activation.js';
import { Conv2d } from './conv.js';
import { Linear } from './linear.js';

/** The activation `layer` may absorb from `next` (see the file comment), or null to run both as written. */
export function fusibleActivation(layer: Module, next: Module | undefined): Activation | null {
  if (!(next instanceof ReLU) || next.forward !== ReLU.prototype.forward) return null;
  if (layer instanceof Linear && layer.forward === Linear.prototype.forward) return 'relu';
  if (layer instanceof Conv2d && layer.forward === Conv2d.prototype.forward) return 'relu';
  return null;
}

/** A layer that can apply an activation in its own output pass. */
export type ActivationFusingLayer = Linear | Conv2d;
