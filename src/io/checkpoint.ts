/**
 * Checkpoint contents as bytes (browser-safe): three files that together describe a training run at the end
 * of an epoch.
 *
 * - `model.safetensors`: the model's state dict (parameters and buffers) by dotted key, float32.
 * - `optimizer.safetensors`: every tensor inside the optimizer's state dict (moments, momentum buffers), keyed by
 *   its path in that state dict (`state.3.expAvg`).
 * - `checkpoint.json`: everything else: format version, model name and config, dataset and class names,
 *   normalisation, optimizer name and its non-tensor state (with `{"$tensor": key}` where a tensor was), schedule
 *   state, epoch, global step, RNG states, metrics history and the best metric, plus the size and SHA-256 of the
 *   two tensor files (filled in by the writer in src/node/checkpoint.ts).
 *
 * The Node side (src/node/checkpoint.ts) writes these files atomically; the browser can offer them as downloads.
 */
import { Tensor } from '../tensor/tensor.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsInput } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'convkit-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const META_FILE = 'checkpoint.json';

/** A JSON value (what `checkpoint.json` can hold). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The state of a seeded generator (mirrors `GeneratorState` in src/tensor/random.ts). */
export interface RngState {
  s: [number, number, number, number];
  spareNormal: number | null;
}

/** Metrics of one finished epoch. */
export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** On the validation split of the training set, when the run has one (`fit({ validation })`). */
  validationLoss?: number;
  validationAccuracy?: number;
  /** Learning rate at the end of the epoch. */
  lr: number;
  /** Wall-clock seconds of the epoch (training + evaluation). */
  seconds: number;
  /** Training throughput, images per second. */
  imagesPerSecond: number;
}

export interface CheckpointMeta {
  model: { name: string; config: { [key: string]: JsonValue } };
  dataset: {
    name: string;
    /** Where the data came from (`debian`, `embedded`, a directory, ...). */
    source?: string;
    classNames: string[];
    /** Input image shape [C, H, W]. */
    inputShape: [number, number, number];
    normalization: { mean: number[]; std: number[] } | null;
  } | null;
  optimizer: { name: string; hyperparameters: { [key: string]: JsonValue } } | null;
  scheduler: { name: string; state: JsonValue } | null;
  /** Completed epochs. */
  epoch: number;
  /** Completed optimizer steps. */
  globalStep: number;
  rng: { default: RngState; loader: { epoch: number; generator: RngState } | null } | null;
  /** Training settings needed to continue the run (seed, batch size, planned epochs, ...). */
  training: { [key: string]: JsonValue };
  metrics: { history: EpochMetrics[]; best: { metric: BestMetric; value: number; epoch: number } | null };
}

/**
 * The metrics `best` may be picked on: validation accuracy when the run had a validation split, else test
 * accuracy (every checkpoint written before validation splits existed says 'testAccuracy').
 */
export const BEST_METRICS = ['validationAccuracy', 'testAccuracy'] as const;
export type BestMetric = (typeof BEST_METRICS)[number];

/** A whole checkpoint in memory. */
export interface Checkpoint {
  meta: CheckpointMeta;
  /** Model state dict by dotted key (what `Module.stateDict()` returns and `loadStateDict()` takes). */
  modelState: Record<string, Tensor>;
  /** The optimizer's state dict with its tensors in place, or null when there is none (e.g. an exported model). */
  optimizerState: unknown;
}

/** Bytes of the three files; `checkpoint.json` is completed by the writer with file sizes and hashes. */
export interface CheckpointFiles {
  [MODEL_FILE]: Uint8Array;
  [OPTIMIZER_FILE]: Uint8Array | null;
  /** The JSON document without `files` (the writer adds sizes and hashes). */
  meta: { [key: string]: JsonValue };
}

/** A checkpoint that is missing, corrupt, or from an unknown format version. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

// ---- tensors inside arbitrary state objects <-> JSON with references

function isTensorLike(v: unknown): v is Tensor {
  return v instanceof Tensor;
}

/**
 * Split a state object into JSON (tensors replaced by `{"$tensor": key}`) and the tensors by key.
 * Handles plain objects, arrays, Maps, Tensors, Float32Array/Int32Array, and non-finite numbers.
 */
