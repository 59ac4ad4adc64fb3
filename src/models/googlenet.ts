/**
 * GoogLeNet / Inception v1 (Szegedy et al. 2014), exactly as torchvision's `googlenet`: 6,624,904 parameters
 * without the auxiliary classifiers (`googlenet`, the layout of torchvision's pretrained weights) and
 * 13,004,888 with them (`googlenet_aux`); 1.50 G MACs at 224x224. State-dict keys and shapes equal
 * torchvision's (`conv1.conv.weight`, `inception3a.branch2.1.bn.running_var`, `aux1.fc2.weight`, ...).
 *
 * As in torchvision:
 * - every convolution is a `BasicConv2d`: Conv2d without bias, BatchNorm2d with eps 0.001, ReLU;
 * - the "5x5" branch of each Inception block uses a 3x3 convolution (a known slip in the original port that
 *   the pretrained weights depend on; the keys still say `branch3`);
 * - max pools use ceil mode;
 * - `transformInput` (torchvision's `transform_input`, on for its pretrained weights) maps an input normalised
 *   with the ImageNet mean/std to the (x − 0.5) / 0.5 normalisation the original weights expect.
 *
 * The auxiliary classifiers run only in training mode and only through `forwardWithAux`; `forward` always
 * returns the main logits (torchvision returns a tuple in training mode; TypeScript's `forward` returns one
 * tensor). Train with `loss = ce(main) + 0.3·(ce(aux1) + ce(aux2))` as in the paper.
 *
 * **Shape:** [N, C, H, W] -> [N, numClasses]; any H, W >= 15 (adaptive average pooling at the end).
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d, type Conv2dOptions } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { convNormReLU } from '../nn/layers/fusion.js';
import { MaxPool2d, AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { Dropout } from '../nn/layers/dropout.js';
import { normal_ } from '../nn/init.js';
import { add, mul, concat, narrow, relu, adaptiveAvgPool2d } from '../ops/index.js';
import { registerModel, type ResolvedModelOptions } from './registry.js';

/** Conv2d (no bias) + BatchNorm2d (eps 0.001) + ReLU; keys `conv.weight`, `bn.*`. */
export class BasicConv2d extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Omit<Conv2dOptions, 'bias'> = {}) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inChannels, outChannels, kernelSize, { ...options, bias: false }));
    this.bn = this.registerModule('bn', new BatchNorm2d(outChannels, { eps: 0.001 }));
  }
  override get typeName(): string { return 'BasicConv2d'; }
  forward(x: Tensor): Tensor {
    return convNormReLU(this.conv, this.bn, x);
  }
}

/**
 * An Inception block: four parallel branches concatenated along channels: 1x1; 1x1 -> 3x3; 1x1 -> 3x3
 * (the paper's 5x5, see the module comment); 3x3 max pool -> 1x1.
 */
export class Inception extends Module {
  readonly branch1: BasicConv2d;
  readonly branch2: Sequential;
  readonly branch3: Sequential;
  readonly branch4: Sequential;
  constructor(inChannels: number, ch1x1: number, ch3x3red: number, ch3x3: number, ch5x5red: number, ch5x5: number, poolProj: number) {
    super();
    this.branch1 = this.registerModule('branch1', new BasicConv2d(inChannels, ch1x1, 1));
    this.branch2 = this.registerModule('branch2', new Sequential(new BasicConv2d(inChannels, ch3x3red, 1), new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 })));
    this.branch3 = this.registerModule('branch3', new Sequential(new BasicConv2d(inChannels, ch5x5red, 1), new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 })));
    this.branch4 = this.registerModule('branch4', new Sequential(new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), new BasicConv2d(inChannels, poolProj, 1)));
  }
  override get typeName(): string { return 'Inception'; }
  forward(x: Tensor): Tensor {
    return concat([this.branch1.forward(x), this.branch2.forward(x), this.branch3.forward(x), this.branch4.forward(x)], 1);
  }
}

