/**
 * `fit()`: the training loop. Epochs of (forward, cross-entropy, backward, optimizer step), a learning-rate
 * schedule stepped per batch or per epoch, an evaluation on the test loader after each epoch (loss, accuracy,
 * per-class accuracy, confusion matrix), `last` and `best` checkpoints, a stop with a clear error when the loss
 * becomes NaN or infinite, and events for progress displays.
 *
 * With a `validation` loader (a split of the training set, see `splitValidation`), `best` is the epoch of the
 * highest validation accuracy and optional early stopping reads validation accuracy too; the test set is still
 * evaluated after every epoch and reported, but no choice reads it (src/train/selection.ts). Without one, `best`
 * is picked on test accuracy, as before validation splits existed.
 *
 * Exact resume: a checkpoint taken at the end of epoch k holds the model, the optimizer, the schedule, the global
 * generator (dropout, init) and the loader's generator (shuffle order, augmentation). `fit({ ..., resume })`
 * restores all of them and continues with epoch k+1, so the metrics of every later epoch equal those of a run
 * that was never interrupted (same backend, same thread count).
 *
 * Browser-safe: saving is delegated to `saveCheckpoint` (src/node/checkpoint.ts provides one for Node).
 *
 * @example
 * manualSeed(0);
 * const net = models.create('lenet5');
 * const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
 * const result = await fit({ model: net, optimizer: opt, train: trainLoader, test: testLoader, epochs: 2,
 *   info: { model: { name: 'lenet5', config: {} } }, onEvent: (e) => e.type === 'epochEnd' && console.log(e.metrics) });
 * console.log(result.final.accuracy);
 */
import { crossEntropy, mul, sum } from '../ops/index.js';
import { noGrad } from '../autograd/tape.js';
import { backendScope } from './scope.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import type { LRScheduler, SchedulerStateDict } from '../optim/lr_scheduler.js';
import type { DataLoader } from '../data/loader.js';
import type { Checkpoint, CheckpointMeta, EpochMetrics, JsonValue } from '../io/checkpoint.js';
import { argmaxRows, evaluate, type EvaluationResult } from './metrics.js';
import { checkEarlyStopping, earlyStopAfter, isNewBest, metricValue, type EarlyStop, type EarlyStopping } from './selection.js';

/** Descriptive parts of the checkpoint that the trainer cannot know by itself. */
export interface RunInfo {
  model: CheckpointMeta['model'];
  dataset?: CheckpointMeta['dataset'];
  optimizer?: CheckpointMeta['optimizer'];
  /** Name of the schedule (`cosine`, `onecycle`, ...), stored with its state. */
  schedulerName?: string;
  /** Settings needed to continue the run (seed, batch size, ...). */
  training?: { [key: string]: JsonValue };
}

export type CheckpointKind = 'last' | 'best';

export type TrainEvent =
  | { type: 'start'; startEpoch: number; epochs: number; stepsPerEpoch: number; trainExamples: number; testExamples: number; validationExamples?: number; resumed: boolean }
  | { type: 'epochStart'; epoch: number; epochs: number; stepsPerEpoch: number }
  | {
    type: 'batch'; epoch: number; epochs: number; step: number; stepsPerEpoch: number; globalStep: number;
    /** This batch's mean loss. */
    loss: number;
    /** Mean loss over the epoch so far. */
    runningLoss: number;
    lr: number; imagesSeen: number; imagesPerSecond: number; elapsedSeconds: number;
  }
  | { type: 'evaluating'; epoch: number }
  | {
    type: 'epochEnd'; epoch: number; epochs: number; metrics: EpochMetrics;
    /** The test set's evaluation (reported only, never used for a choice when there is a validation set). */
    evaluation: EvaluationResult;
    validationEvaluation?: EvaluationResult;
    isBest: boolean;
    /** Set on the last epoch of a run that stops early. */
    earlyStop?: EarlyStop;
  }
  | { type: 'checkpoint'; kind: CheckpointKind; epoch: number }
  | { type: 'end'; result: FitResult };

