/** `Dropout`. */
import type { Tensor } from '../../tensor/tensor.js';
import type { Generator } from '../../tensor/random.js';
import { dropout } from '../../ops/index.js';
import { Module, pyFloat } from '../module.js';

/**
 * In training mode, zero each element with probability `p` (default 0.5) and scale the rest by 1/(1−p);
 * in eval mode, the identity. Random numbers come from the seeded default generator unless one is given.
 *
 * **Shape:** any -> same.
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5, private readonly generator?: Generator) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability must be in [0, 1], got ${p}`);
  }
  override get typeName(): string { return 'Dropout'; }
  forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training, ...(this.generator ? { generator: this.generator } : {}) });
  }
  override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=False`; }
}