export function splitTensors(value: unknown, tensors: Map<string, SafetensorsInput>, path: string[] = []): JsonValue {
  const key = path.join('.');
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    return { $number: String(value) };
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (isTensorLike(value)) {
    tensors.set(key, { data: value.data, shape: value.shape });
    return { $tensor: key };
  }
  if (value instanceof Float32Array) {
    tensors.set(key, { data: value, shape: [value.length] });
    return { $float32: key };
  }
  if (value instanceof Int32Array || value instanceof Uint32Array || value instanceof Uint8Array) {
    return { $typed: value.constructor.name, values: Array.from(value) };
  }
  if (value instanceof Map) {
    return { $map: [...value.entries()].map(([k, v], i) => [splitTensors(k, tensors, [...path, `k${i}`]), splitTensors(v, tensors, [...path, String(k)])]) };
  }
  if (Array.isArray(value)) return value.map((v, i) => splitTensors(v, tensors, [...path, String(i)]));
  if (typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined || typeof v === 'function') continue;
      out[k] = splitTensors(v, tensors, [...path, k]);
    }
    return out;
  }
  throw new CheckpointError(`checkpoint: cannot store a value of type ${typeof value} at '${key}'`);
}

/** Inverse of `splitTensors`. */
export function joinTensors(value: JsonValue, tensors: Map<string, { data: Float32Array; shape: readonly number[] }>, fileName = OPTIMIZER_FILE): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => joinTensors(v, tensors, fileName));
  if (typeof value['$tensor'] === 'string' || typeof value['$float32'] === 'string') {
    const key = (value['$tensor'] ?? value['$float32']) as string;
    const t = tensors.get(key);
    if (!t) throw new CheckpointError(`checkpoint: ${fileName} has no tensor '${key}' that ${META_FILE} refers to`);
    return typeof value['$tensor'] === 'string' ? new Tensor(t.data, t.shape) : t.data;
  }
  if (typeof value['$number'] === 'string') return Number(value['$number']);
  if (typeof value['$typed'] === 'string' && Array.isArray(value['values'])) {
    const values = value['values'] as number[];
    switch (value['$typed']) {
      case 'Int32Array': return Int32Array.from(values);
      case 'Uint32Array': return Uint32Array.from(values);
      default: return Uint8Array.from(values);
    }
  }
  if (Array.isArray(value['$map'])) {
    return new Map((value['$map'] as JsonValue[][]).map(([k, v]) => [joinTensors(k ?? null, tensors, fileName), joinTensors(v ?? null, tensors, fileName)]));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // An own "__proto__" key from the file stays a key: `out[k] =` would set the object's prototype instead.
    if (k === '__proto__') Object.defineProperty(out, k, { value: joinTensors(v, tensors, fileName), enumerable: true, writable: true, configurable: true });
    else out[k] = joinTensors(v, tensors, fileName);
  }
  return out;
}

// ---- encode / decode

/** Serialise a checkpoint to the bytes of its tensor files and the JSON document (without `files`). */
export function encodeCheckpoint(ck: Checkpoint): CheckpointFiles {
  const modelTensors = new Map<string, SafetensorsInput>();
  for (const [k, t] of Object.entries(ck.modelState)) modelTensors.set(k, { data: t.data, shape: t.shape });
  const model = encodeSafetensors(modelTensors, { format: 'pt', producer: 'convkit', model: ck.meta.model.name }, { fileName: MODEL_FILE });
  let optimizer: Uint8Array | null = null;
  let optimizerJson: JsonValue = null;
  if (ck.optimizerState !== null && ck.optimizerState !== undefined) {
    const optTensors = new Map<string, SafetensorsInput>();
    optimizerJson = splitTensors(ck.optimizerState, optTensors);
    optimizer = encodeSafetensors(optTensors, { producer: 'convkit' }, { fileName: OPTIMIZER_FILE });
  }
  const meta: { [key: string]: JsonValue } = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    ...(ck.meta as unknown as { [key: string]: JsonValue }),
    optimizerState: optimizerJson,
  };
  return { [MODEL_FILE]: model, [OPTIMIZER_FILE]: optimizer, meta };
}

function need(cond: unknown, what: string): asserts cond {
  if (!cond) throw new CheckpointError(`checkpoint: ${META_FILE} is invalid: ${what}`);
}

/** Limits a checkpoint.json must respect: anything past them is a damaged or hostile file, not a model. */
export const META_LIMITS = {
  /** Nesting of objects and arrays (the optimizer state is about 5 deep). */
  depth: 64,
  channels: 64,
  /** Height and width of the input image. */
  side: 4096,
  /** C x H x W of one input image. */
  inputValues: 2 ** 24,
  classes: 100_000,
  classNameLength: 1000,
  epochs: 1e9,
} as const;

/** The deepest nesting of arrays and objects in a JSON value, walked without recursion (stops past `limit`). */
function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return deepest;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown, max: number): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;

/**
 * Bounds on optimizer hyperparameters wherever they appear (meta.optimizer.hyperparameters and the param groups
 * of the optimizer state): a resumed run must not fail inside Adam.step with "number 5000000 is not iterable".
 */
