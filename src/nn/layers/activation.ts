/** Activation layers: `ReLU`, `LeakyReLU`, `ELU`, `GELU`, `Sigmoid`, `Tanh`, `Softmax`, `LogSoftmax`. All keep the shape. */
import type { Tensor } from '../../tensor/tensor.js';
import { relu, leakyRelu, elu, gelu, sigmoid, tanh, softmax, logSoftmax } from '../../ops/index.js';
import { Module, withModuleContext, pyFloat } from '../module.js';

/** max(0, x). **Shape:** any -> same. */
export class ReLU extends Module {
  override get typeName(): string { return 'ReLU'; }
  forward(x: Tensor): Tensor { return relu(x); }
}

/** max(0, x) + negativeSlope · min(0, x) (default slope 0.01). **Shape:** any -> same. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) { super(); }
  override get typeName(): string { return 'LeakyReLU'; }
  forward(x: Tensor): Tensor { return leakyRelu(x, this.negativeSlope); }
  override extraRepr(): string { return `negative_slope=${pyFloat(this.negativeSlope)}`; }
}

/** x for x > 0, alpha · (exp(x) − 1) otherwise (default alpha 1). **Shape:** any -> same. */
export class ELU extends Module {
  constructor(readonly alpha = 1) { super(); }
  override get typeName(): string { return 'ELU'; }
  forward(x: Tensor): Tensor { return elu(x, this.alpha); }
  override extraRepr(): string { return `alpha=${pyFloat(this.alpha)}`; }
}

/** x · Φ(x), Φ the standard normal CDF (the exact, erf form). **Shape:** any -> same. */
export class GELU extends Module {
  override get typeName(): string { return 'GELU'; }
  forward(x: Tensor): Tensor { return gelu(x); }
  override extraRepr(): string { return `approximate='none'`; }
}

/** 1 / (1 + exp(−x)). **Shape:** any -> same. */
export class Sigmoid extends Module {
  override get typeName(): string { return 'Sigmoid'; }
  forward(x: Tensor): Tensor { return sigmoid(x); }
}

/** tanh(x). **Shape:** any -> same. */
export class Tanh extends Module {
  override get typeName(): string { return 'Tanh'; }
  forward(x: Tensor): Tensor { return tanh(x); }
}

/** exp(x_i) / Σ_j exp(x_j) along `dim` (default -1, the last). **Shape:** any -> same. */
export class Softmax extends Module {
  constructor(readonly dim = -1) { super(); }
  override get typeName(): string { return 'Softmax'; }
  forward(x: Tensor): Tensor { return withModuleContext(this, () => softmax(x, this.dim)); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

/** log(softmax(x)) along `dim` (default -1), computed stably. **Shape:** any -> same. */
export class LogSoftmax extends Module {
  constructor(readonly dim = -1) { super(); }
  override get typeName(): string { return 'LogSoftmax'; }
  forward(x: Tensor): Tensor { return withModuleContext(this, () => logSoftmax(x, this.dim)); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}
