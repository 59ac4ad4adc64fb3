/**
 * The functional API (`F`): stateless, differentiable ops with PyTorch's semantics and camelCase options.
 * They are defined in src/ops; this module picks the user-facing ones.
 *
 * ```ts
 * import { F } from 'convkit';
 * const y = F.relu(F.conv2d(x, w, b, { stride: 1, padding: 'same' }));
 * const z = F.linear(h, w2, b2, { activation: 'relu' });   // = F.relu(F.linear(h, w2, b2)), one fused op
 * const loss = F.crossEntropy(logits, labels, { labelSmoothing: 0.1 });
 * ```
 */
export {
  // elementwise
  add, sub, mul, div, pow, maximum, minimum, neg, exp, log, sqrt, abs, square, clamp, clone,
  relu, leakyRelu, elu, gelu, sigmoid, tanh,
  // reductions
  sum, mean, max, min, argmax, argmin,
  // shapes
  reshape, flatten, permute, transpose, narrow, select, concat, pad,
  // linear algebra and layers
  matmul, linear, conv2d, conv2dMaxPool2x2, locallyConnected2d,
  maxPool2d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d, globalAvgPool2d,
  batchNorm, dropout, localResponseNorm,
  // probabilities and losses
  softmax, logSoftmax, crossEntropy, nllLoss, mseLoss, bceWithLogits,
} from '../ops/index.js';
export type {
  Conv2dOptions, FusedConv2dOptions, FusedActivationOptions, LocallyConnected2dOptions, Padding2d, Pool2dOptions, AvgPool2dOptions,
  BatchNormOptions, DropoutOptions, LocalResponseNormOptions, Reduction, NllLossOptions, CrossEntropyOptions,
} from '../ops/index.js';