function checkHyperparameters(h: Record<string, unknown>, what: string, at: string): void {
  for (const [key, v] of Object.entries(h)) {
    if (key === 'params') continue;
    if (key === 'betas') {
      need(Array.isArray(v) && v.length === 2 && v.every((b) => isFiniteNumber(b) && b >= 0 && b < 1), `${what}.betas must be two numbers in [0, 1), got ${describe(v)}${at}`);
    } else if (key === 'lr' || key === 'initialLr' || key === 'weightDecay' || key === 'dampening') {
      need(isFiniteNumber(v) && v >= 0, `${what}.${key} must be a finite number >= 0, got ${describe(v)}${at}`);
    } else if (key === 'momentum') {
      need(isFiniteNumber(v) && v >= 0 && v <= 1, `${what}.momentum must be in [0, 1], got ${describe(v)}${at}`);
    } else if (key === 'eps') {
      need(isFiniteNumber(v) && v > 0, `${what}.eps must be a positive number, got ${describe(v)}${at}`);
    } else if (typeof v === 'number') {
      need(Number.isFinite(v), `${what}.${key} must be finite, got ${describe(v)}${at}`);
    }
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 60 ? text.slice(0, 60) + '...' : text;
}

/**
 * Check the JSON document against the checkpoint schema, with bounds, and return it typed. `where` names the
 * directory in messages. Every field a loader reads is checked here, so a damaged or edited file is one
 * CheckpointError naming the field, never a TypeError deep inside predict, fit or an optimizer.
 */
export function validateMeta(json: unknown, where = ''): CheckpointMeta & { optimizerState: JsonValue } {
  const at = where ? ` (${where})` : '';
  need(isObject(json), `expected a JSON object${at}`);
  need(jsonDepth(json, META_LIMITS.depth) <= META_LIMITS.depth, `nested more than ${META_LIMITS.depth} levels deep${at}`);
  const m = json;
  need(m['format'] === CHECKPOINT_FORMAT, `format is ${JSON.stringify(m['format'])}, expected "${CHECKPOINT_FORMAT}"${at}`);
  if (m['version'] !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`checkpoint: ${META_FILE}${at} has format version ${JSON.stringify(m['version'])}; this convkit reads version ${CHECKPOINT_VERSION}`);
  }
  const model = m['model'];
  need(isObject(model) && typeof model['name'] === 'string' && model['name'].length > 0 && model['name'].length <= 200, `model.name is missing${at}`);
  need(isObject(model['config']), `model.config is missing${at}`);
  need(isCount(m['epoch'], META_LIMITS.epochs), `epoch must be a non-negative integer${at}`);
  need(isCount(m['globalStep'], Number.MAX_SAFE_INTEGER), `globalStep must be a non-negative integer${at}`);

  const ds = m['dataset'];
  if (ds !== null && ds !== undefined) {
    need(isObject(ds), `dataset must be an object or null${at}`);
    need(typeof ds['name'] === 'string', `dataset.name must be a string${at}`);
    const names = ds['classNames'];
    need(Array.isArray(names) && names.length >= 1 && names.length <= META_LIMITS.classes && names.every((c) => typeof c === 'string' && c.length <= META_LIMITS.classNameLength),
      `dataset.classNames must be a list of 1..${META_LIMITS.classes} strings${at}`);
    const shape = ds['inputShape'];
    need(Array.isArray(shape) && shape.length === 3 && shape.every((d) => Number.isInteger(d) && d >= 1), `dataset.inputShape must be [C, H, W] with positive integers, got ${describe(shape)}${at}`);
    const [c, h, w] = shape as [number, number, number];
    need(c <= META_LIMITS.channels && h <= META_LIMITS.side && w <= META_LIMITS.side && c * h * w <= META_LIMITS.inputValues,
      `dataset.inputShape ${describe(shape)} is out of bounds (at most ${META_LIMITS.channels} channels and ${META_LIMITS.side}x${META_LIMITS.side} pixels)${at}`);
    const norm = ds['normalization'];
    if (norm !== null && norm !== undefined) {
      need(isObject(norm), `dataset.normalization must be {mean, std} or null${at}`);
      const mean = norm['mean'], std = norm['std'];
      need(Array.isArray(mean) && mean.length >= 1 && mean.length <= c && mean.every(isFiniteNumber), `dataset.normalization.mean must be 1..${c} finite numbers, got ${describe(mean)}${at}`);
      need(Array.isArray(std) && std.length >= 1 && std.length <= c && std.every((v) => isFiniteNumber(v) && v > 0), `dataset.normalization.std must be 1..${c} positive numbers, got ${describe(std)}${at}`);
    }
  }

  const optimizer = m['optimizer'];
  if (optimizer !== null && optimizer !== undefined) {
    need(isObject(optimizer) && typeof optimizer['name'] === 'string' && isObject(optimizer['hyperparameters']), `optimizer must be {name, hyperparameters} or null${at}`);
    checkHyperparameters(optimizer['hyperparameters'], 'optimizer.hyperparameters', at);
  }
  const state = m['optimizerState'];
  if (isObject(state) && Array.isArray(state['paramGroups'])) {
    state['paramGroups'].forEach((g, i) => {
      need(isObject(g), `optimizerState.paramGroups[${i}] must be an object${at}`);
      checkHyperparameters(g, `optimizerState.paramGroups[${i}]`, at);
    });
  }
  const scheduler = m['scheduler'];
  if (scheduler !== null && scheduler !== undefined) need(isObject(scheduler) && typeof scheduler['name'] === 'string', `scheduler must be {name, state} or null${at}`);

  const rng = m['rng'];
  if (rng !== null && rng !== undefined) {
    const isState = (r: unknown): boolean => isObject(r) && Array.isArray(r['s']) && r['s'].length === 4 && r['s'].every((v) => isCount(v, 2 ** 32 - 1))
      && (r['spareNormal'] === null || isFiniteNumber(r['spareNormal']));
    need(isObject(rng) && isState(rng['default']), `rng.default must be a generator state {s: four uint32, spareNormal}${at}`);
    const loader = rng['loader'];
    need(loader === null || loader === undefined || (isObject(loader) && isCount(loader['epoch'], META_LIMITS.epochs) && isState(loader['generator'])), `rng.loader must be {epoch, generator} or null${at}`);
  }
  need(m['training'] === undefined || isObject(m['training']), `training must be an object${at}`);

  const metrics = m['metrics'];
  need(isObject(metrics) && Array.isArray(metrics['history']), `metrics.history is missing${at}`);
  metrics['history'].forEach((e, i) => {
    need(isObject(e) && isCount(e['epoch'], META_LIMITS.epochs), `metrics.history[${i}] must be an epoch's metrics${at}`);
    for (const key of ['trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'validationLoss', 'validationAccuracy', 'lr', 'seconds', 'imagesPerSecond']) {
      need(e[key] === undefined || e[key] === null || typeof e[key] === 'number', `metrics.history[${i}].${key} must be a number${at}`);
    }
  });
  need('best' in metrics, `metrics.best is missing (null when no epoch finished)${at}`);
  const best = metrics['best'];
  need(best === null || (isObject(best) && typeof best['metric'] === 'string' && isFiniteNumber(best['value']) && isCount(best['epoch'], META_LIMITS.epochs)),
    `metrics.best must be {metric, value, epoch} or null, got ${describe(best)}${at}`);
  need(best === null || (BEST_METRICS as readonly unknown[]).includes(best['metric']),
    `metrics.best.metric must be one of ${BEST_METRICS.join(', ')} (the metric the best epoch was picked on), got ${describe(best?.['metric'])}${at}`);
  return m as unknown as CheckpointMeta & { optimizerState: JsonValue };
}

/** Rebuild a checkpoint from its JSON document and tensor-file bytes. */
export function decodeCheckpoint(
  metaJson: unknown,
  modelBytes: Uint8Array,
  optimizerBytes: Uint8Array | null,
  where = '',
): Checkpoint {
  const meta = validateMeta(metaJson, where);
  const prefix = where ? `${where}/` : '';
  const model = decodeSafetensors(modelBytes, { fileName: `${prefix}${MODEL_FILE}` });
  const modelState: Record<string, Tensor> = {};
  for (const [k, t] of model.tensors) modelState[k] = new Tensor(t.data, t.shape);
  let optimizerState: unknown = null;
  if (meta.optimizerState !== null && meta.optimizerState !== undefined) {
    if (!optimizerBytes) throw new CheckpointError(`checkpoint: ${prefix}${OPTIMIZER_FILE} is missing but ${META_FILE} has optimizer state`);
    const opt = decodeSafetensors(optimizerBytes, { fileName: `${prefix}${OPTIMIZER_FILE}` });
    optimizerState = joinTensors(meta.optimizerState, opt.tensors, `${prefix}${OPTIMIZER_FILE}`);
  }
  const { optimizerState: _omit, ...rest } = meta as CheckpointMeta & { optimizerState: JsonValue; format?: string; version?: number; files?: JsonValue };
  void _omit;
  const cleanMeta = { ...rest } as CheckpointMeta & { format?: string; version?: number; files?: JsonValue };
  delete cleanMeta.format;
  delete cleanMeta.version;
  delete cleanMeta.files;
  return { meta: cleanMeta, modelState, optimizerState };
}
