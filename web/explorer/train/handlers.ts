/**
 * Handlers of the explorer's train requests (declared in ./protocol.ts): load data, train with the library's
 * `train.fit()` inside the engine worker, stop.
 *
 * Stopping fast: one training step of vggsmall or resnet20 takes a few hundred milliseconds on two wasm threads
 * (over a second on a busy machine), longer than the page's 300 ms budget for Stop. So besides `fit`'s own abort
 * signal (read between steps; fit yields every YIELD_INTERVAL_MS so the worker sees the page's `train.stop`
 * message), the worker reads a stop flag the page writes directly (a SharedArrayBuffer, no message needed):
 * fit polls it between the nodes of each backward pass (`interrupted`), and the forward pass of every block
 * checks it too (including the test-set evaluation). Either ends the step before the optimizer touches the weights.
 */
import { data, getBackend, manualSeed, models, softmax, train, Generator, type nn } from '../../../src/index.js';
import type { CheckpointMeta, EpochMetrics, JsonValue } from '../../../src/io/checkpoint.js';
import type { Handlers } from '../worker.js';
import type { EngineState, LoadedData } from '../engine/state.js';
import { inEvalMode, modelInput } from '../engine/model.js';
import { loadData } from './data.js';
import type { PredictionImages, RunSettings, TrainEvents, TrainRequests } from './protocol.js';

/** fit() yields this often: a `train.stop` message waits at most this long plus one step. */
const YIELD_INTERVAL_MS = 25;

/**
 * A yield to the worker's event loop through a MessageChannel round trip: the page's messages queued meanwhile
 * run first. A nested setTimeout(0) costs 4.5 ms here (browsers clamp nested timeouts; measured in this worker
 * setting in Chromium), 15% of the time at one yield per 25 ms.
 */
const yieldChannel = new MessageChannel();
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    yieldChannel.port1.onmessage = () => resolve();
    yieldChannel.port2.postMessage(null);
  });
}
/** Progress events per second at most (the page redraws on each). */
const PROGRESS_INTERVAL_MS = 100;
/** Test images in the prediction grid. */
export const PREDICTION_COUNT = 24;

/** Dataset names by loaded data (the engine's LoadedData has no name field; checkpoints need one). */
const datasetNames = new WeakMap<LoadedData, string>();
let nextRunId = 1;
/** The running training's stop flag (page-shared memory), so `train.stop` can set it too. */
let activeStopFlag: Int32Array | null = null;

/** Check the settings a handler gets (the page checks them too, next to each control). */
export function settingsProblem(s: RunSettings): string | null {
  if (!models.has(s.model)) return `unknown model '${s.model}'`;
  if (!Number.isInteger(s.epochs) || s.epochs < 1) return `epochs must be a whole number >= 1, got ${s.epochs}`;
  if (!Number.isInteger(s.batch) || s.batch < 1) return `batch size must be a whole number >= 1, got ${s.batch}`;
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) return `learning rate must be > 0, got ${s.lr}`;
  if (!(s.momentum >= 0 && s.momentum < 1)) return `momentum must be in [0, 1), got ${s.momentum}`;
  if (!(s.weightDecay >= 0) || !Number.isFinite(s.weightDecay)) return `weight decay must be >= 0, got ${s.weightDecay}`;
  if (!Number.isInteger(s.seed) || s.seed < 0) return `seed must be a whole number >= 0, got ${s.seed}`;
  return null;
}

/** Evenly spaced test images for the prediction grid. */
function predictionImages(test: data.ImageDataset): PredictionImages {
  const count = Math.min(PREDICTION_COUNT, test.length);
  const indices = Array.from({ length: count }, (_, i) => Math.floor((i * test.length) / count));
  const pixels = new Float32Array(count * test.imageSize);
  indices.forEach((index, i) => test.copyImageTo(index, pixels, i * test.imageSize));
  return { indices, labels: indices.map((i) => test.labels[i]!), pixels };
}

/**
 * Make the forward pass of the net and of every block in it (modules with children) throw TrainingAbortedError
 * once `stopped()` is true. Leaf layers are left alone: a conv layer fuses the ReLU or 2x2 max pool after it only
 * while both keep their class's own forward (src/nn/layers/fusion.ts), so wrapping them would slow training.
 * Returns the function that restores the plain forward passes (other tabs run the model afterwards).
 */
