/**
 * What several commands share: choosing the backend, loading a dataset (built-in or an image folder) as a
 * train/test pair, building a model and its optimizer/schedule from flags, and restoring a model from a checkpoint.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BACKEND_NAMES, BACKEND_SETTINGS, describeBackend, describeSkipped, loadBackend, useBackend, type BackendSetting } from '../backend/registry.js';
import { backendFromEnv, MAX_THREADS, type Environment } from '../backend/settings.js';
import { isBuiltinDatasetName } from '../data/catalog.js';
import type { ImageDataset } from '../data/dataset.js';
import { Generator } from '../tensor/random.js';
import * as models from '../models/index.js';
import type { Module } from '../nn/module.js';
import { embeddedSubsetDir, loadBuiltinDataset, loadEmbeddedFashionMnist } from '../node/datasets.js';
import { loadImageFolder } from '../node/dataImages.js';
import type { Checkpoint } from '../io/checkpoint.js';
import { findCheckpointDir, loadCheckpoint } from '../node/checkpoint.js';
import { checkpointFromTar } from '../io/checkpointArchive.js';
import { decodeTar } from '../io/tar.js';
import { importOnnx, OnnxImportError } from '../io/onnx/import.js';
import { UsageError } from './errors.js';
import { choiceOption, intOption, type OptionSpecs, type ParsedArgs } from './options.js';

/** --backend's values: auto or a backend's name (the registry's list). */
export type BackendChoice = BackendSetting;

/** Help text of --backend's default. */
const BACKEND_DEFAULT_TEXT = 'auto, or $CONVKIT_BACKEND';

/** --backend and --threads, the same in every command that runs kernels (spread into its options). */
export const BACKEND_OPTIONS: OptionSpecs = {
  backend: {
    type: 'string', valueName: 'NAME', defaultText: BACKEND_DEFAULT_TEXT,
    description: `kernels: ${BACKEND_SETTINGS.join(', ')} (auto: the first of ${BACKEND_NAMES.join(', ')} that loads here)`,
  },
  threads: { type: 'string', valueName: 'N', description: 'threads of a backend with threads (all but reference)', defaultText: 'number of cores, or $CONVKIT_THREADS' },
};

/** --backend, and when it is not given CONVKIT_BACKEND (as for the library), else auto. */
export function backendOption(values: ParsedArgs['values'], env: Environment): BackendChoice {
  if (values['backend'] !== undefined) return choiceOption(values, 'backend', BACKEND_SETTINGS, 'auto');
  return backendFromEnv(env, BACKEND_NAMES); // an invalid value throws a BackendConfigError: one line, exit code 2
}

/** --threads, or undefined when not given (then CONVKIT_THREADS, else the number of cores). */
export function threadsOption(values: ParsedArgs['values']): number | undefined {
  return values['threads'] === undefined ? undefined : intOption(values, 'threads', 1, { min: 1, max: MAX_THREADS });
}

/**
 * Select the kernels: the backend `choice` names, or for `auto` the first of the registry's backends that loads
 * (native, then wasm; reference, plain TypeScript, always does), with `threads` when it has threads. Notes why
 * `auto` passed over faster backends. Returns a short description such as `native (avx2, 2 threads)`.
 */
export async function selectBackend(choice: BackendChoice, threads: number | undefined, note: (m: string) => void): Promise<string> {
  let loaded: Awaited<ReturnType<typeof loadBackend>>;
  try {
    loaded = await loadBackend(choice);
  } catch (e) {
    throw new UsageError(`--backend ${choice} is not available here: ${(e as Error).message}`);
  }
  const { backend, skipped } = loaded;
  if (threads !== undefined) {
    if (backend.setThreads) await backend.setThreads(threads);
    else if (threads > 1) note(`note: --threads has no effect on the ${backend.name} backend (it runs on one thread)`);
  }
  useBackend(backend);
  if (skipped.length > 0) note(`note: using the ${backend.name} backend${backend.name === 'reference' ? ' (slow)' : ''}: ${describeSkipped(skipped)}`);
  return describeBackend(backend);
}

/** The name under which the real Fashion-MNIST subset shipped in the package can be asked for directly. */
export const EMBEDDED_DATASET = 'fashion-mnist-subset';

export interface TrainTestData {
  train: ImageDataset;
  test: ImageDataset;
  /** `fashion-mnist`, `mnist`, or the folder path. */
  name: string;
  /** Where it came from, e.g. `debian (/usr/share/datasets/fashion-mnist)`. */
  source: string;
}

