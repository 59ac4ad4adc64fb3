/**
 * A small Inception network for 28x28 / 32x32 images: the "Inception (small)" of Zhang et al. (2017,
 * "Understanding deep learning requires rethinking generalization", appendix), a CIFAR-sized version of
 * GoogLeNet's idea:
 *
 * - ConvModule(c, k, s): k×k convolution with c channels and stride s ('same' padding for stride 1, none for
 *   stride 2), BatchNorm, ReLU;
 * - InceptionModule(c1, c3): ConvModule(c1, 1x1) and ConvModule(c3, 3x3) in parallel, concatenated;
 * - DownsampleModule(c3): ConvModule(c3, 3x3, stride 2) and a 3x3 stride-2 max pool in parallel, concatenated;
 *
 * stacked as Conv(96) - Inc(32,32) - Inc(32,48) - Down(80) - Inc(112,48) - Inc(96,64) - Inc(80,80) - Inc(48,96)
 * - Down(96) - Inc(176,160) - Inc(176,160) - global average pool - linear(336): 1,649,402 parameters for
 * 10 classes on 3-channel input, as in the paper's Table 1.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses]; 32x32 -> 15x15 -> 7x7 maps (28x28 -> 13x13 -> 6x6).
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { MaxPool2d } from '../nn/layers/pooling.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { add, concat, relu, reshape, globalAvgPool2d } from '../ops/index.js';
import { registerModel, type ResolvedModelOptions } from './registry.js';

/**
 * Conv (no bias) + BatchNorm with a learned shift but no learned scale + ReLU: the paper's TensorFlow code
 * uses `batch_norm` with its defaults `center=True, scale=False`, which is what makes its count 1,649,402.
 * Keys `conv.weight`, `bn.running_mean`, `bn.running_var`, `bn.num_batches_tracked`, `shift` [C].
 */
export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  readonly shift: Parameter;
  constructor(inChannels: number, outChannels: number, kernel: number, stride = 1) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inChannels, outChannels, kernel, { stride, padding: stride === 1 ? (kernel - 1) / 2 : 0, bias: false }));
    this.bn = this.registerModule('bn', new BatchNorm2d(outChannels, { affine: false }));
    this.shift = this.registerParameter('shift', Parameter.zeros([outChannels]));
  }
  override get typeName(): string { return 'ConvModule'; }
  forward(x: Tensor): Tensor {
    const c = this.shift.shape[0]!;
    return relu(add(this.bn.forward(this.conv.forward(x)), reshape(this.shift, [1, c, 1, 1])));
  }
}

/** 1x1 and 3x3 ConvModules in parallel, concatenated along channels (c1 + c3 outputs). */
export class SmallInceptionModule extends Module {
  readonly branch1x1: ConvModule;
  readonly branch3x3: ConvModule;
  constructor(inChannels: number, ch1: number, ch3: number) {
    super();
    this.branch1x1 = this.registerModule('branch1x1', new ConvModule(inChannels, ch1, 1));
    this.branch3x3 = this.registerModule('branch3x3', new ConvModule(inChannels, ch3, 3));
  }
  override get typeName(): string { return 'InceptionModule'; }
  forward(x: Tensor): Tensor {
    return concat([this.branch1x1.forward(x), this.branch3x3.forward(x)], 1);
  }
}

/** A stride-2 3x3 ConvModule and a stride-2 3x3 max pool in parallel (c3 + inChannels outputs). */
export class DownsampleModule extends Module {
  readonly conv: ConvModule;
  readonly pool: MaxPool2d;
  constructor(inChannels: number, ch3: number) {
    super();
    this.conv = this.registerModule('conv', new ConvModule(inChannels, ch3, 3, 2));
    this.pool = this.registerModule('pool', new MaxPool2d(3, { stride: 2 }));
  }
  override get typeName(): string { return 'DownsampleModule'; }
  forward(x: Tensor): Tensor {
    return concat([this.conv.forward(x), this.pool.forward(x)], 1);
  }
}

export class SmallInception extends Module {
  readonly features: Sequential;
  readonly classifier: Linear;
  constructor(options: Pick<ResolvedModelOptions, 'numClasses' | 'inChannels'>) {
    super();
    this.features = this.registerModule('features', Sequential.named([
      ['conv1', new ConvModule(options.inChannels, 96, 3)],
      ['inception1a', new SmallInceptionModule(96, 32, 32)],
      ['inception1b', new SmallInceptionModule(64, 32, 48)],
      ['downsample1', new DownsampleModule(80, 80)],
      ['inception2a', new SmallInceptionModule(160, 112, 48)],
      ['inception2b', new SmallInceptionModule(160, 96, 64)],
      ['inception2c', new SmallInceptionModule(160, 80, 80)],
      ['inception2d', new SmallInceptionModule(160, 48, 96)],
      ['downsample2', new DownsampleModule(144, 96)],
      ['inception3a', new SmallInceptionModule(240, 176, 160)],
      ['inception3b', new SmallInceptionModule(336, 176, 160)],
    ]));
    this.classifier = this.registerModule('classifier', new Linear(336, options.numClasses));
  }
  override get typeName(): string { return 'SmallInception'; }
  forward(x: Tensor): Tensor {
    return this.classifier.forward(globalAvgPool2d(this.features.forward(x)).flatten(1));
  }
}

registerModel({
  name: 'inception_small',
  description: 'Small Inception for 32x32/28x28 (Zhang et al. 2017): 1x1 + 3x3 Inception modules and conv/pool downsampling modules (1,649,402 parameters on 3x32x32)',
  contribution: 'Szegedy et al. (2014): multi-scale processing in parallel branches concatenated along channels; here at CIFAR scale.',
  create: (o) => new SmallInception(o),
});
