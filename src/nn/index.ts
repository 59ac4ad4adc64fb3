/**
 * Neural-network building blocks (the `nn` namespace): `Module`, `Parameter`, the layers, and `init`.
 *
 * ```ts
 * import { nn } from 'convkit';
 * const net = new nn.Sequential(new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2),
 *                               new nn.Flatten(), new nn.Linear(6 * 14 * 14, 10));
 * ```
 */
export { Module, Parameter, ModuleError, withModuleContext } from './module.js';
export type { LoadStateDictOptions, LoadStateDictResult } from './module.js';
export { Sequential } from './layers/container.js';
export { fusibleActivation, fusibleMaxPool2x2, convNormReLU, addReLU } from './layers/fusion.js';
export { Conv2d, LocallyConnected2d } from './layers/conv.js';
export type { Conv2dOptions, LocallyConnected2dOptions } from './layers/conv.js';
export { Linear, Flatten, Identity } from './layers/linear.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d } from './layers/pooling.js';
export type { Pool2dLayerOptions } from './layers/pooling.js';
export { BatchNorm1d, BatchNorm2d, LocalResponseNorm } from './layers/normalization.js';
export type { BatchNormOptions } from './layers/normalization.js';
export { ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softmax, LogSoftmax } from './layers/activation.js';
export { Dropout } from './layers/dropout.js';
export { optimizeForInference } from './inference.js';
export * as init from './init.js';
export * as functional from './functional.js';
