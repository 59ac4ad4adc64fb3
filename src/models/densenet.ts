/**
 * DenseNet (Huang et al. 2016), exactly as torchvision: `densenet121` (blocks 6-12-24-16) and `densenet169`
 * (6-12-32-32), growth rate 32, bottleneck width 4·32, compression 0.5. State-dict keys
 * (`features.denseblock1.denselayer1.norm1.weight`, `features.transition1.conv.weight`, `classifier.bias`, ...)
 * and shapes equal torchvision's (torchvision's pretrained files use an older `norm.1` spelling that its
 * loader renames to `norm1`; export with tools/export_torch_weights.py, which saves the model's own keys).
 *
 * Also DenseNet-BC for 28x28 / 32x32 images (Huang et al.'s CIFAR networks): a 3x3 stem with 2k channels,
 * three dense blocks of (depth − 4) / 6 bottleneck layers, transitions that halve channels and size,
 * no stem pooling: `densenet_bc100` (L = 100, k = 12, 769,162 parameters for 10 classes: the paper's 0.8 M)
 * and the quicker `densenet_bc40` (L = 40, k = 12).
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses].
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { MaxPool2d, AvgPool2d } from '../nn/layers/pooling.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { ReLU } from '../nn/layers/activation.js';
import { Dropout } from '../nn/layers/dropout.js';
import { kaimingNormal_, zeros_ } from '../nn/init.js';
import { concat, relu, adaptiveAvgPool2d } from '../ops/index.js';
import { registerModel, type ResolvedModelOptions } from './registry.js';

/** BN-ReLU-Conv1x1 (to bnSize·growth channels), BN-ReLU-Conv3x3 (to growth channels). */
export class DenseLayer extends Module {
  readonly norm1: BatchNorm2d;
  readonly relu1: ReLU;
  readonly conv1: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly relu2: ReLU;
  readonly conv2: Conv2d;
  readonly dropout: Dropout | null;
  constructor(inChannels: number, growthRate: number, bnSize: number, dropRate = 0) {
    super();
    this.norm1 = this.registerModule('norm1', new BatchNorm2d(inChannels));
    this.relu1 = this.registerModule('relu1', new ReLU());
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, bnSize * growthRate, 1, { bias: false }));
    this.norm2 = this.registerModule('norm2', new BatchNorm2d(bnSize * growthRate));
    this.relu2 = this.registerModule('relu2', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false }));
    // torchvision applies F.dropout with drop_rate (0 by default) and registers no module for it.
    this.dropout = dropRate > 0 ? new Dropout(dropRate) : null;
  }
  override get typeName(): string { return 'DenseLayer'; }
  /** `x` is the concatenation of every earlier feature map of the block. */
  forward(x: Tensor): Tensor {
    const bottleneck = this.conv1.forward(this.relu1.forward(this.norm1.forward(x)));
    const out = this.conv2.forward(this.relu2.forward(this.norm2.forward(bottleneck)));
    if (this.dropout) this.dropout.training = this.training;
    return this.dropout ? this.dropout.forward(out) : out;
  }
}

/** `numLayers` dense layers; each sees the concatenation of the block input and all earlier layers' outputs. */
export class DenseBlock extends Module {
  private readonly layers: DenseLayer[] = [];
  constructor(numLayers: number, inChannels: number, bnSize: number, growthRate: number, dropRate = 0) {
    super();
    for (let i = 0; i < numLayers; i++) {
      this.layers.push(this.registerModule(`denselayer${i + 1}`, new DenseLayer(inChannels + i * growthRate, growthRate, bnSize, dropRate)));
    }
  }
  override get typeName(): string { return 'DenseBlock'; }
  forward(x: Tensor): Tensor {
    const features = [x];
    for (const layer of this.layers) features.push(layer.forward(features.length === 1 ? x : concat(features, 1)));
    return concat(features, 1);
  }
}

/** BN-ReLU-Conv1x1 (compress channels) then 2x2 average pooling; a Sequential named norm, relu, conv, pool. */
export function transition(inChannels: number, outChannels: number): Sequential {
  return Sequential.named([
    ['norm', new BatchNorm2d(inChannels)],
    ['relu', new ReLU()],
    ['conv', new Conv2d(inChannels, outChannels, 1, { bias: false })],
    ['pool', new AvgPool2d(2, { stride: 2 })],
  ]);
}

