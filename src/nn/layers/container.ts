/** Containers: `Sequential`. */
import type { Tensor } from '../../tensor/tensor.js';
import { Module, withModuleContext } from '../module.js';
import { fusibleActivation, fusibleMaxPool2x2, type ActivationFusingLayer } from './fusion.js';
import type { Conv2d } from './conv.js';

/**
 * A chain of modules applied in order; children are named '0', '1', ... (so state-dict keys read
 * `features.0.weight`), or by the names given to `Sequential.named`.
 *
 * **Shape:** whatever the chain maps: input of the first module -> output of the last.
 *
 * ```ts
 * const features = new nn.Sequential(new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2));
 * features.at(0);         // the Conv2d
 * features.length;        // 3
 * ```
 * An error inside a child's forward is re-thrown naming that child and its path (`Conv2d(1->6) in features.0: ...`).
 *
 * A Conv2d or Linear directly followed by a ReLU runs as one fused op, with bit-identical values and gradients,
 * unless something observes either module's forward (src/nn/layers/fusion.ts has the exact rule).
 */
export class Sequential extends Module {
  private readonly items: Module[] = [];

  constructor(...modules: Module[]) {
    super();
    for (const m of modules) this.append(m);
  }

  /** A Sequential whose children have the given names (like PyTorch's `OrderedDict` form). */
  static named(entries: Iterable<readonly [string, Module]>): Sequential {
    const s = new Sequential();
    for (const [name, m] of entries) {
      s.registerModule(name, m);
      s.items.push(m);
    }
    return s;
  }

  override get typeName(): string {
    return 'Sequential';
  }

  /** Add a module at the end (named by its index); returns this. */
  append(module: Module): this {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  /** The i-th module (negative counts from the end). */
  at<M extends Module = Module>(index: number): M {
    const i = index < 0 ? index + this.items.length : index;
    const m = this.items[i];
    if (m === undefined) throw new RangeError(`${this.where()}: index ${index} is out of range for ${this.items.length} modules`);
    return m as M;
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): IterableIterator<Module> {
    return this.items[Symbol.iterator]();
  }

  forward(x: Tensor): Tensor {
    let y = x;
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      const m = items[i]!;
      const activation = fusibleActivation(m, items[i + 1]);
      const poolAt = activation !== null ? i + 2 : i + 1;
      if (fusibleMaxPool2x2(m, items[poolAt])) {
        // Conv2d, [ReLU,] MaxPool2d(2) as conv2dMaxPool2x2; the ReLU and the pooling are consumed.
        const conv = m as Conv2d;
        y = withModuleContext(m, () => conv.forwardWithMaxPool2x2(y, activation ?? 'none'));
        i = poolAt;
      } else if (activation !== null) {
        // The layer and the ReLU after it as one op; the ReLU is consumed.
        const layer = m as ActivationFusingLayer;
        y = withModuleContext(m, () => layer.forwardWithActivation(y, activation));
        i++;
      } else {
        y = withModuleContext(m, () => m.forward(y));
      }
    }
    return y;
  }
}
