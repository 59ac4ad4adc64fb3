/** Adam (L2 weight decay in the gradient) and AdamW (decoupled weight decay), as in PyTorch. */
import { getBackend } from '../backend/registry.js';
import { Optimizer, type Param, type ParamGroupBase, type ParamGroupSpec } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas: readonly [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay factor (default 1e-2). */
  weightDecay: number;
  /** Use the maximum of past second moments (AMSGrad; default false). */
  amsgrad: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  maximize: boolean;
}
export type AdamGroup = ParamGroupBase & AdamOptions;

type AdamCtorParams = Iterable<Param> | ReadonlyArray<ParamGroupSpec<AdamOptions>>;

abstract class AdamBase extends Optimizer<AdamGroup> {
  protected abstract readonly decoupled: boolean;

  protected override validateGroup(g: AdamGroup): void {
    super.validateGroup(g);
    const name = this.constructor.name;
    const [b1, b2] = g.betas;
    if (!(b1 >= 0 && b1 < 1)) throw new Error(`${name}: invalid beta1 ${b1} (must be in [0, 1))`);
    if (!(b2 >= 0 && b2 < 1)) throw new Error(`${name}: invalid beta2 ${b2} (must be in [0, 1))`);
    if (!(g.eps >= 0)) throw new Error(`${name}: invalid eps ${g.eps} (must be >= 0)`);
    if (!(g.weightDecay >= 0)) throw new Error(`${name}: invalid weightDecay ${g.weightDecay} (must be >= 0)`);
  }

  step(): void {
    // The update itself is a backend kernel (the reference backend's loop is the readable version).
    const backend = getBackend();
    for (const g of this.paramGroups) {
      const { lr, eps, weightDecay, amsgrad, maximize } = g;
      const [beta1, beta2] = g.betas;
      for (const p of g.params) {
        if (p.grad === null) continue;
        const n = p.data.length;
        const s = this.stateOf(p);
        const step = ((s.step as number | undefined) ?? 0) + 1;
        s.step = step;
        const m = this.buffer(s, 'expAvg', n);
        const v = this.buffer(s, 'expAvgSq', n);
        const vMax = amsgrad ? this.buffer(s, 'maxExpAvgSq', n) : null;
        backend.adamStep(p.data, p.grad.data, m, v, vMax,
          { lr, beta1, beta2, eps, weightDecay, decoupled: this.decoupled, maximize, step });
      }
    }
  }
}

/**
 * Adam (Kingma & Ba, 2015), exactly as `torch.optim.Adam`: with g = grad + weightDecay * p,
 * m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * ```ts
 * const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
 * ```
 */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: AdamCtorParams, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options });
  }
}

/**
 * AdamW (Loshchilov & Hutter, 2019), exactly as `torch.optim.AdamW`: first p *= 1 - lr * weightDecay,
 * then the Adam update without an L2 term. Default weightDecay 1e-2.
 */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: AdamCtorParams, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...options });
  }
}
