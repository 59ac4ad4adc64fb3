/** Convolution layers: `Conv2d` (shared weights) and `LocallyConnected2d` (one filter bank per position). */
import type { Tensor } from '../../tensor/tensor.js';
import type { Activation } from '../../backend/backend.js';
import { formatShape } from '../../tensor/shape.js';
import { conv2d, conv2dMaxPool2x2, locallyConnected2d, convOutputSize, type Padding2d } from '../../ops/index.js';
import { Module, Parameter, withModuleContext, pyBool, pyPair } from '../module.js';
import { defaultLayerInit_ } from '../init.js';

type Pair = number | readonly [number, number];

function toPair(v: Pair, layer: string, name: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!Number.isInteger(p[0]) || !Number.isInteger(p[1])) throw new Error(`${layer}: ${name} must be an integer or a pair of integers, got ${JSON.stringify(v)}`);
  return p;
}

function checkChannels(layer: string, inChannels: number, outChannels: number, groups: number): void {
  if (!Number.isInteger(inChannels) || inChannels < 1) throw new Error(`${layer}: inChannels must be a positive integer, got ${inChannels}`);
  if (!Number.isInteger(outChannels) || outChannels < 1) throw new Error(`${layer}: outChannels must be a positive integer, got ${outChannels}`);
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${layer}: groups must be a positive integer, got ${groups}`);
  if (inChannels % groups !== 0) throw new Error(`${layer}: groups (${groups}) must divide inChannels (${inChannels})`);
  if (outChannels % groups !== 0) throw new Error(`${layer}: groups (${groups}) must divide outChannels (${outChannels})`);
}

export interface Conv2dOptions {
  stride?: Pair;
  /** A number, a pair (top/bottom, left/right), 'same' (stride 1 only; extra padding goes bottom/right) or 'valid' (= 0). */
  padding?: Padding2d;
  dilation?: Pair;
  /** Split channels into groups; groups = inChannels = outChannels is a depthwise convolution. */
  groups?: number;
  /** Add a learned bias (default true). */
  bias?: boolean;
  /** Only 'zeros' is supported. */
  paddingMode?: 'zeros';
}

/**
 * 2-D convolution over an image batch, as `torch.nn.Conv2d`.
 *
 * **Shape:**
 * - input: [N, C_in, H_in, W_in]
 * - output: [N, C_out, H_out, W_out] with
 *   H_out = floor((H_in + 2·padding[0] − dilation[0]·(kernel[0] − 1) − 1) / stride[0]) + 1 (W likewise).
 *
 * **Parameters:** `weight` [C_out, C_in/groups, kH, kW], `bias` [C_out] (or null). Both start as
 * U(−1/sqrt(fanIn), 1/sqrt(fanIn)) with fanIn = C_in/groups·kH·kW, as in PyTorch.
 *
 * ```ts
 * const conv = new nn.Conv2d(1, 6, 5, { padding: 2 });   // [N,1,28,28] -> [N,6,28,28]
 * ```
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    checkChannels('Conv2d', inChannels, outChannels, groups);
    if ((options.paddingMode ?? 'zeros') !== 'zeros') throw new Error(`Conv2d: paddingMode '${String(options.paddingMode)}' is not supported (only 'zeros')`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toPair(kernelSize, 'Conv2d', 'kernelSize');
    this.stride = toPair(options.stride ?? 1, 'Conv2d', 'stride');
    this.dilation = toPair(options.dilation ?? 1, 'Conv2d', 'dilation');
    const padding = options.padding ?? 0;
    this.padding = typeof padding === 'string' ? padding : toPair(padding, 'Conv2d', 'padding');
    this.groups = groups;
    if (this.kernelSize.some((k) => k < 1)) throw new Error(`Conv2d: kernelSize must be positive, got ${JSON.stringify(kernelSize)}`);
    if (this.stride.some((s) => s < 1)) throw new Error(`Conv2d: stride must be positive, got ${JSON.stringify(options.stride)}`);
    if (this.dilation.some((d) => d < 1)) throw new Error(`Conv2d: dilation must be positive, got ${JSON.stringify(options.dilation)}`);
    if (typeof this.padding !== 'string' && this.padding.some((p) => p < 0)) throw new Error(`Conv2d: padding must be non-negative, got ${JSON.stringify(padding)}`);
    if (this.padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) throw new Error(`Conv2d: padding 'same' needs stride 1 (as in PyTorch), got stride ${pyPair(this.stride)}`);
    const [kh, kw] = this.kernelSize;
    const wShape = [outChannels, inChannels / groups, kh, kw];
    this.weight = this.registerParameter('weight', Parameter.zeros(wShape));
    this.bias = this.registerParameter('bias', (options.bias ?? true) ? Parameter.zeros([outChannels]) : null);
    this.resetParameters();
  }

  /** PyTorch's default initialisation (kaiming uniform with a = sqrt(5), bias U(±1/sqrt(fanIn))). */
  resetParameters(): void {
    defaultLayerInit_(this.weight, this.bias);
  }

  override get typeName(): string {
    return 'Conv2d';
  }
  override describe(): string {
    return `Conv2d(${this.inChannels}->${this.outChannels})`;
  }

  /** Output [H, W] for an input [H, W] (throws naming the layer if the kernel does not fit). */
  outputSize(inputSize: readonly [number, number]): [number, number] {
    const [kh, kw] = this.kernelSize;
    const pads = (k: number, d: number): [number, number] => {
      if (this.padding === 'valid') return [0, 0];
      if (this.padding === 'same') { const t = d * (k - 1); return [Math.floor(t / 2), t - Math.floor(t / 2)]; }
      return [0, 0];
    };
    const [ph0, ph1] = typeof this.padding === 'string' ? pads(kh, this.dilation[0]) : [this.padding[0], this.padding[0]];
    const [pw0, pw1] = typeof this.padding === 'string' ? pads(kw, this.dilation[1]) : [this.padding[1], this.padding[1]];
    const h = convOutputSize(inputSize[0], kh, this.stride[0], ph0, ph1, this.dilation[0]);
    const w = convOutputSize(inputSize[1], kw, this.stride[1], pw0, pw1, this.dilation[1]);
    if (h < 1 || w < 1) this.fail(`kernel ${kh}x${kw} does not fit an input of ${inputSize[0]}x${inputSize[1]} with padding ${JSON.stringify(this.padding)}`);
    return [h, w];
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithActivation(x, 'none');
  }

  /**
   * activation(this.forward(x)) as one fused op (F.conv2d's `activation`): the same values and gradients.
   * nn.Sequential calls it for a Conv2d directly followed by a ReLU (see src/nn/layers/fusion.ts).
   */
  forwardWithActivation(x: Tensor, activation: Activation): Tensor {
    this.expectInput(x, 4, `[N,${this.inChannels},H,W]`, this.inChannels);
    return withModuleContext(this, () => conv2d(x, this.weight, this.bias,
      { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups, activation }));
  }

  /**
   * maxPool2d(activation(this.forward(x)), 2) as conv2dMaxPool2x2 (one pass in inference on backends with a fused
   * kernel): the same values and gradients. nn.Sequential calls it for Conv2d, [ReLU,] MaxPool2d(2).
   */
  forwardWithMaxPool2x2(x: Tensor, activation: Activation): Tensor {
    this.expectInput(x, 4, `[N,${this.inChannels},H,W]`, this.inChannels);
    return withModuleContext(this, () => conv2dMaxPool2x2(x, this.weight, this.bias,
      { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups, activation }));
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyPair(this.kernelSize)}, stride=${pyPair(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${pyPair(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${pyPair(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += `, bias=${pyBool(false)}`;
    return s;
  }
}

export interface LocallyConnected2dOptions {
  /** Input [H, W]: required, because the number of filter banks is the number of output positions. */
  inputSize: readonly [number, number];
  stride?: Pair;
  padding?: Pair | 'valid';
  dilation?: Pair;
  bias?: boolean;
}

/**
 * Locally connected 2-D layer: the connectivity of Conv2d (each output sees a kH×kW window) but no weight
 * sharing: every output position has its own filter bank. It is what a CNN would be without weight
 * sharing, for the weight-sharing ablation.
 *
 * **Shape:**
 * - input: [N, C_in, H, W] with [H, W] = `inputSize`
 * - output: [N, C_out, H_out, W_out], H_out/W_out by Conv2d's formula.
 *
 * **Parameters:** `weight` [H_out·W_out, C_out, C_in, kH, kW] (the bank of output position p = oy·W_out + ox),
 * `bias` [C_out, H_out, W_out]. Initialised like Conv2d with fanIn = C_in·kH·kW.
 *
 * ```ts
 * const lc = new nn.LocallyConnected2d(1, 6, 5, { inputSize: [28, 28] });   // [N,1,28,28] -> [N,6,24,24]
 * ```
 */
export class LocallyConnected2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly inputSize: [number, number];
  readonly outputSize: [number, number];
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: LocallyConnected2dOptions) {
    super();
    checkChannels('LocallyConnected2d', inChannels, outChannels, 1);
    if (!options || !options.inputSize) throw new Error('LocallyConnected2d: options.inputSize [H, W] is required (the layer has one filter bank per output position)');
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toPair(kernelSize, 'LocallyConnected2d', 'kernelSize');
    this.stride = toPair(options.stride ?? 1, 'LocallyConnected2d', 'stride');
    this.padding = options.padding === 'valid' ? [0, 0] : toPair(options.padding ?? 0, 'LocallyConnected2d', 'padding');
    this.dilation = toPair(options.dilation ?? 1, 'LocallyConnected2d', 'dilation');
    this.inputSize = toPair(options.inputSize, 'LocallyConnected2d', 'inputSize');
    const [kh, kw] = this.kernelSize;
    const oh = convOutputSize(this.inputSize[0], kh, this.stride[0], this.padding[0], this.padding[0], this.dilation[0]);
    const ow = convOutputSize(this.inputSize[1], kw, this.stride[1], this.padding[1], this.padding[1], this.dilation[1]);
    if (!(oh >= 1 && ow >= 1)) throw new Error(`LocallyConnected2d: kernel ${kh}x${kw} does not fit inputSize ${pyPair(this.inputSize)} with padding ${pyPair(this.padding)}`);
    this.outputSize = [oh, ow];
    const wShape = [oh * ow, outChannels, inChannels, kh, kw];
    this.weight = this.registerParameter('weight', Parameter.zeros(wShape));
    this.bias = this.registerParameter('bias', (options.bias ?? true) ? Parameter.zeros([outChannels, oh, ow]) : null);
    this.resetParameters();
  }

  /** Like Conv2d: weight and bias U(−1/sqrt(fanIn), 1/sqrt(fanIn)), fanIn = C_in·kH·kW. */
  resetParameters(): void {
    defaultLayerInit_(this.weight, this.bias, this.inChannels * this.kernelSize[0] * this.kernelSize[1]);
  }

  override get typeName(): string {
    return 'LocallyConnected2d';
  }
  override describe(): string {
    return `LocallyConnected2d(${this.inChannels}->${this.outChannels})`;
  }

  forward(x: Tensor): Tensor {
    const [h, w] = this.inputSize;
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels || x.shape[2] !== h || x.shape[3] !== w) {
      this.fail(`expected input [N,${this.inChannels},${h},${w}] (inputSize is fixed at construction), got ${formatShape(x.shape)}`);
    }
    return withModuleContext(this, () => locallyConnected2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation }));
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyPair(this.kernelSize)}, stride=${pyPair(this.stride)}`;
    if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${pyPair(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${pyPair(this.dilation)}`;
    s += `, input_size=${pyPair(this.inputSize)}, output_size=${pyPair(this.outputSize)}`;
    if (this.bias === null) s += `, bias=${pyBool(false)}`;
    return s;
  }
}
