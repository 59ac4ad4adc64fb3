/**
 * VGG (Simonyan & Zisserman 2014), exactly as torchvision: `vgg11`, `vgg13`, `vgg16`, `vgg19` (configurations
 * A, B, D, E) and their `_bn` variants (BatchNorm after every convolution). State-dict keys
 * (`features.0.weight`, `classifier.6.bias`, ...) and shapes equal torchvision's. Weights start as in
 * torchvision: convolutions Kaiming-normal (fan-out, ReLU) with zero bias, linear layers N(0, 0.01) with zero
 * bias.
 *
 * Also `vggsmall_bn`: the `vggsmall` topology (2x conv3x3 32, pool, 2x conv3x3 64, pool, fc 256) with
 * BatchNorm2d after each convolution, and `cnn2_bn` (conv3x3 16, pool, conv3x3 32, pool, fc 128, BatchNorm
 * after each convolution), for 28x28 / 32x32 images.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses]; ImageNet variants take any H, W >= 32 (adaptive pool to 7x7).
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { MaxPool2d, AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { ReLU } from '../nn/layers/activation.js';
import { Dropout } from '../nn/layers/dropout.js';
import { kaimingNormal_, normal_, zeros_ } from '../nn/init.js';
import { registerModel, type ResolvedModelOptions } from './registry.js';

/** Channels of each 3x3 convolution, 'M' for a 2x2 max pool. */
export type VGGConfig = readonly (number | 'M')[];

export const VGG_CONFIGS: Record<'vgg11' | 'vgg13' | 'vgg16' | 'vgg19', VGGConfig> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

/** torchvision's `make_layers`: conv3x3 (pad 1) [+ BatchNorm] + ReLU per number, MaxPool2d(2) per 'M'. */
export function vggFeatures(config: VGGConfig, inChannels: number, batchNorm: boolean): Sequential {
  const layers = new Sequential();
  let c = inChannels;
  for (const v of config) {
    if (v === 'M') {
      layers.append(new MaxPool2d(2, { stride: 2 }));
      continue;
    }
    layers.append(new Conv2d(c, v, 3, { padding: 1 }));
    if (batchNorm) layers.append(new BatchNorm2d(v));
    layers.append(new ReLU());
    c = v;
  }
  return layers;
}

/** torchvision's weight init for VGG (and the other classic models that use it). */
function initVGG(m: Module): void {
  for (const layer of m.modules()) {
    if (layer instanceof Conv2d) {
      kaimingNormal_(layer.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      if (layer.bias) zeros_(layer.bias);
    } else if (layer instanceof Linear) {
      normal_(layer.weight, 0, 0.01);
      if (layer.bias) zeros_(layer.bias);
    }
  }
}

export class VGG extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(config: VGGConfig, batchNorm: boolean, options: Pick<ResolvedModelOptions, 'numClasses' | 'inChannels'>, dropout = 0.5) {
    super();
    this.features = this.registerModule('features', vggFeatures(config, options.inChannels, batchNorm));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([7, 7]));
    this.classifier = this.registerModule('classifier', new Sequential(
      new Linear(512 * 7 * 7, 4096), new ReLU(), new Dropout(dropout),
      new Linear(4096, 4096), new ReLU(), new Dropout(dropout),
      new Linear(4096, options.numClasses),
    ));
    initVGG(this);
  }

  override get typeName(): string { return 'VGG'; }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.avgpool.forward(this.features.forward(x)).flatten(1));
  }
}

/**
 * A small VGG-style net with BatchNorm2d after every convolution (conv 3x3 pad 1, BN, ReLU; 'M' = maxpool 2),
 * then flatten, fc `hidden`, ReLU, fc numClasses. Two configurations are registered:
 * - `vggsmall_bn`: `[32, 32, 'M', 64, 64, 'M']`, fc 256: 871,018 parameters on 1x28x28 (vggsmall's 870,634
 *   plus 384 BatchNorm scales and shifts);
 * - `cnn2_bn`: `[16, 'M', 32, 'M']`, fc 128: 207,018 parameters on 1x28x28, the "two conv layers + BN" net of
 *   the Fashion-MNIST benchmark table, about 4-5x faster to train than vggsmall_bn (the speedrun's 91 % recipe).
 */
export class VGGSmallBN extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  // a plain field, not #private: optimizeForInference's structural copy carries own properties only
  private readonly modelTypeName: string;

  constructor(options: ResolvedModelOptions, config: VGGConfig = [32, 32, 'M', 64, 64, 'M'], hidden = 256, name = 'vggsmall_bn', typeName = 'VGGSmallBN') {
    super();
    const [h, w] = options.inputSize;
    let fh = h, fw = w, channels = options.inChannels;
    for (const v of config) {
      if (v === 'M') { fh = Math.floor(fh / 2); fw = Math.floor(fw / 2); } else channels = v;
    }
    if (fh < 1 || fw < 1) throw new Error(`${name}: inputSize [${h}, ${w}] is too small (the feature map would be ${fh}x${fw})`);
    this.modelTypeName = typeName;
    this.features = this.registerModule('features', vggFeatures(config, options.inChannels, true));
    this.classifier = this.registerModule('classifier', new Sequential(
      new Linear(channels * fh * fw, hidden), new ReLU(), new Linear(hidden, options.numClasses),
    ));
  }

  override get typeName(): string { return this.modelTypeName; }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x).flatten(1));
  }
}

const DEPTH_NOTE = 'Simonyan & Zisserman (2014): depth from stacks of small 3x3 convolutions (two 3x3 see as far as one 5x5 with fewer weights and an extra nonlinearity)';
for (const name of ['vgg11', 'vgg13', 'vgg16', 'vgg19'] as const) {
  const depth = name.slice(3);
  for (const bn of [false, true]) {
    registerModel({
      name: bn ? `${name}_bn` : name,
      description: `VGG-${depth}${bn ? ' with BatchNorm' : ''} as in torchvision (configuration ${{ vgg11: 'A', vgg13: 'B', vgg16: 'D', vgg19: 'E' }[name]}), 224x224 input`,
      contribution: `${DEPTH_NOTE}${bn ? '; BatchNorm (Ioffe & Szegedy 2015) makes such deep plain stacks train quickly' : ''}.`,
      defaultInputSize: [224, 224],
      defaults: { numClasses: 1000, inChannels: 3 },
      create: (o) => new VGG(VGG_CONFIGS[name], bn, o),
    });
  }
}

registerModel({
  name: 'vggsmall_bn',
  description: 'vggsmall with BatchNorm after each conv: 2x(conv3x3 32, BN) pool, 2x(conv3x3 64, BN) pool, fc 256 (871,018 parameters on 28x28)',
  contribution: 'Ioffe & Szegedy (2015): normalising each layer\'s inputs per batch allows higher learning rates and faster, less initialisation-sensitive training of VGG-style stacks.',
  create: (o) => new VGGSmallBN(o),
});

registerModel({
  name: 'cnn2_bn',
  description: 'Two-conv net with BatchNorm: conv3x3 16, BN, pool, conv3x3 32, BN, pool, fc 128 (207,018 parameters on 28x28)',
  contribution: 'The "two conv layers + BatchNorm" net of the Fashion-MNIST benchmark table (91.6-93.4 %): two stages of local, shared 3x3 filters with pooling pass 91 % in 3 epochs (speedrun recipe 91), at a sixteenth of vggsmall_bn\'s multiply-adds (1.22 M against 19.09 M per image).',
  create: (o) => new VGGSmallBN(o, [16, 'M', 32, 'M'], 128, 'cnn2_bn', 'CNN2BN'),
});
