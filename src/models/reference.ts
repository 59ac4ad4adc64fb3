/**
 * The three reference models used across the project (tests, benchmarks, the lab). Keep them exact:
 * with the defaults (1×28×28 input, 10 classes) they have 269,322 (mlp), 61,706 (lenet5) and
 * 870,634 (vggsmall) parameters. Layers sit in `features` / `classifier` Sequentials like torchvision,
 * so state-dict keys read `features.0.weight`.
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module, withModuleContext } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear, Flatten } from '../nn/layers/linear.js';
import { MaxPool2d } from '../nn/layers/pooling.js';
import { ReLU } from '../nn/layers/activation.js';
import { registerModel, type ResolvedModelOptions } from './registry.js';

function checkSize(model: string, what: string, h: number, w: number, inputSize: readonly [number, number]): void {
  if (h < 1 || w < 1) throw new Error(`${model}: inputSize [${inputSize[0]}, ${inputSize[1]}] is too small (${what} would be ${h}x${w})`);
}

/**
 * Multi-layer perceptron: Flatten, then 784-256-256-10 with ReLU (for 1×28×28 input). The baseline that
 * sees pixels without any notion of locality.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses]. Keys: `classifier.{0,2,4}.{weight,bias}`.
 */
export class MLP extends Module {
  readonly flatten: Flatten;
  readonly classifier: Sequential;
  constructor(options: ResolvedModelOptions, hidden: readonly number[] = [256, 256]) {
    super();
    const inFeatures = options.inChannels * options.inputSize[0] * options.inputSize[1];
    this.flatten = this.registerModule('flatten', new Flatten());
    const layers: Module[] = [];
    let prev = inFeatures;
    for (const h of hidden) {
      layers.push(new Linear(prev, h), new ReLU());
      prev = h;
    }
    layers.push(new Linear(prev, options.numClasses));
    this.classifier = this.registerModule('classifier', new Sequential(...layers));
  }
  override get typeName(): string { return 'MLP'; }
  forward(x: Tensor): Tensor {
    return this.classifier.forward(withModuleContext(this.flatten, () => this.flatten.forward(x)));
  }
}

/**
 * LeNet-5 (LeCun et al., 1998), in its common modern form: conv 1->6 5×5 pad 2, ReLU, maxpool 2,
 * conv 6->16 5×5, ReLU, maxpool 2, flatten, fc 400-120-84-10 with ReLU between.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses]; the flatten size is 16·((H/2 − 4)/2)·((W/2 − 4)/2) (400 for 28×28).
 */
export class LeNet5 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  constructor(options: ResolvedModelOptions) {
    super();
    const [h, w] = options.inputSize;
    const fh = Math.floor((Math.floor(h / 2) - 4) / 2), fw = Math.floor((Math.floor(w / 2) - 4) / 2);
    checkSize('lenet5', 'the feature map', fh, fw, options.inputSize);
    this.features = this.registerModule('features', new Sequential(
      new Conv2d(options.inChannels, 6, 5, { padding: 2 }), new ReLU(), new MaxPool2d(2),
      new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),
    ));
    this.classifier = this.registerModule('classifier', new Sequential(
      new Linear(16 * fh * fw, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, options.numClasses),
    ));
  }
  override get typeName(): string { return 'LeNet5'; }
  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x).flatten(1));
  }
}

/**
 * A small VGG-style network: two blocks of two 3×3 convolutions (32 then 64 channels, padding 1, ReLU)
 * each followed by maxpool 2, then fc 3136-256-10 with ReLU.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses]; the flatten size is 64·floor(floor(H/2)/2)·floor(floor(W/2)/2) (3136 for 28×28).
 */
export class VGGSmall extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  constructor(options: ResolvedModelOptions) {
    super();
    const [h, w] = options.inputSize;
    const fh = Math.floor(Math.floor(h / 2) / 2), fw = Math.floor(Math.floor(w / 2) / 2);
    checkSize('vggsmall', 'the feature map', fh, fw, options.inputSize);
    this.features = this.registerModule('features', new Sequential(
      new Conv2d(options.inChannels, 32, 3, { padding: 1 }), new ReLU(), new Conv2d(32, 32, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
      new Conv2d(32, 64, 3, { padding: 1 }), new ReLU(), new Conv2d(64, 64, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    ));
    this.classifier = this.registerModule('classifier', new Sequential(
      new Linear(64 * fh * fw, 256), new ReLU(), new Linear(256, options.numClasses),
    ));
  }
  override get typeName(): string { return 'VGGSmall'; }
  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x).flatten(1));
  }
}

registerModel({
  name: 'mlp',
  description: 'Multi-layer perceptron 784-256-256-10 with ReLU (269,322 parameters on 28x28 grey images)',
  contribution: 'The baseline without convolution: every pixel connects to every hidden unit, so there is no locality, no weight sharing and no built-in translation equivariance.',
  create: (o) => new MLP(o),
});

registerModel({
  name: 'lenet5',
  description: 'LeNet-5: two 5x5 conv + max-pool stages and a 400-120-84-10 classifier (61,706 parameters on 28x28)',
  contribution: 'LeCun et al. (1998): local receptive fields, shared weights and subsampling, trained end to end by backpropagation: far fewer parameters than an MLP and built-in translation equivariance.',
  create: (o) => new LeNet5(o),
});

registerModel({
  name: 'vggsmall',
  description: 'Small VGG: 2x(conv3x3 32) pool, 2x(conv3x3 64) pool, fc 3136-256-10 (870,634 parameters on 28x28)',
  contribution: 'Simonyan & Zisserman (2014): stacks of small 3x3 convolutions reach a large receptive field with fewer parameters and more nonlinearity than one large kernel.',
  create: (o) => new VGGSmall(o),
});