/** Auxiliary classifier: adaptive avg pool 4x4, 1x1 conv to 128, fc 2048-1024, dropout 0.7, fc 1024-classes. */
export class InceptionAux extends Module {
  readonly conv: BasicConv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly dropout: Dropout;
  constructor(inChannels: number, numClasses: number, dropout = 0.7) {
    super();
    this.conv = this.registerModule('conv', new BasicConv2d(inChannels, 128, 1));
    this.fc1 = this.registerModule('fc1', new Linear(2048, 1024));
    this.fc2 = this.registerModule('fc2', new Linear(1024, numClasses));
    this.dropout = this.registerModule('dropout', new Dropout(dropout));
  }
  override get typeName(): string { return 'InceptionAux'; }
  forward(x: Tensor): Tensor {
    const y = this.conv.forward(adaptiveAvgPool2d(x, [4, 4])).flatten(1);
    return this.fc2.forward(this.dropout.forward(relu(this.fc1.forward(y))));
  }
}

export interface GoogLeNetOptions {
  /** Build the two auxiliary classifiers (torchvision's `aux_logits`). */
  auxLogits?: boolean;
  /** torchvision's `transform_input` (see the module comment). Needs 3 input channels. */
  transformInput?: boolean;
  /** Dropout before the final classifier (0.2) and in the auxiliary classifiers (0.7). */
  dropout?: number;
  dropoutAux?: number;
}

export interface GoogLeNetOutputs {
  logits: Tensor;
  /** From after inception4d (torchvision's `aux2`), or null without aux classifiers or in eval mode. */
  aux2: Tensor | null;
  /** From after inception4a (`aux1`). */
  aux1: Tensor | null;
}

export class GoogLeNet extends Module {
  readonly transformInput: boolean;
  readonly conv1: BasicConv2d;
  readonly maxpool1: MaxPool2d;
  readonly conv2: BasicConv2d;
  readonly conv3: BasicConv2d;
  readonly maxpool2: MaxPool2d;
  readonly inception3a: Inception;
  readonly inception3b: Inception;
  readonly maxpool3: MaxPool2d;
  readonly inception4a: Inception;
  readonly inception4b: Inception;
  readonly inception4c: Inception;
  readonly inception4d: Inception;
  readonly inception4e: Inception;
  readonly maxpool4: MaxPool2d;
  readonly inception5a: Inception;
  readonly inception5b: Inception;
  readonly aux1: InceptionAux | null;
  readonly aux2: InceptionAux | null;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly dropout: Dropout;
  readonly fc: Linear;

  constructor(options: Pick<ResolvedModelOptions, 'numClasses' | 'inChannels'>, googlenetOptions: GoogLeNetOptions = {}) {
    super();
    const aux = googlenetOptions.auxLogits ?? false;
    this.transformInput = googlenetOptions.transformInput ?? false;
    if (this.transformInput && options.inChannels !== 3) throw new Error(`googlenet: transformInput needs 3 input channels, got ${options.inChannels}`);
    const nc = options.numClasses;
    this.conv1 = this.registerModule('conv1', new BasicConv2d(options.inChannels, 64, 7, { stride: 2, padding: 3 }));
    this.maxpool1 = this.registerModule('maxpool1', new MaxPool2d(3, { stride: 2, ceilMode: true }));
    this.conv2 = this.registerModule('conv2', new BasicConv2d(64, 64, 1));
    this.conv3 = this.registerModule('conv3', new BasicConv2d(64, 192, 3, { padding: 1 }));
    this.maxpool2 = this.registerModule('maxpool2', new MaxPool2d(3, { stride: 2, ceilMode: true }));
    this.inception3a = this.registerModule('inception3a', new Inception(192, 64, 96, 128, 16, 32, 32));
    this.inception3b = this.registerModule('inception3b', new Inception(256, 128, 128, 192, 32, 96, 64));
    this.maxpool3 = this.registerModule('maxpool3', new MaxPool2d(3, { stride: 2, ceilMode: true }));
    this.inception4a = this.registerModule('inception4a', new Inception(480, 192, 96, 208, 16, 48, 64));
    this.inception4b = this.registerModule('inception4b', new Inception(512, 160, 112, 224, 24, 64, 64));
    this.inception4c = this.registerModule('inception4c', new Inception(512, 128, 128, 256, 24, 64, 64));
    this.inception4d = this.registerModule('inception4d', new Inception(512, 112, 144, 288, 32, 64, 64));
    this.inception4e = this.registerModule('inception4e', new Inception(528, 256, 160, 320, 32, 128, 128));
    this.maxpool4 = this.registerModule('maxpool4', new MaxPool2d(2, { stride: 2, ceilMode: true }));
    this.inception5a = this.registerModule('inception5a', new Inception(832, 256, 160, 320, 32, 128, 128));
    this.inception5b = this.registerModule('inception5b', new Inception(832, 384, 192, 384, 48, 128, 128));
    this.aux1 = aux ? this.registerModule('aux1', new InceptionAux(512, nc, googlenetOptions.dropoutAux ?? 0.7)) : null;
    this.aux2 = aux ? this.registerModule('aux2', new InceptionAux(528, nc, googlenetOptions.dropoutAux ?? 0.7)) : null;
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.dropout = this.registerModule('dropout', new Dropout(googlenetOptions.dropout ?? 0.2));
    this.fc = this.registerModule('fc', new Linear(1024, nc));
    // torchvision: trunc_normal_(std=0.01, a=-2, b=2) for conv and linear weights; with std 0.01 the
    // truncation at ±2 never applies, so it is a plain N(0, 0.01²). BatchNorm: weight 1, bias 0.
    for (const m of this.modules()) if (m instanceof Conv2d || m instanceof Linear) normal_(m.weight, 0, 0.01);
  }