function interruptibleForward(net: nn.Module, stopped: () => boolean): () => void {
  const wrapped: { module: nn.Module; own: nn.Module['forward'] | null }[] = [];
  for (const m of net.modules()) {
    if (m !== net && m.children().next().done) continue;
    const plain = m.forward;
    wrapped.push({ module: m, own: Object.prototype.hasOwnProperty.call(m, 'forward') ? plain : null });
    m.forward = function (this: nn.Module, ...args: Parameters<nn.Module['forward']>) {
      if (stopped()) throw new train.TrainingAbortedError('training stopped');
      return plain.apply(this, args);
    };
  }
  // The wrapper is an own property shadowing the class's forward: deleting it brings the method back.
  return () => {
    for (const { module, own } of wrapped) {
      if (own) module.forward = own;
      else delete (module as { forward?: unknown }).forward;
    }
  };
}

function toJson(v: unknown): JsonValue {
  return JSON.parse(JSON.stringify(v ?? null)) as JsonValue;
}

export const trainHandlers: Handlers<keyof TrainRequests> = {
  async 'train.loadData'(source, state) {
    if (state.training) throw new Error('a training run is going: stop it before loading other data');
    const { loaded, summary, name } = await loadData(source);
    datasetNames.set(loaded, name);
    state.data = loaded;
    return summary;
  },

  'train.stop'(_params, state) {
    if (activeStopFlag) Atomics.store(activeStopFlag, 0, 1);
    const wasRunning = state.training !== null;
    state.training?.abort();
    return { wasRunning };
  },

  async 'train.start'({ settings, stopFlag }, state) {
    if (state.training) throw new Error('a training run is already going');
    const problem = settingsProblem(settings);
    if (problem) throw new Error(problem);
    const loaded = state.data;
    if (!loaded) throw new Error('no data loaded yet');
    const { train: trainSet, test: testSet, normalization } = loaded;
    if (!normalization) throw new Error('the loaded data has no normalisation');

    const runId = nextRunId++;
    const controller = new AbortController();
    state.training = controller;
    // The page clears the flag before it asks for a run, so a Stop clicked in between is not lost.
    activeStopFlag = stopFlag;
    const stopped = (): boolean => controller.signal.aborted || (stopFlag !== null && Atomics.load(stopFlag, 0) !== 0);

    manualSeed(settings.seed);
    const config = train.modelConfigFor({ numClasses: trainSet.numClasses, channels: trainSet.channels, height: trainSet.height, width: trainSet.width });
    const net = models.create(settings.model, config);
    const { optimizer, meta: optimizerMeta } = train.makeOptimizer(net, {
      name: settings.optimizer, lr: settings.lr, momentum: settings.momentum, weightDecay: settings.weightDecay,
    });
    const norm = data.normalize(normalization.mean, normalization.std);
    const trainLoader = new data.DataLoader(trainSet, {
      batchSize: settings.batch, shuffle: true, generator: new Generator(settings.seed + 1),
      transform: train.trainTransform(settings.augment, trainSet.height, norm), reuseBuffer: true,
    });
    const testLoader = new data.DataLoader(testSet, { batchSize: Math.max(settings.batch, 250), transform: norm, reuseBuffer: true });
    const scheduler = train.makeScheduler(settings.schedule, optimizer, settings.lr, settings.epochs, trainLoader.length);
    const datasetMeta: NonNullable<CheckpointMeta['dataset']> = {
      name: datasetNames.get(loaded) ?? 'dataset', source: loaded.description, classNames: [...trainSet.classNames],
      inputShape: [trainSet.channels, trainSet.height, trainSet.width], normalization,
    };
    const trainingMeta: Record<string, JsonValue> = { seed: settings.seed, settings: toJson({ ...settings, dataset: datasetMeta.name }) };
    // The model is the engine's current model from its first step, so other tabs and downloads see it live.
    state.model = {
      net, origin: 'trained in the page', optimizerState: null,
      meta: {
        model: { name: settings.model, config }, dataset: datasetMeta, optimizer: optimizerMeta,
        scheduler: null, epoch: 0, globalStep: 0, rng: null,
        training: { ...trainingMeta, epochs: settings.epochs, batchSize: settings.batch },
        metrics: { history: [], best: null },
      },
    };
    const model = state.model;

    const grid = predictionImages(testSet);
    state.emit('train.started', {
      runId, model: settings.model, parameters: net.numParameters(), epochs: settings.epochs, stepsPerEpoch: trainLoader.length,
      trainCount: trainSet.length, testCount: testSet.length, dataset: loaded.description, classNames: [...trainSet.classNames],
      normalization, backend: state.info?.backend ?? getBackend().name, predictionImages: { ...grid, pixels: grid.pixels.slice() },
    });

    const totalSteps = settings.epochs * trainLoader.length;
    let pendingX: number[] = [], pendingLoss: number[] = [];
    let lastProgress = -Infinity;
    let epochsCompleted = 0;
    let lastAccuracy: number | null = null;
    let lastBatch: Omit<TrainEvents['train.progress'], 'losses' | 'phase'> | null = null;
    const sendProgress = (phase: 'training' | 'evaluating'): void => {
      if (!lastBatch) return;
      state.emit('train.progress', { ...lastBatch, phase, losses: { x: pendingX, loss: pendingLoss } });
      pendingX = [];
      pendingLoss = [];
      lastProgress = performance.now();
    };
    const restoreForward = interruptibleForward(net, stopped);
    try {
      await train.fit({
        model: net, optimizer, train: trainLoader, test: testLoader, epochs: settings.epochs, scheduler,
        signal: controller.signal, yieldIntervalMs: YIELD_INTERVAL_MS, yieldToEventLoop, interrupted: stopped,
        info: { model: { name: settings.model, config }, dataset: datasetMeta, optimizer: optimizerMeta, schedulerName: settings.schedule, training: trainingMeta },
        // Called by fit at each epoch's end with the run's full checkpoint: it becomes the engine model's meta.
        saveCheckpoint: (_kind, checkpoint) => {
          model.meta = checkpoint.meta;
          model.optimizerState = checkpoint.optimizerState;
        },
        onEvent: (e) => {
          if (e.type === 'batch') {
            // A stop set through shared memory becomes fit's own abort, read before the next step.
            if (stopped()) controller.abort();
            pendingX.push(e.globalStep / e.stepsPerEpoch);
            pendingLoss.push(e.loss);
            const stepsLeft = totalSteps - e.globalStep;
            lastBatch = {
              runId, epoch: e.epoch, epochs: e.epochs, step: e.step, stepsPerEpoch: e.stepsPerEpoch, globalStep: e.globalStep, totalSteps,
              loss: e.loss, lr: e.lr, imagesPerSecond: e.imagesPerSecond,
              secondsLeft: e.imagesPerSecond > 0 ? (stepsLeft * settings.batch) / e.imagesPerSecond : NaN,
            };
            if (performance.now() - lastProgress >= PROGRESS_INTERVAL_MS) sendProgress('training');
          } else if (e.type === 'evaluating') {
            sendProgress('evaluating');
          } else if (e.type === 'epochEnd') {
            epochsCompleted = e.epoch;
            lastAccuracy = e.metrics.testAccuracy;
            const probs = inEvalMode(net, () => softmax(net.forward(modelInput(model, grid.pixels, grid.indices.length)), -1).data);
            const classes = trainSet.numClasses;
            const predicted: number[] = [], confidence: number[] = [];
            for (let i = 0; i < grid.indices.length; i++) {
              let best = 0;
              for (let c = 1; c < classes; c++) if (probs[i * classes + c]! > probs[i * classes + best]!) best = c;
              predicted.push(best);
              confidence.push(probs[i * classes + best]!);
            }
            const metrics: EpochMetrics = { ...e.metrics };
            state.emit('train.epoch', {
              runId, metrics, perClassAccuracy: e.evaluation.perClassAccuracy, confusion: e.evaluation.confusion,
              testCount: e.evaluation.count, predicted, confidence,
            });
          }
        },
      });
      return { status: 'done', epochsCompleted, testAccuracy: lastAccuracy };
    } catch (e) {
      if (e instanceof train.TrainingAbortedError || stopped()) {
        model.origin = `trained in the page (stopped during epoch ${epochsCompleted + 1})`;
        return { status: 'stopped', epochsCompleted, testAccuracy: lastAccuracy };
      }
      throw e;
    } finally {
      restoreForward();
      if (state.training === controller) state.training = null;
      if (activeStopFlag === stopFlag) activeStopFlag = null;
      net.eval();
    }
  },
};
