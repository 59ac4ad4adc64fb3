/**
 * Weight initialisation, as `torch.nn.init`: every function fills a tensor in place (no gradient is
 * recorded) from the seeded default generator unless one is passed, and returns the tensor.
 *
 * ```ts
 * manualSeed(0);
 * nn.init.kaimingNormal_(conv.weight, { mode: 'fanOut', nonlinearity: 'relu' });
 * nn.init.zeros_(conv.bias!);
 * ```
 */
import type { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';
export type FanMode = 'fanIn' | 'fanOut';

export interface InitOptions {
  generator?: Generator;
}

/**
 * The recommended gain for a nonlinearity (PyTorch's `calculate_gain`): 1 for linear/conv/sigmoid,
 * 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leakyRelu (slope defaults to 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new Error(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * Fan-in and fan-out of a weight of shape [out, in, ...kernel] (PyTorch's convention):
 * fanIn = in * prod(kernel), fanOut = out * prod(kernel). Needs at least 2 dimensions.
 */
export function calculateFanInAndFanOut(t: Tensor | readonly number[]): { fanIn: number; fanOut: number } {
  const shape = Array.isArray(t) ? (t as readonly number[]) : (t as Tensor).shape;
  if (shape.length < 2) throw new Error(`calculateFanInAndFanOut: fan in and fan out need a tensor with at least 2 dimensions, got shape ${formatShape(shape)}`);
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i]!;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

let skipDepth = 0;

/**
 * Build modules without random initialisation: inside `fn`, `uniform_` and `normal_` (and so every layer's
 * default init) leave tensors as they are (zeros). For a model whose weights are loaded right after, this
 * saves seconds (VGG-16's 138 M values) and leaves the default generator untouched.
 *
 * ```ts
 * const net = nn.init.skipInit(() => models.create('vgg16'));
 * net.loadStateDict(weights);
 * ```
 */
export function skipInit<T>(fn: () => T): T {
  skipDepth++;
  try {
    return fn();
  } finally {
    skipDepth--;
  }
}

/** Fill with samples from U(low, high). */
export function uniform_(t: Tensor, low = 0, high = 1, options: InitOptions = {}): Tensor {
  if (skipDepth > 0) return t;
  const g = options.generator ?? defaultGenerator;
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = low + (high - low) * g.uniform();
  return t;
}

/** Fill with samples from N(mean, std^2). */
export function normal_(t: Tensor, mean = 0, std = 1, options: InitOptions = {}): Tensor {
  if (skipDepth > 0) return t;
  const g = options.generator ?? defaultGenerator;
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = mean + std * g.normal();
  return t;
}

/** Fill with a constant. */
export function constant_(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}
export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the rectifier after this layer (only used with 'leakyRelu'); default 0. */
  a?: number;
  /** 'fanIn' (default) preserves the forward variance, 'fanOut' the backward variance. */
  mode?: FanMode;
  /** Default 'leakyRelu' (with a = 0 that is relu's gain), as in PyTorch. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, options: KaimingOptions, fnName: string): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = (options.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  if (fan === 0) throw new Error(`${fnName}: cannot initialise a tensor with zero elements (shape ${formatShape(t.shape)})`);
  const gain = calculateGain(options.nonlinearity ?? 'leakyRelu', options.a ?? 0);
  return gain / Math.sqrt(fan);
}

/**
 * He et al. (2015) uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan). PyTorch's default for
 * Conv2d/Linear weights is `kaimingUniform_(w, { a: Math.sqrt(5) })`, i.e. bound = 1 / sqrt(fanIn).
 */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options, 'kaimingUniform_');
  return uniform_(t, -bound, bound, options);
}

/** He et al. (2015) normal: N(0, std^2) with std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, options, 'kaimingNormal_'), options);
}

/** Glorot & Bengio (2010) uniform: U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, gain = 1, options: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const a = Math.sqrt(3) * gain * Math.sqrt(2 / (fanIn + fanOut));
  return uniform_(t, -a, a, options);
}

/** Glorot & Bengio (2010) normal: N(0, std^2) with std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1, options: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), options);
}

/**
 * PyTorch's default for a conv/linear layer: weight ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (kaiming uniform with
 * a = sqrt(5)) then bias ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)). `fanIn` is given explicitly for layouts whose
 * dim 1 is not the input (LocallyConnected2d).
 */
export function defaultLayerInit_(weight: Tensor, bias: Tensor | null, fanIn = calculateFanInAndFanOut(weight).fanIn, options: InitOptions = {}): void {
  // kaiming_uniform(a=sqrt(5)): gain = sqrt(2 / (1 + 5)), bound = gain * sqrt(3 / fanIn) = 1 / sqrt(fanIn)
  const gain = calculateGain('leakyRelu', Math.sqrt(5));
  const wBound = fanIn > 0 ? Math.sqrt(3) * (gain / Math.sqrt(fanIn)) : 0;
  uniform_(weight, -wBound, wBound, options);
  if (bias !== null) {
    const bBound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bBound, bBound, options);
  }
}
