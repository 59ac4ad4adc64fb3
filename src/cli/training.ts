/**
 * One training run from CLI settings, shared by `convkit train` and `convkit demo`: backend, data,
 * normalisation, model, optimizer, schedule, loaders, progress, checkpoints under `<out>/last` and `<out>/best`,
 * and exact `--resume` from `<out>/last`.
 */
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { summary } from '../inspect/summary.js';
import { manualSeed, Generator, defaultGenerator } from '../tensor/random.js';
import * as models from '../models/index.js';
import type { Module } from '../nn/module.js';
import { DataLoader } from '../data/loader.js';
import { normalize } from '../data/transforms.js';
import { AUGMENTATIONS, trainTransform, type Augmentation } from '../train/setup.js';
import type { ImageDataset } from '../data/dataset.js';
import { splitValidation } from '../data/split.js';
import { fit, type FitResult } from '../train/trainer.js';
import type { Checkpoint, JsonValue } from '../io/checkpoint.js';
import { checkpointExists, checkpointSaver, findCheckpointDir, loadCheckpoint } from '../node/checkpoint.js';
import { TrainingProgress, jsonLine } from '../node/progress.js';
import type { CommandContext } from './command.js';
import { UsageError } from './errors.js';
import {
  checkModelName, loadModelCheckpoint, loadTrainTest, makeOptimizer, makeScheduler, modelConfigFor, modelFromCheckpoint, ONNX_CHECKPOINT_MODEL, selectBackend,
  type BackendChoice, type OptimizerName, type ScheduleName, type TrainTestData,
} from './runtime.js';

export { AUGMENTATIONS, type Augmentation };

/** Everything that defines a run; stored in the checkpoint so `--resume` continues the same run. */
export interface TrainSettings {
  /** Start from this checkpoint's model and weights (fine-tuning; e.g. one written by convkit import). */
  init?: string;
  /** Image folders: skip unreadable images instead of stopping. */
  skipBad?: boolean;
  model: string;
  dataset: string;
  dataDir?: string;
  epochs: number;
  batch: number;
  opt: OptimizerName;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: ScheduleName;
  augment: Augmentation;
  seed: number;
  backend: BackendChoice;
  threads?: number;
  out: string;
  resume: boolean;
  /** Replace the checkpoints of an earlier run in the same folder. */
  force?: boolean;
  json: boolean;
  /** Use only the first N training / test images (quick runs). */
  trainLimit?: number;
  testLimit?: number;
  /**
   * Hold out this fraction of the training set (stratified, seeded by `seed`) as a validation split: `best` is
   * then picked on validation accuracy instead of test accuracy.
   */
  valSplit?: number;
  /** Stop after this many epochs without a validation improvement (needs valSplit). */
  earlyStop?: number;
  /** Image folders: decode size and channels. */
  imageSize: number;
  channels: 1 | 3;
}

/** Settings that must equal the checkpoint's when resuming (the rest may change, e.g. --epochs to extend). */
const RUN_DEFINING: readonly (keyof TrainSettings)[] = [
  'model', 'dataset', 'batch', 'opt', 'lr', 'momentum', 'weightDecay', 'schedule', 'augment', 'seed', 'trainLimit', 'testLimit', 'valSplit', 'earlyStop', 'imageSize', 'channels',
];

export interface TrainRun {
  result: FitResult;
  net: Module;
  /** `train` is what the model trained on: the training set less the validation split, when there is one. */
  data: TrainTestData;
  validation: ImageDataset | null;
  normalization: { mean: number[]; std: number[] };
  settings: TrainSettings;
  outDir: string;
  backend: string;
  seconds: number;
}

function limit(ds: ImageDataset, n: number | undefined): ImageDataset {
  return n !== undefined && n < ds.length ? ds.take(n) : ds;
}

/** Merge the checkpoint's settings under `--resume`, refusing flags that would make a different run. */
function resumeSettings(given: TrainSettings, explicit: ReadonlySet<string>, ck: Checkpoint, outDir: string): TrainSettings {
  const saved = ck.meta.training['settings'] as Partial<TrainSettings> | undefined;
  if (!saved) throw new UsageError(`--resume: ${outDir}/last was not written by convkit train (no run settings in checkpoint.json)`);
  const merged = { ...given };
  for (const key of RUN_DEFINING) {
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (explicit.has(flag) && saved[key] !== given[key]) {
      throw new UsageError(`--resume: --${flag} ${String(given[key])} differs from the checkpoint's ${String(saved[key])}; drop the flag to continue the same run`);
    }
    (merged as unknown as Record<string, unknown>)[key] = saved[key];
  }
  if (!explicit.has('epochs')) merged.epochs = saved.epochs ?? given.epochs;
  if (merged.epochs !== saved.epochs && (merged.schedule === 'onecycle' || merged.schedule === 'cosine')) {
    throw new UsageError(`--resume: the ${merged.schedule} schedule of this run was planned for ${String(saved.epochs)} epochs and cannot be stretched to ${merged.epochs}; resume without --epochs, or start a new run`);
  }
  if (!explicit.has('data') && saved.dataDir !== undefined) merged.dataDir = saved.dataDir;
  return merged;
}

