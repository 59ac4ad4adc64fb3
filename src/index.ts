/**
 * convkit: convolutional neural networks in TypeScript, exact to PyTorch, for Node and the browser.
 * Browser-safe entry point (Node-only helpers live in `convkit/node`).
 * Importing it selects the default backend before any of your code runs: `wasm` where it loads, else
 * `reference` (see src/backend/registry.ts; `getBackend().name` says which).
 */
export { Tensor } from './tensor/tensor.js';
export { tensor, zeros, ones, full, arange, randn, rand, zerosLike, onesLike } from './tensor/creation.js';
export { Generator, manualSeed, defaultGenerator, type GeneratorState } from './tensor/random.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd/tape.js';
export { setBackend, getBackend, useBackend, registerBackend, availableBackends, ready, backendFallbackReason, type BackendName } from './backend/registry.js';
export type { Activation, Backend, Conv2dGeometry, Pool2dGeometry } from './backend/backend.js';
export * as F from './ops/index.js';
export * from './ops/index.js';
export * as data from './data/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export * as train from './train/index.js';
export * as io from './io/index.js';
export * as inspect from './inspect/index.js';
export { summary, formatSummary, layerLedger, modelLedger } from './inspect/index.js';
