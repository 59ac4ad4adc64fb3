/**
 * The tape: every differentiable op records a node on its output naming the op, its inputs and what its
 * vector-Jacobian product needs. `backward()` (in backward.ts) walks the nodes in reverse topological order
 * and looks each op up in the ONE gradient table, gradients.ts.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { OpContexts } from './contexts.js';

export type OpName = keyof OpContexts;

export interface TapeNode<K extends OpName = OpName> {
  readonly op: K;
  /** Inputs in the op's argument order; null for optional inputs that were absent (e.g. no bias). */
  inputs: readonly (Tensor | null)[];
  /** What the VJP needs; released (set to null) after backward unless the graph is retained. */
  saved: OpContexts[K] | null;
}

let gradEnabled = true;

/** Run `fn` without recording anything on the tape (like `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Re-enable recording inside a `noGrad` region. */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Attach a tape node to `output` when gradients are being recorded and any input needs a gradient.
 * Returns `output` so ops can `return record(...)`.
 */
export function record<K extends OpName>(op: K, inputs: readonly (Tensor | null)[], output: Tensor, saved: OpContexts[K]): Tensor {
  if (!gradEnabled) return output;
  if (!inputs.some((t) => t !== null && t.requiresGrad)) return output;
  output.requiresGrad = true;
  output.gradFn = { op, inputs, saved } as TapeNode;
  return output;
}
