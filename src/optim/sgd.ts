/** Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (PyTorch's update order). */
import { getBackend } from '../backend/registry.js';
import { Optimizer, type Param, type ParamGroupBase, type ParamGroupSpec } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Maximise the objective instead of minimising it (default false). */
  maximize: boolean;
}
export type SGDGroup = ParamGroupBase & SGDOptions;

/**
 * SGD, exactly as `torch.optim.SGD`. For each parameter with a gradient g:
 * ```
 * d = g + weightDecay * p
 * buf = (first step) d  :  momentum * buf + (1 - dampening) * d
 * d = nesterov ? d + momentum * buf : buf            (when momentum != 0)
 * p = p - lr * d
 * ```
 * ```ts
 * const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
 * ```
 */
export class SGD extends Optimizer<SGDGroup> {
  constructor(params: Iterable<Param> | ReadonlyArray<ParamGroupSpec<SGDOptions>>, options: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, ...options });
  }

  protected override validateGroup(g: SGDGroup): void {
    super.validateGroup(g);
    if (!(g.momentum >= 0)) throw new Error(`SGD: invalid momentum ${g.momentum} (must be >= 0)`);
    if (!(g.weightDecay >= 0)) throw new Error(`SGD: invalid weightDecay ${g.weightDecay} (must be >= 0)`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new Error(`SGD: nesterov needs momentum > 0 and dampening 0 (got momentum ${g.momentum}, dampening ${g.dampening})`);
  }

  step(): void {
    // The update itself is a backend kernel (the reference backend's loop is the readable version).
    const backend = getBackend();
    for (const g of this.paramGroups) {
      const { lr, momentum, dampening, nesterov, weightDecay, maximize } = g;
      const hyper = { lr, momentum, dampening, nesterov, weightDecay, maximize };
      for (const p of g.params) {
        if (p.grad === null) continue;
        if (momentum === 0) {
          backend.sgdStep(p.data, p.grad.data, null, false, hyper);
          continue;
        }
        const s = this.stateOf(p);
        const first = !(s.momentumBuffer instanceof Float32Array);
        const buf = this.buffer(s, 'momentumBuffer', p.data.length);
        backend.sgdStep(p.data, p.grad.data, buf, first, hyper);
      }
    }
  }
}
