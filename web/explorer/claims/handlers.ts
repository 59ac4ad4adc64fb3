/**
 * Handlers of the explorer's claims requests (declared in ./protocol.ts). They run in whichever engine the page
 * asks: the claims tab's own engine for seeded / briefly trained models (so the Train tab's model is never
 * touched), the main engine when a panel looks at the user's model.
 *
 * The numbers come from the library: the ledger (src/inspect/ledger.ts), the lab's probes and experiments
 * (src/lab). Long runs train step by step and yield to the worker's event loop every few tens of milliseconds,
 * so 'claims.stop' is read between two steps.
 */
import { data, models, noGrad, softmax, Tensor, type nn } from '../../../src/index.js';
import { layerLedger } from '../../../src/inspect/ledger.js';
import { summary } from '../../../src/inspect/summary.js';
import { crossEntropy } from '../../../src/ops/index.js';
import { Adam } from '../../../src/optim/index.js';
import { Generator } from '../../../src/tensor/random.js';
import { backendScope } from '../../../src/train/scope.js';
import { shiftPlanes, traceLayers, type LayerOutput } from '../../../src/lab/probe.js';
import { accuracy, inputTransform, seededModel, toBackend } from '../../../src/lab/train.js';
import { describeBudget } from '../../../src/lab/protocol.js';
import { compareShiftedLayer } from '../../../src/lab/experiments/equivariance.js';
import { poolingModel, POOLING_VARIANTS, type PoolingVariant } from '../../../src/lab/experiments/pooling.js';
import { PERMUTATION_SEED, SHUFFLE_MODELS } from '../../../src/lab/experiments/shuffle.js';
import { topActivatingPatches } from '../../../src/lab/experiments/hierarchy.js';
import { DEPTH_MODELS, type DepthRun } from '../../../src/lab/experiments/depth.js';
import type { TrainBudget } from '../../../src/lab/protocol.js';
import type { Handlers } from '../worker.js';
import type { EngineState, LoadedModel } from '../engine/state.js';
import { modelInput, requireModel } from '../engine/model.js';
import type {
  ClaimModelSource, ClaimsRequests, DepthFile, DepthSeries, EquivarianceLayer, EquivarianceModel, Plane, PoolingVariantResult, ShuffleRunSummary,
} from './protocol.js';

const SUBSET_DIR = 'data/fashion-mnist-subset/';
/** The lab's optimizer for every short run here (Adam lr 1e-3, as `convkit lab` trains). */
const LR = 1e-3;
const SEED = 0;

// ---------------------------------------------------------------------------------------------------------------
// Data: the embedded Fashion-MNIST subset, fetched once per engine (beside the worker bundle, like the Train tab).

async function fetchBytes(url: URL): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.href} answered ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function loadSplit(split: 'train' | 't10k'): Promise<data.ImageDataset> {
  const base = new URL(SUBSET_DIR, location.href);
  const imagesName = `${split}-images-idx3-ubyte.gz`, labelsName = `${split}-labels-idx1-ubyte.gz`;
  const [imagesGz, labelsGz] = await Promise.all([fetchBytes(new URL(imagesName, base)), fetchBytes(new URL(labelsName, base))]);
  const images = data.parseIdxImages(await data.gunzipBytes(imagesGz, imagesName), imagesName);
  const labels = data.parseIdxLabels(await data.gunzipBytes(labelsGz, labelsName), labelsName);
  data.checkSameCount(images, imagesName, labels, labelsName);
  return new data.ImageDataset({
    images: images.pixels, labels, channels: 1, height: images.height, width: images.width,
    classNames: data.FASHION_MNIST_CLASSES, name: `fashion-mnist-subset/${split === 't10k' ? 'test' : 'train'}`,
    source: { kind: 'embedded-subset', location: SUBSET_DIR, isSubset: true },
  });
}

let subset: Promise<{ train: data.ImageDataset; test: data.ImageDataset }> | null = null;
function subsetData(): Promise<{ train: data.ImageDataset; test: data.ImageDataset }> {
  subset ??= Promise.all([loadSplit('train'), loadSplit('t10k')]).then(([train, test]) => ({ train, test }));
  subset.catch(() => { subset = null; });
  return subset;
}