  override get typeName(): string { return 'GoogLeNet'; }

  /** The ImageNet-normalised input re-normalised to (x − 0.5) / 0.5 per channel. */
  private transform(x: Tensor): Tensor {
    const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
    const channels = [0, 1, 2].map((c) => add(mul(narrow(x, 1, c, 1), std[c]! / 0.5), (mean[c]! - 0.5) / 0.5));
    return concat(channels, 1);
  }

  /** Main logits and, in training mode with auxiliary classifiers, the two auxiliary logits. */
  forwardWithAux(input: Tensor): GoogLeNetOutputs {
    let x = this.transformInput ? this.transform(input) : input;
    x = this.maxpool1.forward(this.conv1.forward(x));
    x = this.maxpool2.forward(this.conv3.forward(this.conv2.forward(x)));
    x = this.maxpool3.forward(this.inception3b.forward(this.inception3a.forward(x)));
    x = this.inception4a.forward(x);
    const aux1 = this.aux1 && this.training ? this.aux1.forward(x) : null;
    x = this.inception4d.forward(this.inception4c.forward(this.inception4b.forward(x)));
    const aux2 = this.aux2 && this.training ? this.aux2.forward(x) : null;
    x = this.maxpool4.forward(this.inception4e.forward(x));
    x = this.inception5b.forward(this.inception5a.forward(x));
    const logits = this.fc.forward(this.dropout.forward(this.avgpool.forward(x).flatten(1)));
    return { logits, aux2, aux1 };
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithAux(x).logits;
  }
}

const CONTRIBUTION = 'Szegedy et al. (2014): multi-scale Inception blocks (parallel 1x1, 3x3, 5x5 and pooling branches) with 1x1 bottlenecks give a 22-layer network 12x fewer parameters than AlexNet.';
registerModel({
  name: 'googlenet',
  description: 'GoogLeNet (Inception v1) as in torchvision, without auxiliary classifiers (6.6 M parameters, 1.5 G MACs at 224x224)',
  contribution: CONTRIBUTION,
  defaultInputSize: [224, 224],
  defaults: { numClasses: 1000, inChannels: 3 },
  create: (o) => new GoogLeNet(o, { auxLogits: false }),
});
registerModel({
  name: 'googlenet_aux',
  description: 'GoogLeNet (Inception v1) as in torchvision with its two auxiliary classifiers (13.0 M parameters; use forwardWithAux to train with them)',
  contribution: `${CONTRIBUTION} Auxiliary classifiers on intermediate layers inject gradient into the middle of the deep network.`,
  defaultInputSize: [224, 224],
  defaults: { numClasses: 1000, inChannels: 3 },
  create: (o) => new GoogLeNet(o, { auxLogits: true }),
});