/** Train (or resume) a run; prints progress to ctx.err and JSON lines (with --json) to ctx.out. */
export async function runTraining(initial: TrainSettings, ctx: CommandContext, explicit: ReadonlySet<string> = new Set()): Promise<TrainRun> {
  const note = (m: string): void => { ctx.err.write(m + '\n'); };
  const outDir = resolve(ctx.cwd, initial.out);
  let settings = initial;
  let resume: Checkpoint | null = null;
  if (initial.resume) {
    const lastDir = join(outDir, 'last');
    if (!checkpointExists(lastDir)) throw new UsageError(`--resume: no checkpoint in ${lastDir} (train without --resume first, or pass --out)`);
    resume = await loadCheckpoint(lastDir);
    settings = resumeSettings(initial, explicit, resume, outDir);
    if (resume.meta.epoch >= settings.epochs) {
      throw new UsageError(`--resume: the run in ${outDir} already finished ${resume.meta.epoch} of ${settings.epochs} epochs; pass --epochs N (> ${resume.meta.epoch}) to train longer`);
    }
  } else if (!initial.force && checkpointExists(join(outDir, 'last'))) {
    throw new UsageError(`${join(outDir, 'last')} already holds a checkpoint; continue it with --resume, or pass --out DIR for a new run (or --force to overwrite)`);
  }
  // The network to train: a zoo model by name, or (--init, or resuming such a run) one rebuilt from a checkpoint,
  // which may be an imported ONNX graph that travels beside the weights.
  let initial_: { ck: Checkpoint; net: Module; dir: string } | null = null;
  if (settings.init !== undefined && !initial.resume) {
    initial_ = await loadModelCheckpoint(settings.init, ctx.cwd);
    settings = { ...settings, model: initial_.ck.meta.model.name };
  } else if (resume && resume.meta.model.name === ONNX_CHECKPOINT_MODEL) {
    const lastDir = findCheckpointDir(join(outDir, 'last'))!.dir;
    initial_ = { ck: resume, net: modelFromCheckpoint(resume, lastDir), dir: lastDir };
  }
  if (!initial_) checkModelName(settings.model);
  const graphFiles = graphFilesOf(initial_);
  // Before any data is loaded or any epoch trained: a run that cannot save must fail now, not at its first save.
  checkOutputFolder(outDir, initial.out);

  const backend = await selectBackend(settings.backend, settings.threads, note);
  const loaded = await loadTrainTest({
    dataset: settings.dataset, dataDir: settings.dataDir, env: ctx.env, cwd: ctx.cwd,
    imageSize: settings.imageSize, channels: settings.channels, seed: settings.seed, skipBad: settings.skipBad, note,
  });
  const limited = limit(loaded.train, settings.trainLimit);
  const split = settings.valSplit === undefined ? null : splitForValidation(limited, settings.valSplit, settings.seed);
  const data: TrainTestData = { ...loaded, train: split?.train ?? limited, test: limit(loaded.test, settings.testLimit) };
  const { train, test } = data;
  const validation = split?.validation ?? null;
  note(`data: ${data.name} from ${data.source}: ${train.length} train / ${validation ? `${validation.length} validation (${describeSplit(settings)}) / ` : ''}${test.length} test images, ${train.numClasses} classes`);
  note(`backend: ${backend}`);

  if (initial_?.ck.meta.dataset) {
    const want = initial_.ck.meta.dataset;
    const got = [train.channels, train.height, train.width];
    if (want.inputShape.join('x') !== got.join('x')) throw new UsageError(`--init ${settings.init}: the model takes ${want.inputShape.join('x')} inputs, the data is ${got.join('x')} (use --image-size / --channels)`);
    if (want.classNames.length !== train.numClasses) throw new UsageError(`--init ${settings.init}: the model has ${want.classNames.length} classes, the data ${train.numClasses}`);
  }
  // A model that already learned keeps the normalisation it learned with.
  const normalization = resume?.meta.dataset?.normalization ?? initial_?.ck.meta.dataset?.normalization ?? train.channelStats();
  const norm = normalize(normalization.mean, normalization.std);

  manualSeed(settings.seed);
  const config = initial_ ? initial_.ck.meta.model.config : modelConfigFor({ numClasses: train.numClasses, channels: train.channels, height: train.height, width: train.width });
  const net = initial_ ? initial_.net : models.create(settings.model, config);
  if (initial_) net.train();
  // A batch larger than the training set is the whole set at once.
  checkBatchMemory(net, [train.channels, train.height, train.width], Math.min(settings.batch, train.length), settings.model, settings.batch);
  const { optimizer, meta: optMeta } = makeOptimizer(net, { name: settings.opt, lr: settings.lr, momentum: settings.momentum, weightDecay: settings.weightDecay });
  const trainLoader = new DataLoader(train, {
    batchSize: settings.batch, shuffle: true, generator: new Generator(settings.seed + 1),
    transform: trainTransform(settings.augment, train.height, norm), reuseBuffer: true,
  });
  const testLoader = new DataLoader(test, { batchSize: Math.max(settings.batch, 256), transform: norm, reuseBuffer: true });
  const validationLoader = validation ? new DataLoader(validation, { batchSize: Math.max(settings.batch, 256), transform: norm, reuseBuffer: true }) : null;
  const scheduler = makeScheduler(settings.schedule, optimizer, settings.lr, settings.epochs, trainLoader.length);
  note(`model: ${settings.model} (${net.numParameters().toLocaleString('en-US')} parameters), ${settings.opt} lr ${settings.lr}, schedule ${settings.schedule}, ` +
    `batch ${settings.batch}, ${settings.epochs} epochs, augment ${settings.augment}, seed ${settings.seed}`);
  note(validation
    ? `best: picked on validation accuracy${settings.earlyStop ? `; stops after ${settings.earlyStop} epoch(s) without a validation improvement` : ''}; the test set is only reported`
    : 'best: picked on test accuracy (pass --val-split F to pick it on a validation split instead)');

  const progress = new TrainingProgress(ctx.err);
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  const settingsJson = JSON.parse(JSON.stringify({ ...settings, resume: false, json: false })) as JsonValue;
  const t0 = performance.now();
  let result: FitResult;
  try {
    result = await fit({
      model: net, optimizer, train: trainLoader, test: testLoader, validation: validationLoader, epochs: settings.epochs, scheduler,
      earlyStopping: settings.earlyStop !== undefined ? { patience: settings.earlyStop } : null,
      generator: defaultGenerator,
      info: {
        model: { name: settings.model, config: config as { [key: string]: JsonValue } },
        dataset: {
          name: data.name, source: data.source, classNames: [...train.classNames],
          inputShape: [train.channels, train.height, train.width], normalization,
        },
        optimizer: optMeta,
        schedulerName: settings.schedule,
        training: { seed: settings.seed, settings: settingsJson },
      },
      saveCheckpoint: checkpointSaver(outDir, { extraFiles: graphFiles }),
      resume,
      signal: controller.signal,
      onEvent: (e) => {
        progress.handle(e);
        if (settings.json && e.type === 'epochEnd') {
          ctx.out.write(jsonLine({ type: 'epoch', ...e.metrics, perClassAccuracy: e.evaluation.perClassAccuracy, best: e.isBest }) + '\n');
        }
      },
    });
  } catch (e) {
    progress.stop();
    if ((e as Error).name === 'TrainingAbortedError') {
      throw Object.assign(new Error(`training interrupted; the last finished epoch is saved in ${join(outDir, 'last')}; continue with the same command and --resume`), { name: 'TrainingAbortedError' });
    }
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  return { result, net, data, validation, normalization, settings, outDir, backend, seconds: (performance.now() - t0) / 1000 };
}

/** The validation split of `--val-split F`; a split that leaves a part empty is the user's to fix. */
function splitForValidation(train: ImageDataset, fraction: number, seed: number): { train: ImageDataset; validation: ImageDataset } {
  try {
    return splitValidation(train, fraction, seed);
  } catch (e) {
    throw new UsageError(`--val-split ${fraction}: ${(e as Error).message}`);
  }
}

/** "10 % of the training set, stratified, seed 0". */
export function describeSplit(settings: Pick<TrainSettings, 'valSplit' | 'seed'>): string {
  return `${+((settings.valSplit ?? 0) * 100).toFixed(2)} % of the training set, stratified, seed ${settings.seed}`;
}

/** The final `--json` line of a run. */
export function summaryJson(run: TrainRun): string {
  const r = run.result;
  return jsonLine({
    type: 'summary',
    model: run.settings.model,
    dataset: run.data.name,
    source: run.data.source,
    backend: run.backend,
    epochs: r.epochsCompleted,
    globalStep: r.globalStep,
    testAccuracy: r.final.accuracy,
    testLoss: r.final.loss,
    best: r.best,
    ...(run.validation ? {
      validationSplit: run.settings.valSplit, validationExamples: run.validation.length,
      validationAccuracy: r.finalValidation?.accuracy, validationLoss: r.finalValidation?.loss, earlyStop: r.earlyStop,
    } : {}),
    perClassAccuracy: Object.fromEntries(run.data.train.classNames.map((c, i) => [c, r.final.perClassAccuracy[i]])),
    confusion: r.final.confusion,
    seconds: run.seconds,
    checkpoint: join(run.outDir, 'last'),
    bestCheckpoint: join(run.outDir, 'best'),
  });
}

/**
 * The --out folder exists (or can be made) and takes files: checked before training, so a read-only place or a
 * name that is a file fails at once with one line, not as an internal error at the end of the first epoch.
 */
export function checkOutputFolder(outDir: string, given: string): void {
  try {
    makeFolders(outDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new UsageError(`--out ${given}: ${outDir} (or a folder above it) is a file, not a folder; pass --out DIR for the run's checkpoints`);
    throw new UsageError(`--out ${given}: cannot create ${outDir} (${code ?? (e as Error).message}); pass --out DIR in a place you can write`);
  }
  if (!statSync(outDir).isDirectory()) throw new UsageError(`--out ${given}: ${outDir} is a file, not a folder`);
  const probe = join(outDir, `.convkit-write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (e) {
    throw new UsageError(`--out ${given}: cannot write in ${outDir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); pass --out DIR in a place you can write`);
  }
}

/** Memory a training step may take for its activations: half the machine, and at most what a wasm32 heap holds. */
const ACTIVATION_BUDGET_BYTES = Math.min(totalmem() / 2, 3 * 2 ** 30);

/**
 * Refuse a batch whose activations cannot fit before training starts (--batch 65536 ran out of memory as an
 * internal error). Estimate: every layer's output (summary()'s shapes) kept for the backward pass, its gradient,
 * and the step's temporaries: 3 float32 copies per value.
 */
export function checkBatchMemory(net: Module, inputShape: readonly [number, number, number], batch: number, modelName: string, given = batch): void {
  const s = summary(net, inputShape);
  const perImage = s.rows.filter((r) => r.leaf).reduce((sum, r) => sum + r.outputShape.slice(1).reduce((a, b) => a * b, 1), 0);
  const bytesPerImage = perImage * 4 * 3;
  const needed = bytesPerImage * batch;
  if (needed > ACTIVATION_BUDGET_BYTES) {
    const largest = Math.max(1, Math.floor(ACTIVATION_BUDGET_BYTES / bytesPerImage));
    throw new UsageError(`--batch ${given}: ${modelName} on ${inputShape.join('x')} images needs about ${(needed / 2 ** 30).toFixed(1)} GiB for one step's activations${given > batch ? ` (batches of ${batch}, the whole training set)` : ''} ` +
      `(${(bytesPerImage / 2 ** 20).toFixed(2)} MiB per image), more than the ${(ACTIVATION_BUDGET_BYTES / 2 ** 30).toFixed(1)} GiB convkit allows itself here; use --batch ${largest} or less`);
  }
}

/**
 * mkdir -p, one folder at a time: Node 20's `mkdirSync(path, { recursive: true })` never returns for a path under
 * /proc that cannot be made (it retries ENOENT forever; seen with --out /proc/nope).
 */
function makeFolders(path: string): void {
  const missing: string[] = [];
  let at = path;
  while (!existsSync(at)) {
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const folder of missing.reverse()) mkdirSync(folder);
}

/** The files beside the weights that a checkpoint's model needs (an imported ONNX graph), to save with every epoch. */
function graphFilesOf(source: { ck: Checkpoint; dir: string } | null): Record<string, Uint8Array> {
  if (!source || source.ck.meta.model.name !== ONNX_CHECKPOINT_MODEL) return {};
  const file = source.ck.meta.model.config['file'];
  if (typeof file !== 'string' || !existsSync(join(source.dir, file))) {
    throw new UsageError(`--init ${source.dir}: the imported model's graph ${String(file)} is not beside its checkpoint.json (a .tar cannot be fine-tuned; unpack it first)`);
  }
  return { [file]: new Uint8Array(readFileSync(join(source.dir, file))) };
}