/** Test images for a model of input shape [C, H, W]: the engine's loaded test set when it fits, else the subset's. */
async function testSetFor(state: EngineState, shape: readonly number[]): Promise<data.ImageDataset> {
  const own = state.data?.test;
  if (own && own.channels === shape[0] && own.height === shape[1] && own.width === shape[2]) return own;
  const { test } = await subsetData();
  if (test.channels !== shape[0] || test.height !== shape[1] || test.width !== shape[2]) {
    throw new Error(`this claim runs on 1x28x28 test images; the model takes ${shape.join('x')} inputs`);
  }
  return test;
}

// ---------------------------------------------------------------------------------------------------------------
// Stopping and yielding.

let running: { task: string; controller: AbortController } | null = null;

/** Mark a long task as running (one per engine) and return its signal. */
function begin(task: string): AbortSignal {
  if (running) throw new Error(`this engine is busy with the ${running.task} run: stop it or wait for it to finish`);
  running = { task, controller: new AbortController() };
  return running.controller.signal;
}
function end(): void { running = null; }

const now = (): number => performance.now();
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

class StoppedError extends Error {
  override name = 'StoppedError';
}

/** Yields every ~30 ms so the worker reads 'claims.stop' (and the page gets its events) between steps. */
class Pacer {
  private last = now();
  constructor(private readonly signal: AbortSignal, private readonly what: string) {}
  async tick(): Promise<void> {
    if (now() - this.last > 30) {
      await yieldToEventLoop();
      this.last = now();
    }
    if (this.signal.aborted) throw new StoppedError(`${this.what} stopped`);
  }
}

/**
 * One optimizer step at a time (Adam, cross-entropy, batches cycling over the data with a seeded shuffle and the
 * lab's normalisation), so several runs can take turns and a run can stop between two steps.
 */
class Stepper {
  private readonly loader: data.DataLoader;
  private iterator: Iterator<data.Batch>;
  private readonly optimizer: Adam;
  private readonly scope = backendScope();
  steps = 0;

  constructor(readonly net: nn.Module, train: data.ImageDataset, batchSize: number, seed: number, transform?: data.BatchTransform) {
    this.loader = new data.DataLoader(train, {
      batchSize: Math.min(batchSize, train.length), shuffle: true, dropLast: true, generator: new Generator(1000 + seed),
      transform: inputTransform(...(transform ? [transform] : [])),
    });
    this.iterator = this.loader[Symbol.iterator]();
    this.optimizer = new Adam(net.parameters(), { lr: LR });
  }

  get batchSize(): number { return this.loader.batchSize; }

  /** One step; returns its loss. */
  step(): number {
    let next = this.iterator.next();
    if (next.done) {
      this.iterator = this.loader[Symbol.iterator]();
      next = this.iterator.next();
    }
    const { x, y } = next.value as data.Batch;
    this.net.train();
    const loss = this.scope(() => {
      const l = crossEntropy(this.net.forward(x), y);
      this.optimizer.zeroGrad();
      l.backward();
      this.optimizer.step();
      return l.item();
    });
    if (!Number.isFinite(loss)) throw new Error(`training diverged (loss ${loss} at step ${this.steps + 1})`);
    this.steps++;
    return loss;
  }
}

function budgetText(steps: number, batchSize: number): string {
  const budget: TrainBudget = { steps, batchSize, optimizer: { name: 'adam', lr: LR } };
  return `trained here: ${describeBudget(budget)}, seed ${SEED}, on the embedded subset`;
}