export interface FitOptions {
  model: Module;
  optimizer: Optimizer;
  train: DataLoader;
  test: DataLoader;
  /**
   * A validation split of the training set, evaluated after each epoch: `best` is picked on its accuracy
   * (best.metric 'validationAccuracy') and early stopping reads it. Never pass the test set here.
   */
  validation?: DataLoader | null;
  /** Stop once validation accuracy stalls (needs `validation`; see src/train/selection.ts). */
  earlyStopping?: EarlyStopping | null;
  /** Total number of epochs of the run (a resumed run continues up to this). */
  epochs: number;
  /** Schedule and when to step it: after each optimizer step ('batch') or after each epoch ('epoch'). */
  scheduler?: { scheduler: LRScheduler; interval: 'batch' | 'epoch' } | null;
  info: RunInfo;
  /** Store a checkpoint (Node: `checkpointSaver(outDir)` from src/node/checkpoint.ts). */
  saveCheckpoint?: (kind: CheckpointKind, checkpoint: Checkpoint) => Promise<void> | void;
  onEvent?: (event: TrainEvent) => void;
  /** A checkpoint to continue from (saved at the end of an epoch by this trainer). */
  resume?: Checkpoint | null;
  /** The global generator whose state is saved and restored (default: `defaultGenerator`). */
  generator?: Generator;
  /** Number of classes (default: the training dataset's). */
  numClasses?: number;
  /** Stop between steps when aborted (e.g. Ctrl-C); the last completed epoch's checkpoint stays. */
  signal?: AbortSignal;
  /**
   * Save a checkpoint even when its weights or optimizer state hold NaN or infinite values (default false: the run
   * stops with a NonFiniteCheckpointError naming the tensor, and nothing is written).
   */
  allowNonFiniteCheckpoint?: boolean;
  /**
   * Yield to the event loop once this many milliseconds have passed since the last yield (checked after each
   * step; default 100). An abort request or a progress redraw waits at most this long plus one step. A page's
   * worker that must stop within a fraction of a second passes a small value; 0 yields after every step.
   */
  yieldIntervalMs?: number;
  /**
   * Polled before each step and between the nodes of each backward pass; once it returns true the run ends with
   * TrainingAbortedError, and the step in progress changes no weight. Unlike `signal`, which only changes when
   * the event loop runs, this can read memory shared with another thread (a page's Stop button writing to a
   * SharedArrayBuffer), so a run stops within a fraction of a step.
   */
  interrupted?: () => boolean;
  /**
   * How fit yields to the event loop (default: a `setTimeout(0)` promise). Browsers clamp nested timeouts to
   * 4 ms, a few percent of a fast model's training time at one yield per 100 ms; a worker can pass a
   * MessageChannel round trip instead, which lets pending messages run at no such cost.
   */
  yieldToEventLoop?: () => Promise<void>;
}

export interface FitResult {
  history: EpochMetrics[];
  best: CheckpointMeta['metrics']['best'];
  /** Evaluation of the final model on the test loader. */
  final: EvaluationResult;
  /** Evaluation of the final model on the validation loader, when there is one. */
  finalValidation: EvaluationResult | null;
  /** Set when early stopping ended the run before its planned epochs. */
  earlyStop: EarlyStop | null;
  /** Epochs completed (including those before a resume). */
  epochsCompleted: number;
  globalStep: number;
}

/** Training stopped because the loss became NaN or infinite. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(readonly loss: number, readonly epoch: number, readonly step: number, readonly globalStep: number, lr: number) {
    super(
      `training stopped: the loss became ${loss} at epoch ${epoch}, step ${step} (global step ${globalStep}, learning rate ${lr}); ` +
      'the model diverged: try a lower learning rate or a schedule with warm-up. The weights were not updated by this step.',
    );
  }
}

/** The gradients' global norm became NaN or infinite (the weights were not updated by that step). */
export class NonFiniteGradientError extends Error {
  override name = 'NonFiniteGradientError';
  constructor(readonly norm: number, readonly epoch: number, readonly step: number, readonly globalStep: number, lr: number) {
    super(
      `training stopped: the gradients' global norm became ${norm} at epoch ${epoch}, step ${step} (global step ${globalStep}, learning rate ${lr}); ` +
      'the model diverged: try a lower learning rate or a schedule with warm-up. The weights were not updated by this step.',
    );
  }
}

/** The test (or validation) loss became NaN or infinite at the end of an epoch: the run diverged, and that epoch is not saved. */
export class NonFiniteEvaluationError extends Error {
  override name = 'NonFiniteEvaluationError';
  constructor(readonly loss: number, readonly epoch: number, readonly globalStep: number, set: 'test' | 'validation' = 'test') {
    super(
      `training stopped: the ${set} loss became ${loss} after epoch ${epoch} (global step ${globalStep}): the model diverged ` +
      '(try a lower learning rate); no checkpoint was written for this epoch, the previous ones stay.',
    );
  }
}

