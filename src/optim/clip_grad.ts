/** Gradient clipping, as `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`. */
import type { Param } from './optimizer.js';

/**
 * Scale the gradients of `params` in place so that their combined `normType`-norm is at most `maxNorm`,
 * and return the norm before clipping. Like PyTorch, the scale is maxNorm / (norm + 1e-6), capped at 1.
 * `normType` may be `Infinity` (the largest absolute value). Parameters without a gradient are skipped.
 * ```ts
 * loss.backward();
 * const norm = optim.clipGradNorm(net.parameters(), 1.0);
 * opt.step();
 * ```
 */
export function clipGradNorm(params: Iterable<Param>, maxNorm: number, normType = 2, options: { errorIfNonfinite?: boolean } = {}): number {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  if (!(normType > 0)) throw new Error(`clipGradNorm: normType must be > 0 (or Infinity), got ${normType}`);
  const grads: Float32Array[] = [];
  for (const p of params) if (p.grad !== null) grads.push(p.grad.data);
  if (grads.length === 0) return 0;
  let total = 0;
  if (normType === Infinity) {
    for (const g of grads) for (let i = 0; i < g.length; i++) total = Math.max(total, Math.abs(g[i]!));
  } else {
    // The norm of the per-tensor norms, as PyTorch computes it.
    let acc = 0;
    for (const g of grads) {
      let s = 0;
      for (let i = 0; i < g.length; i++) s += Math.abs(g[i]!) ** normType;
      acc += s;
    }
    total = acc ** (1 / normType);
  }
  if (!Number.isFinite(total) && options.errorIfNonfinite) {
    throw new Error(`clipGradNorm: the total norm of order ${normType} of the gradients is ${total}; the gradients cannot be clipped`);
  }
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  if (coef < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
  return total;
}

/** Clamp every gradient element of `params` to [-clipValue, clipValue], in place. */
export function clipGradValue(params: Iterable<Param>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new Error(`clipGradValue: clipValue must be >= 0, got ${clipValue}`);
  for (const p of params) {
    if (p.grad === null) continue;
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) g[i] = Math.min(clipValue, Math.max(-clipValue, g[i]!));
  }
}
