/**
 * `lcnet`: the `vggsmall` topology with every Conv2d replaced by a LocallyConnected2d with the same kernel,
 * padding and channels: locality is kept, weight sharing is removed. On 1x28x28 it has 19,170,058 parameters
 * (vggsmall: 870,634) for the same multiply-accumulates, which is the weight-sharing ablation in numbers.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses] with [H, W] = `inputSize` (fixed: every position has its own
 * filters). Keys: `features.{0,2,5,7}.{weight,bias}` (weight [H_out·W_out, C_out, C_in, 3, 3], bias
 * [C_out, H_out, W_out]), `classifier.{0,2}.{weight,bias}`.
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { LocallyConnected2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { MaxPool2d } from '../nn/layers/pooling.js';
import { ReLU } from '../nn/layers/activation.js';
import { registerModel, type ResolvedModelOptions } from './registry.js';

export class LCNet extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  constructor(options: ResolvedModelOptions) {
    super();
    const [h, w] = options.inputSize;
    const h2 = Math.floor(h / 2), w2 = Math.floor(w / 2), h4 = Math.floor(h2 / 2), w4 = Math.floor(w2 / 2);
    if (h4 < 1 || w4 < 1) throw new Error(`lcnet: inputSize [${h}, ${w}] is too small (the feature map would be ${h4}x${w4})`);
    const lc = (inC: number, outC: number, size: [number, number]): LocallyConnected2d => new LocallyConnected2d(inC, outC, 3, { padding: 1, inputSize: size });
    this.features = this.registerModule('features', new Sequential(
      lc(options.inChannels, 32, [h, w]), new ReLU(), lc(32, 32, [h, w]), new ReLU(), new MaxPool2d(2),
      lc(32, 64, [h2, w2]), new ReLU(), lc(64, 64, [h2, w2]), new ReLU(), new MaxPool2d(2),
    ));
    this.classifier = this.registerModule('classifier', new Sequential(
      new Linear(64 * h4 * w4, 256), new ReLU(), new Linear(256, options.numClasses),
    ));
  }
  override get typeName(): string { return 'LCNet'; }
  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x).flatten(1));
  }
}

registerModel({
  name: 'lcnet',
  description: 'vggsmall with LocallyConnected2d instead of Conv2d: local 3x3 windows, no weight sharing (19,170,058 parameters on 28x28)',
  contribution: 'The weight-sharing ablation: the same locality as a CNN but a separate filter bank per position, so ~22x the parameters of vggsmall, the same arithmetic, and no translation equivariance.',
  create: (o) => new LCNet(o),
});