export interface DataRequest {
  /** `fashion-mnist`, `mnist`, or a folder of class subfolders. */
  dataset: string;
  /** `--data DIR`: where the IDX files of a built-in dataset are. */
  dataDir?: string;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Image folders: [H, W] and channels to decode to. */
  imageSize?: number;
  channels?: 1 | 3;
  /** Image folders without train/ and test/ subfolders: the held-out fraction and the seed of the split. */
  testFraction?: number;
  seed?: number;
  /** Image folders: skip unreadable images with a note instead of failing (`--skip-bad`). */
  skipBad?: boolean;
  note: (m: string) => void;
}

/** Load the train and test splits named by `--dataset` (and `--data`). */
export async function loadTrainTest(req: DataRequest): Promise<TrainTestData> {
  if (req.dataset === EMBEDDED_DATASET) {
    const train = loadEmbeddedFashionMnist('train');
    const test = loadEmbeddedFashionMnist('test');
    return { train, test, name: EMBEDDED_DATASET, source: `embedded subset (${embeddedSubsetDir()})` };
  }
  if (isBuiltinDatasetName(req.dataset)) {
    if (req.dataDir !== undefined && !existsSync(resolve(req.cwd, req.dataDir))) {
      throw new UsageError(`--data ${req.dataDir}: no such folder`);
    }
    const opts = {
      dataDir: req.dataDir !== undefined ? resolve(req.cwd, req.dataDir) : undefined,
      env: req.env,
      onInfo: req.note,
      onWarning: req.note,
    };
    const train = await loadBuiltinDataset(req.dataset, { ...opts, split: 'train' });
    const test = await loadBuiltinDataset(req.dataset, { ...opts, split: 'test' });
    const src = train.source;
    return { train, test, name: req.dataset, source: src.location ? `${src.kind} (${src.location})` : src.kind };
  }
  const dir = resolve(req.cwd, req.dataset);
  if (!existsSync(dir)) {
    throw new UsageError(`--dataset ${req.dataset}: not a built-in dataset (fashion-mnist, mnist, ${EMBEDDED_DATASET}) and no such folder`);
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`--dataset ${req.dataset}: is a file; expected a folder with one subfolder of images per class`);
  const decode = { size: req.imageSize ?? 28, channels: req.channels ?? 1, onWarning: req.note, skipBad: req.skipBad === true } as const;
  const trainDir = resolve(dir, 'train');
  const testDir = resolve(dir, 'test');
  if (existsSync(trainDir) && existsSync(testDir)) {
    const train = await loadImageFolder(trainDir, decode);
    const test = await loadImageFolder(testDir, decode);
    if (train.classNames.join('\n') !== test.classNames.join('\n')) {
      throw new UsageError(`--dataset ${req.dataset}: train/ and test/ have different class folders (${train.classNames.join(', ')} vs ${test.classNames.join(', ')})`);
    }
    return { train, test, name: dir, source: `image folder (${dir}, train/ and test/)` };
  }
  const all = await loadImageFolder(dir, decode);
  const fraction = req.testFraction ?? 0.2;
  const order = new Generator(req.seed ?? 0).permutation(all.length);
  const nTest = Math.max(1, Math.round(all.length * fraction));
  if (all.length - nTest < 1) throw new UsageError(`--dataset ${req.dataset}: only ${all.length} images; need at least 2 to hold some out for testing`);
  const test = all.subset(order.subarray(0, nTest), `${req.dataset} (held-out ${Math.round(fraction * 100)}%)`);
  const train = all.subset(order.subarray(nTest), `${req.dataset} (train)`);
  return { train, test, name: dir, source: `image folder (${dir}, ${Math.round(fraction * 100)}% held out by seed ${req.seed ?? 0})` };
}

/** Check a model name against the registry. */
export function checkModelName(name: string): void {
  if (!models.has(name)) {
    throw new UsageError(`--model ${name}: unknown model (available: ${models.list().map((m) => m.name).join(', ')})`);
  }
}

export { modelConfigFor } from '../train/setup.js';

/** The model name of a checkpoint made by `convkit import --onnx`: config `{ file: 'model.onnx' }` names the ONNX file beside it. */
export const ONNX_CHECKPOINT_MODEL = 'onnx';

/**
 * Rebuild the network a checkpoint was trained as, with its weights loaded. A zoo model is created from the registry;
 * an imported one (`model.name` 'onnx') is rebuilt from its ONNX file, read by `readFile(name)` (by default from the
 * checkpoint folder `where`), and then gets the checkpoint's weights like any other model.
 */
