/**
 * ResNets for 32x32 / 28x28 images (He et al. 2015, section 4.2): a 3x3 conv with 16 channels, three stages
 * of n basic blocks with 16, 32 and 64 channels (the first block of stages 2 and 3 halves the size with
 * stride 2), global average pooling and a linear classifier: 6n + 2 weighted layers.
 *
 * - `resnet20`, `resnet32`, `resnet56`: option A shortcuts, as in the paper: where a block changes size, the
 *   shortcut subsamples (every second row and column) and zero-pads the new channels, so it adds no
 *   parameters: resnet20 has 269,722 parameters (0.27 M in the paper).
 * - `resnet20b`, `resnet32b`, `resnet56b`: option B: a 1x1 strided convolution + BatchNorm projects the
 *   shortcut where the size changes: resnet20b has 272,474.
 * - `plain20`, `plain32`, `plain56`: the same networks without any shortcut, for the depth experiment (the
 *   paper's Fig. 6: deeper plain nets train worse; deeper ResNets train better).
 *
 * Keys follow the widely used PyTorch re-implementation (akamaster/pytorch_resnet_cifar10): `conv1`, `bn1`,
 * `layer1.0.conv1`, ..., `layer2.0.shortcut.0` (option B), `linear`; convolutions start Kaiming-normal.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses] for any H, W >= 5 (global average pooling).
 */
import type { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/creation.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { convNormReLU } from '../nn/layers/fusion.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { kaimingNormal_ } from '../nn/init.js';
import { addActivation, concat, maxPool2d, globalAvgPool2d } from '../ops/index.js';
import { registerModel, type ResolvedModelOptions } from './registry.js';

export type Shortcut = 'A' | 'B' | 'none';

/**
 * Option A shortcut: x[:, :, ::2, ::2] (a 1x1 max pool with stride 2 picks exactly those pixels) with
 * `extra / 2` zero channels on each side. No parameters.
 */
export function zeroPadShortcut(x: Tensor, stride: number, outChannels: number): Tensor {
  const sub = stride === 1 ? x : maxPool2d(x, { kernelSize: 1, stride });
  const extra = outChannels - sub.shape[1]!;
  if (extra === 0) return sub;
  const [n, , h, w] = sub.shape as [number, number, number, number];
  const before = Math.floor(extra / 2), after = extra - before;
  const parts: Tensor[] = [];
  if (before > 0) parts.push(zeros([n, before, h, w]));
  parts.push(sub);
  if (after > 0) parts.push(zeros([n, after, h, w]));
  return concat(parts, 1);
}

export class CifarBasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  /** Option B projection (keys `shortcut.0.weight`, `shortcut.1.*`), else null. */
  readonly shortcut: Sequential | null;
  readonly needsShortcut: boolean;

  constructor(inPlanes: number, planes: number, stride: number, readonly option: Shortcut) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.needsShortcut = stride !== 1 || inPlanes !== planes;
    this.shortcut = option === 'B' && this.needsShortcut
      ? this.registerModule('shortcut', new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)))
      : null;
  }

  override get typeName(): string { return this.option === 'none' ? 'PlainBlock' : 'BasicBlock'; }

  forward(x: Tensor): Tensor {
    const h = convNormReLU(this.conv1, this.bn1, x);
    if (this.option === 'none') return convNormReLU(this.conv2, this.bn2, h);
    const out = this.bn2.forward(this.conv2.forward(h));
    let skip = x;
    if (this.shortcut) skip = this.shortcut.forward(x);
    else if (this.needsShortcut) skip = zeroPadShortcut(x, this.conv1.stride[0], this.conv2.outChannels);
    return addActivation(out, skip, 'relu');
  }
}

export class CifarResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly linear: Linear;

  /** `depth` = 6n + 2 (20, 32, 44, 56, 110). */
  constructor(depth: number, shortcut: Shortcut, options: Pick<ResolvedModelOptions, 'numClasses' | 'inChannels'>) {
    super();
    if ((depth - 2) % 6 !== 0 || depth < 8) throw new Error(`CifarResNet: depth must be 6n + 2 (20, 32, 44, 56, 110), got ${depth}`);
    const n = (depth - 2) / 6;
    this.conv1 = this.registerModule('conv1', new Conv2d(options.inChannels, 16, 3, { padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(16));
    const stage = (inPlanes: number, planes: number, stride: number): Sequential => {
      const s = new Sequential(new CifarBasicBlock(inPlanes, planes, stride, shortcut));
      for (let i = 1; i < n; i++) s.append(new CifarBasicBlock(planes, planes, 1, shortcut));
      return s;
    };
    this.layer1 = this.registerModule('layer1', stage(16, 16, 1));
    this.layer2 = this.registerModule('layer2', stage(16, 32, 2));
    this.layer3 = this.registerModule('layer3', stage(32, 64, 2));
    this.linear = this.registerModule('linear', new Linear(64, options.numClasses));
    for (const m of this.modules()) if (m instanceof Conv2d || m instanceof Linear) kaimingNormal_(m.weight);
  }

  override get typeName(): string { return 'CifarResNet'; }

  forward(x: Tensor): Tensor {
    let y = convNormReLU(this.conv1, this.bn1, x);
    y = this.layer3.forward(this.layer2.forward(this.layer1.forward(y)));
    return this.linear.forward(globalAvgPool2d(y).flatten(1));
  }
}

const RESIDUAL = 'He et al. (2015): skip connections let a 56-layer network train better than a 20-layer one on CIFAR-10, where the same plain network trains worse (the degradation problem).';
const PLAIN = 'The control for the depth experiment (He et al. 2015, Fig. 6): the ResNet without skip connections, whose training error grows with depth.';
for (const depth of [20, 32, 56]) {
  registerModel({
    name: `resnet${depth}`,
    description: `CIFAR ResNet-${depth} (3 stages of ${(depth - 2) / 6} basic blocks, 16-32-64 channels), option A zero-padding shortcuts${depth === 20 ? ' (269,722 parameters on 3x32x32)' : ''}`,
    contribution: RESIDUAL,
    create: (o) => new CifarResNet(depth, 'A', o),
  });
  registerModel({
    name: `resnet${depth}b`,
    description: `CIFAR ResNet-${depth} with option B shortcuts (1x1 conv + BN projection where the size changes)${depth === 20 ? ' (272,474 parameters on 3x32x32)' : ''}`,
    contribution: RESIDUAL,
    create: (o) => new CifarResNet(depth, 'B', o),
  });
  registerModel({
    name: `plain${depth}`,
    description: `Plain-${depth}: CIFAR ResNet-${depth} without shortcuts (same layers and parameters as resnet${depth})`,
    contribution: PLAIN,
    create: (o) => new CifarResNet(depth, 'none', o),
  });
}