/** A checkpoint about to be saved holds NaN or infinite values; it is not written (see `allowNonFiniteCheckpoint`). */
export class NonFiniteCheckpointError extends Error {
  override name = 'NonFiniteCheckpointError';
}

/** Training was aborted through `signal`. */
export class TrainingAbortedError extends Error {
  override name = 'TrainingAbortedError';
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function currentLr(optimizer: Optimizer): number {
  return optimizer.paramGroups[0]?.lr ?? NaN;
}

/** Build the checkpoint of the current state (the model's live tensors are referenced, not copied). */
function snapshot(o: FitOptions, generator: Generator, epoch: number, globalStep: number, history: EpochMetrics[], best: FitResult['best']): Checkpoint {
  const sched = o.scheduler?.scheduler;
  const meta: CheckpointMeta = {
    model: o.info.model,
    dataset: o.info.dataset ?? null,
    optimizer: o.info.optimizer ?? { name: o.optimizer.constructor.name, hyperparameters: {} },
    scheduler: sched ? { name: o.info.schedulerName ?? sched.constructor.name, state: toJson(sched.stateDict()) } : null,
    epoch,
    globalStep,
    rng: { default: generator.getState(), loader: o.train.getState() },
    training: { ...(o.info.training ?? {}), epochs: o.epochs, batchSize: o.train.batchSize, schedulerInterval: o.scheduler?.interval ?? null },
    metrics: { history: [...history], best },
  };
  return { meta, modelState: o.model.stateDict(), optimizerState: o.optimizer.stateDict() };
}

function toJson(v: unknown): JsonValue {
  return JSON.parse(JSON.stringify(v ?? null)) as JsonValue;
}

function restore(o: FitOptions, generator: Generator, ck: Checkpoint): void {
  const m = ck.meta;
  if (m.model.name !== o.info.model.name) {
    throw new Error(`resume: the checkpoint is of model '${m.model.name}', this run trains '${o.info.model.name}'`);
  }
  o.model.loadStateDict(ck.modelState);
  if (ck.optimizerState) o.optimizer.loadStateDict(ck.optimizerState as OptimizerStateDict);
  else throw new Error('resume: the checkpoint has no optimizer state');
  const sched = o.scheduler?.scheduler;
  if (sched) {
    if (!m.scheduler) throw new Error('resume: this run uses a learning-rate schedule but the checkpoint has none');
    sched.loadStateDict(m.scheduler.state as SchedulerStateDict);
  }
  if (m.rng) {
    generator.setState(m.rng.default);
    if (m.rng.loader) o.train.setState(m.rng.loader);
  }
}

/** Train `model`; see the file comment. Resolves with the history and the final evaluation. */
export async function fit(o: FitOptions): Promise<FitResult> {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new Error(`fit: epochs must be a positive integer, got ${o.epochs}`);
  const yieldIntervalMs = o.yieldIntervalMs ?? 100;
  const pause = o.yieldToEventLoop ?? yieldToEventLoop;
  if (!(yieldIntervalMs >= 0)) throw new Error(`fit: yieldIntervalMs must be a number >= 0, got ${o.yieldIntervalMs}`);
  if (o.earlyStopping) checkEarlyStopping(o.earlyStopping, !!o.validation);
  const generator = o.generator ?? defaultGenerator;
  const numClasses = o.numClasses ?? o.train.dataset.numClasses;
  const emit = (e: TrainEvent): void => o.onEvent?.(e);
  const scope = backendScope();

  let history: EpochMetrics[] = [];
  let best: FitResult['best'] = null;
  let startEpoch = 0;
  let globalStep = 0;
  if (o.resume) {
    restore(o, generator, o.resume);
    startEpoch = o.resume.meta.epoch;
    globalStep = o.resume.meta.globalStep;
    history = [...o.resume.meta.metrics.history];
    best = o.resume.meta.metrics.best;
    const metric = o.validation ? 'validationAccuracy' : 'testAccuracy';
    if (best && best.metric !== metric) {
      throw new Error(`resume: the checkpoint picked its best epoch on ${best.metric}, this run would pick it on ${metric}; resume ${o.validation ? 'without' : 'with the same'} validation set, or start a new run`);
    }
  }
  const stepsPerEpoch = o.train.length;
  const interrupted = o.interrupted;
  const interrupt = interrupted
    ? (): void => { if (interrupted()) throw new TrainingAbortedError('training aborted during a backward pass'); }
    : undefined;
  emit({ type: 'start', startEpoch, epochs: o.epochs, stepsPerEpoch, trainExamples: o.train.numExamples, testExamples: o.test.dataset.length,
    ...(o.validation ? { validationExamples: o.validation.dataset.length } : {}), resumed: !!o.resume });

  let lastEvaluation: EvaluationResult | null = null;
  let lastValidation: EvaluationResult | null = null;
  let earlyStop = o.earlyStopping ? earlyStopAfter(history, o.earlyStopping) : null;
  for (let epoch = startEpoch + 1; epoch <= o.epochs && !earlyStop; epoch++) {
    emit({ type: 'epochStart', epoch, epochs: o.epochs, stepsPerEpoch });
    o.model.train();
    const t0 = now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let step = 0;
    let lastYield = t0;
    for (const { x, y } of o.train) {
      if (o.signal?.aborted || o.interrupted?.()) throw new TrainingAbortedError(`training aborted during epoch ${epoch}`);
      step++;
      const out = scope(() => trainStep(o.model, o.optimizer, x, y, interrupt));
      if (!Number.isFinite(out.loss)) throw new NonFiniteLossError(out.loss, epoch, step, globalStep + 1, currentLr(o.optimizer));
      if (!Number.isFinite(out.gradNormSquared)) throw new NonFiniteGradientError(Math.sqrt(out.gradNormSquared), epoch, step, globalStep + 1, currentLr(o.optimizer));
      globalStep++;
      if (o.scheduler?.interval === 'batch') o.scheduler.scheduler.step();
      lossSum += out.loss * y.length;
      correct += out.correct;
      seen += y.length;
      const elapsed = (now() - t0) / 1000;
      emit({
        type: 'batch', epoch, epochs: o.epochs, step, stepsPerEpoch, globalStep, loss: out.loss, runningLoss: lossSum / seen,
        lr: currentLr(o.optimizer), imagesSeen: seen, imagesPerSecond: elapsed > 0 ? seen / elapsed : 0, elapsedSeconds: elapsed,
      });
      // Let timers (progress bar redraws) and signals (Ctrl-C) run now and then.
      if (now() - lastYield > yieldIntervalMs) {
        await pause();
        lastYield = now();
      }
    }
    const trainSeconds = (now() - t0) / 1000;
    if (o.scheduler?.interval === 'epoch') o.scheduler.scheduler.step();
    emit({ type: 'evaluating', epoch });
    await pause();
    const validation = o.validation ? evaluate(o.model, o.validation, numClasses) : null;
    if (validation && !Number.isFinite(validation.loss) && validation.count > 0) throw new NonFiniteEvaluationError(validation.loss, epoch, globalStep, 'validation');
    const evaluation = evaluate(o.model, o.test, numClasses);
    if (!Number.isFinite(evaluation.loss) && evaluation.count > 0) throw new NonFiniteEvaluationError(evaluation.loss, epoch, globalStep);
    lastEvaluation = evaluation;
    lastValidation = validation;
    const metrics: EpochMetrics = {
      epoch,
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      testLoss: evaluation.loss,
      testAccuracy: evaluation.accuracy,
      ...(validation ? { validationLoss: validation.loss, validationAccuracy: validation.accuracy } : {}),
      lr: currentLr(o.optimizer),
      seconds: (now() - t0) / 1000,
      imagesPerSecond: trainSeconds > 0 ? seen / trainSeconds : 0,
    };
    history.push(metrics);
    // The choices below read validation metrics only when there is a validation set (src/train/selection.ts).
    const metric = validation ? 'validationAccuracy' : 'testAccuracy';
    const value = metricValue(metrics, metric);
    const isBest = isNewBest(best, value);
    if (isBest) best = { metric, value, epoch };
    // Stopping at the last planned epoch is no early stop.
    earlyStop = o.earlyStopping && epoch < o.epochs ? earlyStopAfter(history, o.earlyStopping) : null;
    emit({
      type: 'epochEnd', epoch, epochs: o.epochs, metrics, evaluation, isBest,
      ...(validation ? { validationEvaluation: validation } : {}), ...(earlyStop ? { earlyStop } : {}),
    });
    if (o.saveCheckpoint) {
      const ck = snapshot(o, generator, epoch, globalStep, history, best);
      if (!o.allowNonFiniteCheckpoint) {
        const bad = firstNonFinite(ck);
        if (bad) {
          throw new NonFiniteCheckpointError(`training stopped: epoch ${epoch}'s checkpoint would hold ${bad.count} non-finite value(s) in ${bad.where} (the first, ${bad.value}); ` +
            'the run diverged (try a lower learning rate); nothing was written for this epoch, the previous checkpoints stay');
        }
      }
      await o.saveCheckpoint('last', ck);
      emit({ type: 'checkpoint', kind: 'last', epoch });
      if (isBest) {
        await o.saveCheckpoint('best', ck);
        emit({ type: 'checkpoint', kind: 'best', epoch });
      }
    }
  }
  const final = lastEvaluation ?? evaluate(o.model, o.test, numClasses);
  const finalValidation = o.validation ? lastValidation ?? evaluate(o.model, o.validation, numClasses) : null;
  const epochsCompleted = earlyStop ? Math.max(startEpoch, earlyStop.epoch) : Math.max(startEpoch, o.epochs);
  const result: FitResult = { history, best, final, finalValidation, earlyStop, epochsCompleted, globalStep };
  emit({ type: 'end', result });
  return result;
}

/** One optimizer step on a batch; returns the batch's mean loss and how many predictions were right. */
function trainStep(model: Module, optimizer: Optimizer, x: Tensor, y: Int32Array, interrupt?: () => void): { loss: number; correct: number; gradNormSquared: number } {
  const logits = model.forward(x);
  const loss = crossEntropy(logits, y);
  const value = loss.item();
  if (!Number.isFinite(value)) return { loss: value, correct: 0, gradNormSquared: 0 };
  optimizer.zeroGrad();
  loss.backward(undefined, interrupt ? { interrupt } : {});
  // A NaN or infinite gradient (or one whose square overflows float32) must not reach the optimizer: Adam's moments
  // would keep it, and a run with a finite loss could save them (seen: --lr 1e6 with Adam, 21k non-finite moments).
  const gradNormSquared = gradientNormSquared(optimizer);
  if (!Number.isFinite(gradNormSquared)) return { loss: value, correct: 0, gradNormSquared };
  optimizer.step();
  const predictions = argmaxRows(logits);
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (predictions[i] === y[i]) correct++;
  return { loss: value, correct, gradNormSquared };
}

/** Sum of the squares of every gradient the optimizer would apply, on the backend (one reduction per tensor). */
function gradientNormSquared(optimizer: Optimizer): number {
  let total = 0;
  noGrad(() => {
    for (const group of optimizer.paramGroups) {
      for (const p of group.params) if (p.grad) total += sum(mul(p.grad, p.grad)).item();
    }
  });
  return total;
}

/** The first tensor of a checkpoint (weights, buffers, optimizer state) that holds NaN or an infinity. */
function firstNonFinite(ck: Checkpoint): { where: string; count: number; value: number } | null {
  const check = (where: string, data: Float32Array): { where: string; count: number; value: number } | null => {
    let count = 0, value = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!Number.isFinite(v)) { if (count === 0) value = v; count++; }
    }
    return count > 0 ? { where, count, value } : null;
  };
  for (const [key, t] of Object.entries(ck.modelState)) {
    const bad = check(`the model's '${key}'`, t.data);
    if (bad) return bad;
  }
  const visit = (v: unknown, path: string, depth: number): { where: string; count: number; value: number } | null => {
    if (depth > 8 || v === null || typeof v !== 'object') return null;
    if (v instanceof Float32Array) return check(`the optimizer's '${path}'`, v);
    const data = (v as { data?: unknown }).data;
    if (data instanceof Float32Array) return check(`the optimizer's '${path}'`, data);
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const bad = visit(child, path ? `${path}.${k}` : k, depth + 1);
      if (bad) return bad;
    }
    return null;
  };
  return visit(ck.optimizerState, '', 0);
}

/** Build a checkpoint of a model alone (e.g. to export after custom training); no optimizer, no RNG state. */
export function modelCheckpoint(model: Module, info: RunInfo, history: EpochMetrics[] = []): Checkpoint {
  return {
    meta: {
      model: info.model, dataset: info.dataset ?? null, optimizer: info.optimizer ?? null, scheduler: null,
      epoch: history.length, globalStep: 0, rng: null, training: info.training ?? {}, metrics: { history, best: null },
    },
    modelState: model.stateDict(),
    optimizerState: null,
  };
}
