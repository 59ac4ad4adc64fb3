/**
 * AlexNet (Krizhevsky, Sutskever & Hinton 2012), exactly as torchvision's `alexnet` (the one-GPU variant of
 * "One weird trick", without LocalResponseNorm): 61,100,840 parameters for 1000 classes, 0.71 G MACs at
 * 224x224. State-dict keys (`features.0.weight`, `classifier.1.weight`, ...) and shapes equal torchvision's, so
 * its pretrained weights load one to one.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses]; any H, W >= 63 (an adaptive average pool makes the map 6x6).
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { MaxPool2d, AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { ReLU } from '../nn/layers/activation.js';
import { Dropout } from '../nn/layers/dropout.js';
import { registerModel, type ResolvedModelOptions } from './registry.js';

export class AlexNet extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(options: Pick<ResolvedModelOptions, 'numClasses' | 'inChannels'>, dropout = 0.5) {
    super();
    this.features = this.registerModule('features', new Sequential(
      new Conv2d(options.inChannels, 64, 11, { stride: 4, padding: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(64, 192, 5, { padding: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(192, 384, 3, { padding: 1 }), new ReLU(),
      new Conv2d(384, 256, 3, { padding: 1 }), new ReLU(),
      new Conv2d(256, 256, 3, { padding: 1 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
    ));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([6, 6]));
    this.classifier = this.registerModule('classifier', new Sequential(
      new Dropout(dropout), new Linear(256 * 6 * 6, 4096), new ReLU(),
      new Dropout(dropout), new Linear(4096, 4096), new ReLU(),
      new Linear(4096, options.numClasses),
    ));
  }

  override get typeName(): string { return 'AlexNet'; }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.avgpool.forward(this.features.forward(x)).flatten(1));
  }
}

registerModel({
  name: 'alexnet',
  description: 'AlexNet as in torchvision: 5 conv (11x11/4, 5x5, 3x3) + 3 fc with dropout, 61.1 M parameters, 0.71 G MACs at 224x224',
  contribution: 'Krizhevsky et al. (2012): a deep CNN trained on GPUs with ReLU and dropout won ImageNet by a wide margin, starting the deep-learning era.',
  defaultInputSize: [224, 224],
  defaults: { numClasses: 1000, inChannels: 3 },
  create: (o) => new AlexNet(o),
});