function checkInteger(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${v}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Models as the probes need them: a net, its name, and its input (normalised) for raw pixels in [0, 1].

interface ProbedModel {
  name: string;
  net: nn.Module;
  weights: string;
  /** Raw pixels (n images, CHW, [0, 1]) -> the model's normalised input. */
  input(pixels: Float32Array, count: number): Float32Array;
}

function fashionInput(pixels: Float32Array, count: number, shape: readonly number[]): Float32Array {
  const [c, h, w] = shape as [number, number, number];
  return inputTransform()({ data: Float32Array.from(pixels), n: count, c, h, w }, new Generator(0)).data;
}

function usersModel(model: LoadedModel): ProbedModel {
  return {
    name: model.meta.model.name, net: model.net, weights: model.origin,
    input: (pixels, count) => Float32Array.from(modelInput(model, pixels, count).data),
  };
}

const seededNets = new Map<string, nn.Module>();
/** Zoo models with seed-0 initial weights, untrained (equivariance of a conv layer needs no training). */
function seededZooModel(name: string, shape: readonly number[]): ProbedModel {
  let net = seededNets.get(name);
  if (!net) seededNets.set(name, (net = seededModel(SEED, () => models.create(name))));
  return { name, net, weights: `seeded (seed ${SEED}), untrained`, input: (pixels, count) => fashionInput(pixels, count, shape) };
}

function imagePixels(ds: data.ImageDataset, index: number): Float32Array {
  const out = new Float32Array(ds.imageSize);
  ds.copyImageTo(index, out, 0);
  return out;
}

function planeOf(values: Float32Array, shape: readonly number[], channel = 0): Plane {
  const h = shape.at(-2)!, w = shape.at(-1)!;
  return { width: w, height: h, values: values.slice(channel * h * w, (channel + 1) * h * w) };
}

/** |a - b| at each position, the largest over channels (image 0). */
function errorPlane(a: Float32Array, b: Float32Array, shape: readonly number[]): Plane {
  const [, c, h, w] = shape as [number, number, number, number];
  const out = new Float32Array(h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let q = 0; q < h * w; q++) out[q] = Math.max(out[q]!, Math.abs(a[ch * h * w + q]! - b[ch * h * w + q]!));
  }
  return { width: w, height: h, values: out };
}

function probeEquivariance(m: ProbedModel, source: ClaimModelSource, pixels: Float32Array, shape: readonly [number, number, number], dy: number, dx: number): EquivarianceModel {
  const batch = [1, ...shape];
  const fields = new Map(summary(m.net, shape).rows.filter((r) => r.leaf).map((r) => [r.path, r.receptiveField]));
  const base = traceLayers(m.net, m.input(pixels, 1), batch, m.name);
  // Shift the raw image (black fill, as the lab does), then normalise: what a camera moved by (dx, dy) would see.
  const shifted = traceLayers(m.net, m.input(shiftPlanes(pixels, batch, dy, dx, 0), 1), batch, m.name);
  const layers = base.map((o: LayerOutput, i): EquivarianceLayer => {
    const other = shifted[i]!;
    const c = compareShiftedLayer(o, other, fields.get(o.path), [shape[1], shape[2]], dy, dx);
    let maps: EquivarianceLayer['maps'] = null;
    if (c.metric === 'equivariance') {
      const mapThenShift = shiftPlanes(o.data, o.shape, c.outputShift[0], c.outputShift[1], 0);
      maps = { shiftThenMap: planeOf(other.data, o.shape), mapThenShift: planeOf(mapThenShift, o.shape), error: errorPlane(other.data, mapThenShift, o.shape) };
    }
    return { ...c, maps };
  });
  return { model: m.name, source, weights: m.weights, layers };
}

