/**
 * The model registry: every model is created by name with the same options, so the CLI, the trainer,
 * the lab and the browser app can all say `models.create('lenet5', { numClasses: 10 })`.
 *
 * ```ts
 * const net = models.create('vggsmall', { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
 * models.list().map((m) => m.name);   // ['mlp', 'lenet5', 'vggsmall', ...]
 * ```
 * A zoo file adds its models with `registerModel({ name, description, contribution, create })`.
 */
import type { Module } from '../nn/module.js';

export interface ModelOptions {
  /** Number of output classes (default 10). */
  numClasses?: number;
  /** Input channels: 1 for grey images such as Fashion-MNIST (default), 3 for colour. */
  inChannels?: number;
  /** Input [H, W] (default [28, 28]); models with a fixed-size flatten use it to size their classifier. */
  inputSize?: readonly [number, number];
}

/** The options with their defaults filled in. */
export interface ResolvedModelOptions {
  numClasses: number;
  inChannels: number;
  inputSize: [number, number];
}

export interface ModelInfo {
  /** Registry name, lower case (`lenet5`). */
  name: string;
  /** What the network is, in one line. */
  description: string;
  /** What this family contributed to CNN design (the idea the lab measures). */
  contribution: string;
  /** The input size it is designed for, when it matters. */
  defaultInputSize?: [number, number];
  /** Defaults that replace the registry's (e.g. 1000 classes and 3 channels for the ImageNet models). */
  defaults?: Pick<ModelOptions, 'numClasses' | 'inChannels'>;
}

export interface ModelEntry extends ModelInfo {
  create(options: ResolvedModelOptions): Module;
}

const entries = new Map<string, ModelEntry>();

/** Add a model to the registry (names are unique). */
export function registerModel(entry: ModelEntry): void {
  if (!/^[a-z0-9_-]+$/.test(entry.name)) throw new Error(`registerModel: name '${entry.name}' must be lower case letters, digits, '-' or '_'`);
  if (entries.has(entry.name)) throw new Error(`registerModel: a model named '${entry.name}' is already registered`);
  entries.set(entry.name, entry);
}

/** Fill in defaults and validate options (messages name the model and the option). */
export function resolveModelOptions(name: string, options: ModelOptions = {}, defaultInputSize: [number, number] = [28, 28]): ResolvedModelOptions {
  const numClasses = options.numClasses ?? 10;
  const inChannels = options.inChannels ?? 1;
  const inputSize: [number, number] = options.inputSize ? [options.inputSize[0], options.inputSize[1]] : defaultInputSize;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`models.create('${name}'): numClasses must be a positive integer, got ${numClasses}`);
  if (!Number.isInteger(inChannels) || inChannels < 1) throw new Error(`models.create('${name}'): inChannels must be a positive integer, got ${inChannels}`);
  if (!inputSize.every((s) => Number.isInteger(s) && s >= 1)) throw new Error(`models.create('${name}'): inputSize must be two positive integers [H, W], got ${JSON.stringify(options.inputSize)}`);
  return { numClasses, inChannels, inputSize };
}

/** Build a registered model with fresh, seeded PyTorch-default weights. */
export function create(name: string, options: ModelOptions = {}): Module {
  const entry = entries.get(name.toLowerCase());
  if (!entry) throw new Error(`models.create: unknown model '${name}' (available: ${[...entries.keys()].join(', ')})`);
  const merged: ModelOptions = { ...entry.defaults };
  if (options.numClasses !== undefined) merged.numClasses = options.numClasses;
  if (options.inChannels !== undefined) merged.inChannels = options.inChannels;
  if (options.inputSize !== undefined) merged.inputSize = options.inputSize;
  return entry.create(resolveModelOptions(entry.name, merged, entry.defaultInputSize));
}

/** Every registered model, in registration order. */
export function list(): ModelInfo[] {
  return [...entries.values()].map(({ name, description, contribution, defaultInputSize, defaults }) => ({
    name, description, contribution, ...(defaultInputSize ? { defaultInputSize } : {}), ...(defaults ? { defaults } : {}),
  }));
}

/** Whether a model of this name exists. */
export function has(name: string): boolean {
  return entries.has(name.toLowerCase());
}