export interface DenseNetConfig {
  growthRate: number;
  blockConfig: readonly number[];
  numInitFeatures: number;
  bnSize: number;
  dropRate?: number;
  /** Channels kept by each transition (0.5 = DenseNet-BC compression). */
  compression?: number;
  /** 'imagenet': 7x7/2 conv, BN, ReLU, 3x3/2 max pool; 'cifar': one 3x3 conv. */
  stem: 'imagenet' | 'cifar';
}

export class DenseNet extends Module {
  readonly features: Sequential;
  readonly classifier: Linear;

  constructor(config: DenseNetConfig, options: Pick<ResolvedModelOptions, 'numClasses' | 'inChannels'>) {
    super();
    const stem: [string, Module][] = config.stem === 'imagenet'
      ? [
        ['conv0', new Conv2d(options.inChannels, config.numInitFeatures, 7, { stride: 2, padding: 3, bias: false })],
        ['norm0', new BatchNorm2d(config.numInitFeatures)],
        ['relu0', new ReLU()],
        ['pool0', new MaxPool2d(3, { stride: 2, padding: 1 })],
      ]
      : [['conv0', new Conv2d(options.inChannels, config.numInitFeatures, 3, { padding: 1, bias: false })]];
    const parts: [string, Module][] = [...stem];
    let c = config.numInitFeatures;
    const compression = config.compression ?? 0.5;
    config.blockConfig.forEach((numLayers, i) => {
      parts.push([`denseblock${i + 1}`, new DenseBlock(numLayers, c, config.bnSize, config.growthRate, config.dropRate ?? 0)]);
      c += numLayers * config.growthRate;
      if (i !== config.blockConfig.length - 1) {
        const out = Math.floor(c * compression);
        parts.push([`transition${i + 1}`, transition(c, out)]);
        c = out;
      }
    });
    parts.push([`norm${config.blockConfig.length + 1}`, new BatchNorm2d(c)]);
    this.features = this.registerModule('features', Sequential.named(parts));
    this.classifier = this.registerModule('classifier', new Linear(c, options.numClasses));
    // torchvision: Kaiming-normal convolutions (fan-in), BatchNorm 1/0, classifier bias 0.
    for (const m of this.modules()) if (m instanceof Conv2d) kaimingNormal_(m.weight);
    if (this.classifier.bias) zeros_(this.classifier.bias);
  }

  override get typeName(): string { return 'DenseNet'; }

  forward(x: Tensor): Tensor {
    const f = relu(this.features.forward(x));
    return this.classifier.forward(adaptiveAvgPool2d(f, [1, 1]).flatten(1));
  }
}

/** The DenseNet-BC configuration for small images: depth L (= 6n + 4), growth k. */
export function densenetBC(depth: number, growthRate: number): DenseNetConfig {
  if ((depth - 4) % 6 !== 0) throw new Error(`densenetBC: depth must be 6n + 4 (e.g. 40, 100), got ${depth}`);
  const n = (depth - 4) / 6;
  return { growthRate, blockConfig: [n, n, n], numInitFeatures: 2 * growthRate, bnSize: 4, compression: 0.5, stem: 'cifar' };
}

const CONTRIBUTION = 'Huang et al. (2016): dense connectivity (each layer sees every earlier feature map of its block) reuses features, so narrow layers (growth rate k) suffice and gradients reach early layers directly.';
for (const [name, blocks, size] of [['densenet121', [6, 12, 24, 16], '8.0 M parameters, 2.8 G MACs'], ['densenet169', [6, 12, 32, 32], '14.1 M parameters, 3.4 G MACs']] as const) {
  registerModel({
    name,
    description: `DenseNet-${name.slice(8)} as in torchvision (growth 32, blocks ${blocks.join('-')}; ${size} at 224x224)`,
    contribution: CONTRIBUTION,
    defaultInputSize: [224, 224],
    defaults: { numClasses: 1000, inChannels: 3 },
    create: (o) => new DenseNet({ growthRate: 32, blockConfig: blocks, numInitFeatures: 64, bnSize: 4, stem: 'imagenet' }, o),
  });
}
registerModel({
  name: 'densenet_bc100',
  description: 'DenseNet-BC for 32x32/28x28 (L=100, k=12, 3 blocks of 16 bottleneck layers, compression 0.5; 769,162 parameters on 3x32x32 with 10 classes)',
  contribution: CONTRIBUTION,
  create: (o) => new DenseNet(densenetBC(100, 12), o),
});
registerModel({
  name: 'densenet_bc40',
  description: 'A quick DenseNet-BC for 32x32/28x28 (L=40, k=12, 3 blocks of 6 bottleneck layers, compression 0.5)',
  contribution: CONTRIBUTION,
  create: (o) => new DenseNet(densenetBC(40, 12), o),
});
