/**
 * The model zoo (the `models` namespace): `create(name, options)`, `list()`, `registerModel(entry)`,
 * and the reference models `MLP`, `LeNet5`, `VGGSmall`.
 */
import './reference.js';
import './zoo.js';

export { create, list, has, registerModel, resolveModelOptions } from './registry.js';
export type { ModelOptions, ResolvedModelOptions, ModelInfo, ModelEntry } from './registry.js';
export { MLP, LeNet5, VGGSmall } from './reference.js';
export * from './zoo.js';
