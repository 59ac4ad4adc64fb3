/** Convolution (weight sharing) and its unshared twin, the locally connected layer. */
import { Tensor } from '../tensor/tensor.js';
import { isGradEnabled, record } from '../autograd/tape.js';
import { getBackend } from '../backend/registry.js';
import type { Activation, Conv2dGeometry, Pool2dGeometry } from '../backend/backend.js';
import { allocIndices, maxPool2d } from './pool.js';
import { numelOf } from '../tensor/shape.js';
import { formatShape } from '../tensor/shape.js';
import { pair, uninitialized } from './util.js';
import { checkActivation, type FusedActivationOptions } from './linalg.js';

export type Padding2d = number | readonly [number, number] | 'same' | 'valid';

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  padding?: Padding2d;
  dilation?: number | readonly [number, number];
  groups?: number;
}

/** conv2d's options: the geometry and, optionally, an activation fused into the output pass. */
export interface FusedConv2dOptions extends Conv2dOptions, FusedActivationOptions {}

/**
 * Output size of a convolution along one axis: floor((in + padBefore + padAfter − dilation·(k−1) − 1) / stride) + 1.
 */
export function convOutputSize(input: number, kernel: number, stride: number, padBefore: number, padAfter: number, dilation: number): number {
  return Math.floor((input + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Validate arguments and compute the geometry shared by conv2d and locallyConnected2d. */
export function conv2dGeometry(op: string, xShape: readonly number[], cOut: number, cInPerGroup: number, kh: number, kw: number, options: Conv2dOptions): Conv2dGeometry {
  if (xShape.length !== 4) throw new Error(`${op}: expected a 4-D input [N, C, H, W], got ${formatShape(xShape)}`);
  const [n, cIn, h, w] = xShape as [number, number, number, number];
  const groups = options.groups ?? 1;
  const [strideH, strideW] = pair(options.stride ?? 1, op, 'stride');
  const [dilationH, dilationW] = pair(options.dilation ?? 1, op, 'dilation');
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  if (strideH < 1 || strideW < 1) throw new Error(`${op}: stride must be positive, got [${strideH}, ${strideW}]`);
  if (dilationH < 1 || dilationW < 1) throw new Error(`${op}: dilation must be positive, got [${dilationH}, ${dilationW}]`);
  if (cIn % groups !== 0) throw new Error(`${op}: groups (${groups}) must divide the input channels (${cIn})`);
  if (cOut % groups !== 0) throw new Error(`${op}: groups (${groups}) must divide the output channels (${cOut})`);
  if (cIn / groups !== cInPerGroup) {
    const why = groups === 1 ? `weight has ${cInPerGroup} input channels` : `weight has ${cInPerGroup} input channels per group × ${groups} groups`;
    throw new Error(`${op}: expected input with ${cInPerGroup * groups} channels [N, ${cInPerGroup * groups}, H, W] (${why}), got ${formatShape(xShape)}`);
  }
  let padTop: number, padBottom: number, padLeft: number, padRight: number;
  const padding = options.padding ?? 0;
  if (padding === 'valid') {
    padTop = padBottom = padLeft = padRight = 0;
  } else if (padding === 'same') {
    if (strideH !== 1 || strideW !== 1) throw new Error(`${op}: padding 'same' is only supported with stride 1 (as in PyTorch), got stride [${strideH}, ${strideW}]`);
    const totalH = dilationH * (kh - 1), totalW = dilationW * (kw - 1);
    padTop = Math.floor(totalH / 2); padBottom = totalH - padTop;
    padLeft = Math.floor(totalW / 2); padRight = totalW - padLeft;
  } else if (typeof padding === 'string') {
    throw new Error(`${op}: padding must be a number, a pair, 'same' or 'valid', got '${padding}'`);
  } else {
    [padTop, padLeft] = pair(padding, op, 'padding');
    if (padTop < 0 || padLeft < 0) throw new Error(`${op}: padding must be non-negative, got ${JSON.stringify(padding)}`);
    padBottom = padTop; padRight = padLeft;
  }
  const outH = convOutputSize(h, kh, strideH, padTop, padBottom, dilationH);
  const outW = convOutputSize(w, kw, strideW, padLeft, padRight, dilationW);
  if (outH < 1 || outW < 1) {
    throw new Error(`${op}: kernel ${kh}x${kw} (dilation ${dilationH}x${dilationW}) is larger than the padded input ${h + padTop + padBottom}x${w + padLeft + padRight} (input ${formatShape(xShape)})`);
  }
  return { n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH: padTop, padW: padLeft, dilationH, dilationW, groups, outH, outW };
}

/**
 * 2-D convolution (cross-correlation, as in every deep-learning library).
 * x [N, C, H, W], weight [O, C/groups, KH, KW], bias [O] -> [N, O, OH, OW] with
 * OH = floor((H + 2·pad − dilation·(KH−1) − 1) / stride) + 1.
 * With `activation` ('relu', 'sigmoid', 'tanh'; default 'none') the activation runs in place on the output
 * (the kernel already added the bias) and is part of this one autograd op: the same values and gradients as
 * the separate activation, one buffer and one backward pass fewer.
 *
 * @example conv2d(x, w, b, { stride: 2, padding: 1 })
 * @example conv2d(x, w, b, { padding: 1, activation: 'relu' })   // = relu(conv2d(x, w, b, { padding: 1 }))
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: FusedConv2dOptions = {}): Tensor {
  const { g, activation } = checkedConv2d('conv2d', x, weight, bias, options);
  const be = getBackend(), shape = [g.n, g.cOut, g.outH, g.outW];
  const fused = activation === 'relu' && g.n > 0 ? be.conv2dFused?.(x.data, weight.data, bias ? bias.data : null, g, { activation, maxPool2x2: false }) ?? null : null;
  let out: Tensor;
  if (fused) {
    out = new Tensor(fused, shape);
  } else {
    out = uninitialized(shape);
    if (g.n > 0) be.conv2d(x.data, weight.data, bias ? bias.data : null, g, out.data);
    if (activation !== 'none') be.biasActivation(out.data, null, 1, out.numel, activation);
  }
  return record('conv2d', [x, weight, bias ?? null], out, { geometry: g, activation });
}

function checkedConv2d(op: string, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, options: FusedConv2dOptions): { g: Conv2dGeometry; activation: Activation } {
  const activation = checkActivation(op, options.activation);
  if (weight.ndim !== 4) throw new Error(`${op}: weight must be 4-D [out, in/groups, kh, kw], got ${formatShape(weight.shape)}`);
  const [cOut, cg, kh, kw] = weight.shape as [number, number, number, number];
  const g = conv2dGeometry(op, x.shape, cOut, cg, kh, kw, options);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== cOut)) throw new Error(`${op}: bias must be [${cOut}], got ${formatShape(bias.shape)}`);
  return { g, activation };
}

/**
 * `maxPool2d(conv2d(x, weight, bias, options), { kernelSize: 2 })`: a convolution (with its optional fused
 * activation) followed by 2x2 max pooling of stride 2, the LeNet / VGG block. When no gradient is recorded
 * (inference) and the backend has a kernel for it, one pass that pools each image's convolution output while it is
 * still in cache (the wasm backend's direct convolutions). When gradients are recorded, the activation is none or
 * ReLU and the backend's kernel also writes the winners' indices (native), one pass and one recorded op
 * (conv2dMaxPool2x2) whose gradients are those of the two ops; otherwise exactly those two ops. The same values
 * either way. nn.Sequential uses it for Conv2d, ReLU, MaxPool2d(2).
 *
 * @example conv2dMaxPool2x2(x, w, b, { padding: 2, activation: 'relu' })   // = maxPool2d(relu(conv2d(...)), 2)
 */
export function conv2dMaxPool2x2(x: Tensor, weight: Tensor, bias?: Tensor | null, options: FusedConv2dOptions = {}): Tensor {
  const recording = isGradEnabled() && (x.requiresGrad || weight.requiresGrad || (bias?.requiresGrad ?? false));
  const { g, activation } = checkedConv2d('conv2dMaxPool2x2', x, weight, bias, options);
  const be = getBackend(), pooledShape = [g.n, g.cOut, g.outH >> 1, g.outW >> 1];
  if (g.n === 0) {
    // an empty batch: the two ops (no kernel sees it)
  } else if (!recording) {
    const fused = be.conv2dFused?.(x.data, weight.data, bias ? bias.data : null, g, { activation, maxPool2x2: true }) ?? null;
    if (fused) return new Tensor(fused, pooledShape);
  } else if (be.conv2dFused && g.outH >= 2 && g.outW >= 2 && (activation === 'none' || activation === 'relu')) {
    const { argmax, argmaxStorage } = allocIndices(numelOf(pooledShape));
    const fused = be.conv2dFused(x.data, weight.data, bias ? bias.data : null, g, { activation, maxPool2x2: true, argmax });
    if (fused) {
      const pool: Pool2dGeometry = { n: g.n, c: g.cOut, h: g.outH, w: g.outW, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 0, padW: 0,
        dilationH: 1, dilationW: 1, outH: g.outH >> 1, outW: g.outW >> 1 };
      return record('conv2dMaxPool2x2', [x, weight, bias ?? null], new Tensor(fused, pooledShape), { geometry: g, activation, pool, argmax, argmaxStorage });
    }
  }
  return maxPool2d(conv2d(x, weight, bias, options), { kernelSize: 2 });
}

export interface LocallyConnected2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number] | 'valid';
  dilation?: number | readonly [number, number];
}

/**
 * Locally connected 2-D layer: like conv2d but every output position has its own filter bank (local
 * connectivity without weight sharing).
 * x [N, C, H, W]; weight [OH·OW, O, C, KH, KW] (filters for output position p = oy·OW + ox);
 * bias [O, OH, OW] -> output [N, O, OH, OW]. OH/OW follow the conv2d formula.
 */
export function locallyConnected2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: LocallyConnected2dOptions = {}): Tensor {
  if (weight.ndim !== 5) throw new Error(`locallyConnected2d: weight must be 5-D [outH*outW, out, in, kh, kw], got ${formatShape(weight.shape)}`);
  const [positions, cOut, cIn, kh, kw] = weight.shape as [number, number, number, number, number];
  const g = conv2dGeometry('locallyConnected2d', x.shape, cOut, cIn, kh, kw, { ...options, groups: 1 });
  if (positions !== g.outH * g.outW) {
    throw new Error(`locallyConnected2d: weight has ${positions} output positions but input ${formatShape(x.shape)} gives ${g.outH}x${g.outW} = ${g.outH * g.outW}`);
  }
  if (bias && (bias.ndim !== 3 || bias.shape[0] !== cOut || bias.shape[1] !== g.outH || bias.shape[2] !== g.outW)) {
    throw new Error(`locallyConnected2d: bias must be [${cOut}, ${g.outH}, ${g.outW}], got ${formatShape(bias.shape)}`);
  }
  const out = uninitialized([g.n, cOut, g.outH, g.outW]);
  getBackend().locallyConnected2d(x.data, weight.data, bias ? bias.data : null, g, out.data);
  return record('locallyConnected2d', [x, weight, bias ?? null], out, { geometry: g });
}
