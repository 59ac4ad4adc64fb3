/**
 * ResNet (He et al. 2015), exactly as torchvision: `resnet18`, `resnet34` (BasicBlock) and `resnet50`,
 * `resnet101` (Bottleneck, "ResNet v1.5": the stride sits on the 3x3 convolution). State-dict keys
 * (`layer1.0.conv1.weight`, `layer2.0.downsample.1.running_mean`, `fc.weight`, ...) and shapes equal
 * torchvision's. Weights start as in torchvision: convolutions Kaiming-normal (fan-out, ReLU), BatchNorm
 * weight 1 and bias 0, the classifier with PyTorch's default.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses]; any H, W >= 1 (adaptive average pooling at the end), 224 native.
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { MaxPool2d, AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { ReLU } from '../nn/layers/activation.js';
import { kaimingNormal_ } from '../nn/init.js';
import { addReLU, convNormReLU } from '../nn/layers/fusion.js';
import { registerModel, type ResolvedModelOptions } from './registry.js';

const conv3x3 = (inC: number, outC: number, stride = 1): Conv2d => new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false });
const conv1x1 = (inC: number, outC: number, stride = 1): Conv2d => new Conv2d(inC, outC, 1, { stride, bias: false });

/** Two 3x3 convolutions with a skip connection: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(inplanes, planes, stride));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }
  override get typeName(): string { return 'BasicBlock'; }
  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(convNormReLU(this.conv1, this.bn1, x, this.relu)));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return addReLU(out, identity, this.relu);
  }
}

/** 1x1 reduce, 3x3 (strided), 1x1 expand (x4), with a skip connection. */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: ReLU;
  readonly downsample: Sequential | null;
  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = this.registerModule('conv1', conv1x1(inplanes, planes));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, stride));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.conv3 = this.registerModule('conv3', conv1x1(planes, planes * Bottleneck.expansion));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(planes * Bottleneck.expansion));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }
  override get typeName(): string { return 'Bottleneck'; }
  forward(x: Tensor): Tensor {
    let out = convNormReLU(this.conv1, this.bn1, x, this.relu);
    out = convNormReLU(this.conv2, this.bn2, out, this.relu);
    out = this.bn3.forward(this.conv3.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return addReLU(out, identity, this.relu);
  }
}

type BlockClass = typeof BasicBlock | typeof Bottleneck;

export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly maxpool: MaxPool2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;
  private inplanes = 64;

  constructor(block: BlockClass, layers: readonly [number, number, number, number], options: Pick<ResolvedModelOptions, 'numClasses' | 'inChannels'>) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(options.inChannels, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    this.layer1 = this.registerModule('layer1', this.makeLayer(block, 64, layers[0]));
    this.layer2 = this.registerModule('layer2', this.makeLayer(block, 128, layers[1], 2));
    this.layer3 = this.registerModule('layer3', this.makeLayer(block, 256, layers[2], 2));
    this.layer4 = this.registerModule('layer4', this.makeLayer(block, 512, layers[3], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.fc = this.registerModule('fc', new Linear(512 * block.expansion, options.numClasses));
    for (const m of this.modules()) if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
  }

  private makeLayer(block: BlockClass, planes: number, blocks: number, stride = 1): Sequential {
    let downsample: Sequential | null = null;
    if (stride !== 1 || this.inplanes !== planes * block.expansion) {
      downsample = new Sequential(conv1x1(this.inplanes, planes * block.expansion, stride), new BatchNorm2d(planes * block.expansion));
    }
    const layer = new Sequential(new block(this.inplanes, planes, stride, downsample));
    this.inplanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++) layer.append(new block(this.inplanes, planes));
    return layer;
  }

  override get typeName(): string { return 'ResNet'; }

  forward(x: Tensor): Tensor {
    let y = this.maxpool.forward(convNormReLU(this.conv1, this.bn1, x, this.relu));
    y = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(y))));
    return this.fc.forward(this.avgpool.forward(y).flatten(1));
  }
}

const CONTRIBUTION = 'He et al. (2015): identity skip connections let very deep networks train (each block learns a residual), ending the degradation of deeper plain nets.';
const CONFIGS: [string, BlockClass, [number, number, number, number], string][] = [
  ['resnet18', BasicBlock, [2, 2, 2, 2], '11.7 M parameters, 1.8 G MACs'],
  ['resnet34', BasicBlock, [3, 4, 6, 3], '21.8 M parameters, 3.7 G MACs'],
  ['resnet50', Bottleneck, [3, 4, 6, 3], '25.6 M parameters, 4.1 G MACs'],
  ['resnet101', Bottleneck, [3, 4, 23, 3], '44.5 M parameters, 7.8 G MACs'],
];
for (const [name, block, layers, size] of CONFIGS) {
  registerModel({
    name,
    description: `ResNet-${name.slice(6)} as in torchvision (${block === BasicBlock ? 'basic' : 'bottleneck'} blocks ${layers.join('-')}; ${size} at 224x224)`,
    contribution: CONTRIBUTION,
    defaultInputSize: [224, 224],
    defaults: { numClasses: 1000, inChannels: 3 },
    create: (o) => new ResNet(block, layers, o),
  });
}
