/** The differentiable functional API (exported to users as `F`). */
export { binary, add, addActivation, sub, mul, div, pow, maximum, minimum, gt, lt, eq, neg, exp, log, sqrt, abs, relu, sigmoid, tanh, gelu, leakyRelu, elu, clamp, square, clone } from './elementwise.js';
export { sum, mean, max, min, argmax, argmin } from './reduce.js';
export { reshape, flatten, permute, transpose, narrow, select, concat, pad } from './shape.js';
export { matmul, linear, type FusedActivationOptions } from './linalg.js';
export { conv2d, conv2dMaxPool2x2, locallyConnected2d, conv2dGeometry, convOutputSize, type Conv2dOptions, type FusedConv2dOptions, type LocallyConnected2dOptions, type Padding2d } from './conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d, globalAvgPool2d, poolOutputSize, type Pool2dOptions, type AvgPool2dOptions } from './pool.js';
export { batchNorm, dropout, localResponseNorm, type BatchNormOptions, type DropoutOptions, type LocalResponseNormOptions } from './norm.js';
export { logSoftmax, softmax, nllLoss, crossEntropy, mseLoss, bceWithLogits, type Reduction, type NllLossOptions, type CrossEntropyOptions } from './loss.js';