/** Softmax outputs of `net` (eval mode, no tape) for normalised inputs. */
function probabilitiesOf(net: nn.Module, x: Float32Array, shape: readonly number[]): Float32Array {
  const wasTraining = net.training;
  net.eval();
  const scope = backendScope();
  try {
    return noGrad(() => scope(() => Float32Array.from(softmax(net.forward(new Tensor(toBackend(x), shape)), -1).data)));
  } finally {
    net.train(wasTraining);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Cached short-trained models of this engine.

interface TrainedPooling { key: string; nets: Map<PoolingVariant, { net: nn.Module; testAccuracy: number; training: string }> }
let pooling: TrainedPooling | null = null;
const hierarchyNets = new Map<number, nn.Module>();

const POOLING_SHIFTS = [-4, -3, -2, -1, 0, 1, 2, 3, 4];

function meanOf(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export const claimsHandlers: Handlers<keyof ClaimsRequests> = {
  'claims.ledger'(p) {
    // layerLedger validates (integers >= 1, windows that fit, units that divide over the grid) with messages a
    // user can act on; the page shows them beside the controls.
    const geometry = p.kernel !== null || p.stride !== null
      ? { kernel: p.kernel ?? p.stride ?? 1, stride: p.stride ?? 1 }
      : {};
    return layerLedger({
      input: [p.channels, p.height, p.width], units: p.units, ...geometry,
      ...(p.filters !== null ? { channels: p.filters } : {}),
    });
  },

  async 'claims.equivariance'({ source, dx, dy, image }, state) {
    checkInteger('dx', dx, -8, 8);
    checkInteger('dy', dy, -8, 8);
    let probed: ProbedModel[];
    let shape: [number, number, number];
    if (source === 'yours') {
      const model = requireModel(state);
      shape = model.meta.dataset?.inputShape as [number, number, number];
      if (!shape) throw new Error('the model does not record its input shape');
      probed = [usersModel(model)];
    } else {
      shape = [1, 28, 28];
      probed = [seededZooModel('lenet5', shape), seededZooModel('mlp', shape)];
    }
    const test = await testSetFor(state, shape);
    checkInteger('test image', image, 0, test.length - 1);
    const pixels = imagePixels(test, image);
    const batch = [1, ...shape];
    return {
      dx, dy, image,
      input: planeOf(pixels, batch), shiftedInput: planeOf(shiftPlanes(pixels, batch, dy, dx, 0), batch),
      models: probed.map((m) => probeEquivariance(m, source, pixels, shape, dy, dx)),
    };
  },

  async 'claims.pooling'({ steps, batchSize, image, axis }, state) {
    checkInteger('training steps', steps, 1, 2000);
    checkInteger('batch size', batchSize, 1, 256);
    const signal = begin('pooling');
    try {
      const { train, test } = await subsetData();
      checkInteger('test image', image, 0, test.length - 1);
      const key = `${steps}x${batchSize}`;
      const trainedNow = pooling?.key !== key;
      if (trainedNow) {
        pooling = null;
        const pacer = new Pacer(signal, 'pooling training');
        const nets = new Map<PoolingVariant, { net: nn.Module; testAccuracy: number; training: string }>();
        const total = steps * POOLING_VARIANTS.length;
        let lastEmit = 0;
        for (const [vi, v] of POOLING_VARIANTS.entries()) {
          const net = seededModel(SEED, () => poolingModel(v.name));
          const stepper = new Stepper(net, train, batchSize, SEED);
          for (let s = 0; s < steps; s++) {
            const loss = stepper.step();
            const done = vi * steps + s + 1;
            if (now() - lastEmit > 100 || done === total) {
              lastEmit = now();
              state.emit('claims.progress', { task: 'pooling', done, total, message: `training ${v.name}: step ${s + 1}/${steps}, loss ${loss.toFixed(3)}` });
            }
            await pacer.tick();
          }
          state.emit('claims.progress', { task: 'pooling', done: (vi + 1) * steps, total, message: `${v.name}: test accuracy on ${test.length} images...` });
          await yieldToEventLoop();
          nets.set(v.name, { net, testAccuracy: accuracy(net, test), training: budgetText(steps, stepper.batchSize) });
        }
        pooling = { key, nets };
      }
      const pixels = imagePixels(test, image);
      const shape = [1, test.channels, test.height, test.width];
      const shifted = new Float32Array(POOLING_SHIFTS.length * pixels.length);
      POOLING_SHIFTS.forEach((k, i) => shifted.set(shiftPlanes(pixels, shape, axis === 'vertical' ? k : 0, axis === 'horizontal' ? k : 0, 0), i * pixels.length));
      const x = fashionInput(shifted, POOLING_SHIFTS.length, shape.slice(1));
      const label = test.labels[image]!;
      const variants: PoolingVariantResult[] = POOLING_VARIANTS.map((v) => {
        const trained = pooling!.nets.get(v.name)!;
        const probs = probabilitiesOf(trained.net, x, [POOLING_SHIFTS.length, ...shape.slice(1)]);
        const classes = test.numClasses;
        return {
          variant: v.name, what: v.what, parameters: trained.net.numParameters(), training: trained.training, testAccuracy: trained.testAccuracy,
          curve: POOLING_SHIFTS.map((shift, i) => {
            const row = probs.subarray(i * classes, (i + 1) * classes);
            let predicted = 0;
            for (let c = 1; c < classes; c++) if (row[c]! > row[predicted]!) predicted = c;
            return { shift, predicted, predictedClass: test.classNames[predicted]!, confidence: row[predicted]!, trueClassConfidence: row[label]! };
          }),
        };
      });
      return { image, label, labelClass: test.classNames[label]!, axis, variants, trainedNow };
    } finally {
      end();
    }
  },

  async 'claims.shuffle'({ epochs, batchSize, evalEvery, testImages }, state) {
    checkInteger('epochs', epochs, 1, 20);
    checkInteger('batch size', batchSize, 1, 256);
    checkInteger('evaluate every', evalEvery, 1, 1000);
    checkInteger('test images', testImages, 10, 1000);
    const signal = begin('pixel-shuffle');
    try {
      const { train, test: fullTest } = await subsetData();
      const test = fullTest.take(testImages);
      const permutation = data.randomPixelPermutation(train.height, train.width, new Generator(PERMUTATION_SEED));
      const shuffle = data.permutePixels(permutation);
      const runs = SHUFFLE_MODELS.flatMap((name) => [false, true].map((shuffled) => {
        const net = seededModel(SEED, () => models.create(name));
        const stepper = new Stepper(net, train, batchSize, SEED, shuffled ? shuffle : undefined);
        const summary: ShuffleRunSummary = { run: `${name} ${shuffled ? 'shuffled' : 'original'}`, model: name, shuffled, points: [] };
        return { stepper, summary, transform: shuffled ? shuffle : undefined };
      }));
      const steps = Math.max(1, Math.floor((epochs * train.length) / runs[0]!.stepper.batchSize));
      const pacer = new Pacer(signal, 'pixel-shuffle training');
      const evaluate = async (step: number): Promise<void> => {
        for (const r of runs) {
          const point = { step, accuracy: accuracy(r.stepper.net, test, r.transform) };
          r.summary.points.push(point);
          state.emit('claims.shufflePoint', { run: r.summary.run, ...point });
          await yieldToEventLoop();
        }
      };
      let stopped = false;
      try {
        await evaluate(0);
        for (let s = 1; s <= steps; s++) {
          // The four runs take turns, one step each, so their curves grow together.
          for (const r of runs) {
            r.stepper.step();
            await pacer.tick();
          }
          if (s % evalEvery === 0 || s === steps) {
            state.emit('claims.progress', { task: 'shuffle', done: s, total: steps, message: `step ${s}/${steps}: test accuracy...` });
            await evaluate(s);
          }
        }
      } catch (e) {
        if (!(e instanceof StoppedError)) throw e;
        stopped = true;
      }
      const original = imagePixels(test, 0);
      const shape = [1, test.channels, test.height, test.width];
      const shuffled = shuffle({ data: Float32Array.from(original), n: 1, c: test.channels, h: test.height, w: test.width }, new Generator(0)).data;
      return {
        runs: runs.map((r) => r.summary), steps, testImages: test.length, permutationSeed: PERMUTATION_SEED, stopped,
        example: { original: planeOf(original, shape), shuffled: planeOf(shuffled, shape) },
      };
    } finally {
      end();
    }
  },

  async 'claims.hierarchy'({ source, steps, searchImages, channelsPerLayer, patchesPerChannel }, state) {
    checkInteger('images searched', searchImages, 10, 10000);
    checkInteger('channels per depth', channelsPerLayer, 1, 16);
    checkInteger('patches per channel', patchesPerChannel, 1, 16);
    if (source === 'yours') {
      const model = requireModel(state);
      const shape = model.meta.dataset?.inputShape;
      if (!shape) throw new Error('the model does not record its input shape');
      const test = await testSetFor(state, shape);
      const probed = usersModel(model);
      const depths = topActivatingPatches(model.net, test, {
        searchImages, channelsPerLayer, patchesPerChannel, modelName: probed.name,
        images: (idx) => {
          const pixels = new Float32Array(idx.length * test.imageSize);
          idx.forEach((i, k) => test.copyImageTo(i, pixels, k * test.imageSize));
          return { data: probed.input(pixels, idx.length), shape: [idx.length, test.channels, test.height, test.width] };
        },
      });
      if (depths.length === 0) throw new Error(`${probed.name} has no ReLU layer with a spatial output (no conv feature maps to search)`);
      return { model: probed.name, source, weights: model.origin, searchImages: Math.min(searchImages, test.length), depths };
    }
    checkInteger('training steps', steps, 1, 2000);
    const signal = begin('hierarchy');
    try {
      const { train, test } = await subsetData();
      let net = hierarchyNets.get(steps);
      let batch = 32;
      if (!net) {
        net = seededModel(SEED, () => models.create('lenet5'));
        const stepper = new Stepper(net, train, 32, SEED);
        batch = stepper.batchSize;
        const pacer = new Pacer(signal, 'hierarchy training');
        let lastEmit = 0;
        for (let s = 0; s < steps; s++) {
          const loss = stepper.step();
          if (now() - lastEmit > 100 || s + 1 === steps) {
            lastEmit = now();
            state.emit('claims.progress', { task: 'hierarchy', done: s + 1, total: steps, message: `training lenet5: step ${s + 1}/${steps}, loss ${loss.toFixed(3)}` });
          }
          await pacer.tick();
        }
        hierarchyNets.clear();
        hierarchyNets.set(steps, net);
      }
      state.emit('claims.progress', { task: 'hierarchy', done: steps, total: steps, message: `searching ${Math.min(searchImages, test.length)} test images...` });
      await yieldToEventLoop();
      const depths = topActivatingPatches(net, test, { searchImages, channelsPerLayer, patchesPerChannel, modelName: 'lenet5' });
      return { model: 'lenet5', source, weights: budgetText(steps, batch), searchImages: Math.min(searchImages, test.length), depths };
    } finally {
      end();
    }
  },

  async 'claims.depthResults'() {
    const files: DepthFile[] = [];
    const missing: { url: string; reason: string }[] = [];
    for (const name of ['lab/depth.json', 'lab/depth-adam.json']) {
      const url = new URL(name, location.href);
      try {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
        const record = await response.json() as {
          title: string; scale: string; backend: string; startedAt: string; summary: string;
          results: { budget: TrainBudget; seeds: number[]; runs: DepthRun[] };
        };
        const runs = record.results.runs;
        if (!Array.isArray(runs) || runs.length === 0) throw new Error('no runs recorded');
        files.push({
          url: name, title: record.title, budget: describeBudget(record.results.budget), seeds: record.results.seeds,
          scale: record.scale, backend: record.backend, startedAt: record.startedAt, summary: record.summary,
          series: DEPTH_MODELS.filter((m) => runs.some((r) => r.model === m)).map((model) => {
            const of = runs.filter((r) => r.model === model);
            // Every run of one budget records its loss at the same steps, so curves average point by point.
            return {
              model,
              points: of[0]!.curve.map((c, i) => {
                const values = of.map((r) => r.curve[i]!.loss);
                return { step: c.step, loss: meanOf(values), min: Math.min(...values), max: Math.max(...values) };
              }),
            };
          }),
        });
      } catch (e) {
        missing.push({ url: url.href, reason: (e as Error).message });
      }
    }
    return { files, missing };
  },

  async 'claims.depthLive'({ steps, batchSize, lossEvery }, state) {
    checkInteger('training steps', steps, 1, 1000);
    checkInteger('batch size', batchSize, 1, 128);
    checkInteger('loss window', lossEvery, 1, steps);
    const signal = begin('depth');
    try {
      const { train } = await subsetData();
      const runs = DEPTH_MODELS.map((model) => {
        const stepper = new Stepper(seededModel(SEED, () => models.create(model)), train, batchSize, SEED);
        return { model, stepper, window: [] as number[], series: { model, points: [] as DepthSeries['points'] } };
      });
      const pacer = new Pacer(signal, 'depth training');
      let stopped = false;
      try {
        for (let s = 1; s <= steps; s++) {
          // The four nets take turns, one step each, so their curves grow together.
          for (const r of runs) {
            r.window.push(r.stepper.step());
            if (r.window.length === lossEvery || s === steps) {
              const loss = meanOf(r.window);
              r.window = [];
              r.series.points.push({ step: s, loss, min: loss, max: loss });
              state.emit('claims.depthPoint', { model: r.model, step: s, loss });
            }
            await pacer.tick();
          }
          state.emit('claims.progress', { task: 'depth', done: s, total: steps, message: `step ${s}/${steps}` });
        }
      } catch (e) {
        if (!(e instanceof StoppedError)) throw e;
        stopped = true;
      }
      return { series: runs.map((r) => r.series), steps, budget: budgetText(steps, runs[0]!.stepper.batchSize), stopped };
    } finally {
      end();
    }
  },

  'claims.stop'() {
    if (!running) return { stopped: false };
    running.controller.abort();
    return { stopped: true };
  },
};