export function modelFromCheckpoint(ck: Checkpoint, where: string, readFile: (name: string) => Uint8Array = (name) => readFileSync(join(where, name))): Module {
  const { name, config } = ck.meta.model;
  if (name === ONNX_CHECKPOINT_MODEL) return onnxModelFromCheckpoint(ck, where, readFile);
  if (!models.has(name)) throw new UsageError(`checkpoint ${where}: model '${name}' is not in this convkit's registry (available: ${models.list().map((m) => m.name).join(', ')})`);
  const net = models.create(name, config as models.ModelOptions);
  return loadWeights(net, ck, where, name);
}

function onnxModelFromCheckpoint(ck: Checkpoint, where: string, readFile: (name: string) => Uint8Array): Module {
  const file = ck.meta.model.config['file'];
  // Only a plain file name beside checkpoint.json: a checkpoint from elsewhere must not make us read other paths.
  if (typeof file !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*\.onnx$/.test(file)) {
    throw new UsageError(`checkpoint ${where}: model 'onnx' needs config.file, the name of an .onnx file beside checkpoint.json (got ${JSON.stringify(file)})`);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFile(file);
  } catch (e) {
    throw new UsageError(`checkpoint ${where}: cannot read its ONNX file ${file}: ${(e as Error).message}`);
  }
  let net: Module;
  try {
    net = importOnnx(bytes, { source: file, inputShape: ck.meta.dataset?.inputShape });
  } catch (e) {
    if (e instanceof OnnxImportError) throw new UsageError(`checkpoint ${where}: ${e.message}`);
    throw e;
  }
  return loadWeights(net, ck, where, `onnx (${file})`);
}

function loadWeights(net: Module, ck: Checkpoint, where: string, name: string): Module {
  try {
    net.loadStateDict(ck.modelState);
  } catch (e) {
    throw new UsageError(`checkpoint ${where}: the weights do not fit model '${name}': ${(e as Error).message}`);
  }
  net.eval();
  return net;
}

// Optimizers, schedules and the model config are browser-safe and shared with the explorer: src/train/setup.ts.
export { OPTIMIZERS, SCHEDULES, makeOptimizer, makeScheduler, type OptimizerName, type ScheduleName, type OptimizerSettings } from '../train/setup.js';

/** A percentage with one decimal. */
export function percent(x: number): string {
  return Number.isNaN(x) ? '-' : `${(x * 100).toFixed(1)}%`;
}

/**
 * Load the checkpoint named by `--checkpoint` (a checkpoint folder, a run folder holding best/ or last/,
 * best preferred, or a .tar of either, as the explorer page downloads it) and rebuild its model. Weights only: the optimizer state is not read.
 */
export async function loadModelCheckpoint(arg: string | undefined, cwd: string): Promise<{ ck: Checkpoint; net: Module; dir: string }> {
  if (arg === undefined) throw new UsageError('--checkpoint DIR is required (a folder written by convkit train or convkit demo)');
  let dir = resolve(cwd, arg);
  // A save interrupted between its two renames leaves the previous checkpoint in .NAME.old: use it.
  const found = findCheckpointDir(dir);
  if (!existsSync(dir) && !found) throw new UsageError(`--checkpoint ${arg}: no such folder`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    // The explorer page downloads a checkpoint as one .tar of its folder (a browser saves one file per download).
    if (!dir.toLowerCase().endsWith('.tar')) {
      throw new UsageError(`--checkpoint ${arg}: is a file; a checkpoint is a folder with checkpoint.json and model.safetensors, or a .tar of one`);
    }
    const tarBytes = new Uint8Array(readFileSync(dir));
    const { checkpoint: ck, folder } = await checkpointFromTar(tarBytes, dir, { skipOptimizer: true });
    // An imported ONNX model's file travels in the same folder of the archive.
    const fromTar = (name: string): Uint8Array => {
      const path = folder === '' ? name : `${folder}/${name}`;
      const entry = decodeTar(tarBytes, dir).find((e) => e.path === path);
      if (!entry) throw new Error(`${path} is not in the archive`);
      return entry.bytes;
    };
    return { ck, net: modelFromCheckpoint(ck, dir, fromTar), dir };
  }
  if (found) dir = found.dir;
  const ck = await loadCheckpoint(dir, { skipOptimizer: true });
  const net = modelFromCheckpoint(ck, dir);
  return { ck, net, dir };
}
