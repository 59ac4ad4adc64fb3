/**
 * The browser harness: a few seeded training steps of LeNet-5 on a fixed batch, written once and run both in
 * Node (test/browser/lenet.test.ts imports this file) and in a page (scripts/build-web.mjs bundles it to
 * harness.js). Same code, same seed, same batch on both sides, so any difference in the per-step losses is a
 * difference of the platform (a backend that behaves differently in a browser), not of the experiment.
 * It uses only the public entry point (src/index.ts), so the bundle is the whole browser-safe library.
 *
 * ```js
 * // in a crossOriginIsolated page that serves harness.js and /data/fashion-mnist-subset/
 * const h = await import('./harness.js');
 * const batch = await h.fetchSubsetBatch('/data/fashion-mnist-subset/', 16);
 * const run = await h.trainLeNetSteps(batch, { backend: 'wasm', threads: 2, seed: 0, steps: 5 });
 * run.losses; // [2.30..., ...]
 * ```
 */
import { data, F, getBackend, manualSeed, models, optim, setBackend, tensor } from '../src/index.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';

/** A fixed batch of grey 28x28 images, pixels scaled to [0, 1]. */
export interface ImageBatch {
  /** [count, 1, 28, 28], row-major. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface TrainStepsOptions {
  backend: 'reference' | 'wasm';
  /** Threads of the wasm backend (ignored by 'reference'). */
  threads?: number;
  seed: number;
  steps: number;
  /** SGD learning rate (default 0.01) and momentum (default 0.9), the benchmark protocol's optimizer. */
  lr?: number;
  momentum?: number;
}

export interface TrainStepsResult {
  backend: string;
  threads: number;
  /** The cross-entropy of each step, before that step's update. */
  losses: number[];
  /** Sum of every initial parameter (float64): equal on both sides when the seeded initialisation is. */
  initialParameterSum: number;
  /** Sum of every parameter after the last step. */
  finalParameterSum: number;
  milliseconds: number;
}

/** File names of the embedded Fashion-MNIST subset (data/fashion-mnist-subset). */
export const SUBSET_FILES = { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' } as const;

/** The first `count` training images of the subset, from the raw (gzip) bytes of its two IDX files. */
export async function decodeSubsetBatch(imagesGz: Uint8Array, labelsGz: Uint8Array, count: number): Promise<ImageBatch> {
  const images = data.parseIdxImages(await data.gunzipBytes(imagesGz, SUBSET_FILES.images), SUBSET_FILES.images);
  const labels = data.parseIdxLabels(await data.gunzipBytes(labelsGz, SUBSET_FILES.labels), SUBSET_FILES.labels);
  if (images.height !== 28 || images.width !== 28) {
    throw new Error(`harness: expected 28x28 images in ${SUBSET_FILES.images}, got ${images.height}x${images.width}`);
  }
  if (count > images.count || count > labels.length) {
    throw new Error(`harness: asked for ${count} images, ${SUBSET_FILES.images} has ${images.count} and ${SUBSET_FILES.labels} ${labels.length}`);
  }
  const pixels = 28 * 28;
  const x = new Float32Array(count * pixels);
  for (let i = 0; i < x.length; i++) x[i] = images.pixels[i]! / 255;
  return { images: x, labels: labels.slice(0, count), count };
}

/** Fetch and decode the first `count` images of the subset served under `baseUrl` (browser, or Node's fetch). */
export async function fetchSubsetBatch(baseUrl: string | URL, count: number): Promise<ImageBatch> {
  const base = new URL(baseUrl, (globalThis as { location?: { href: string } }).location?.href);
  const get = async (name: string): Promise<Uint8Array> => {
    const url = new URL(name, base);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`harness: ${url.href} answered ${response.status} ${response.statusText}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  const [imagesGz, labelsGz] = await Promise.all([get(SUBSET_FILES.images), get(SUBSET_FILES.labels)]);
  return decodeSubsetBatch(imagesGz, labelsGz, count);
}

/** Select the backend (and the wasm thread count); returns the threads actually in use. */
export async function selectBackend(name: 'reference' | 'wasm', threads = 1): Promise<number> {
  const backend = await setBackend(name);
  if (name === 'reference') return 1;
  const wasm = backend as WasmBackend;
  await wasm.setThreads(threads);
  return wasm.threads;
}

function parameterSum(params: Iterable<{ data: Float32Array }>): number {
  let s = 0;
  for (const p of params) for (let i = 0; i < p.data.length; i++) s += p.data[i]!;
  return s;
}

/**
 * Seeded LeNet-5 (PyTorch-default initialisation from `manualSeed(seed)`), SGD with momentum, `steps` steps
 * on the same batch; returns each step's loss. Leaves the chosen backend selected.
 */
export async function trainLeNetSteps(batch: ImageBatch, options: TrainStepsOptions): Promise<TrainStepsResult> {
  const threads = await selectBackend(options.backend, options.threads ?? 1);
  manualSeed(options.seed);
  const net = models.create('lenet5', { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
  net.train();
  const params = net.parameters();
  const initialParameterSum = parameterSum(params);
  const opt = new optim.SGD(params, { lr: options.lr ?? 0.01, momentum: options.momentum ?? 0.9 });
  const x = tensor(batch.images.slice(), [batch.count, 1, 28, 28]);
  const losses: number[] = [];
  const start = performance.now();
  for (let step = 0; step < options.steps; step++) {
    const loss = F.crossEntropy(net.forward(x), batch.labels);
    losses.push(loss.item());
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  const milliseconds = performance.now() - start;
  return { backend: options.backend, threads, losses, initialParameterSum, finalParameterSum: parameterSum(params), milliseconds };
}

/** What a page reports about its environment (the test checks it before training). */
/** The backend the library chose while loading (before any selectBackend call), and its threads. */
const chosenAtImport = ((backend: { name: string; threads?: number }) => ({ name: backend.name, threads: backend.threads ?? 1 }))(getBackend());

/** Which backend importing the library selected here, with no setBackend call: wasm wherever it loads. */
export function backendAtImport(): { name: string; threads: number } {
  return { ...chosenAtImport };
}

export function pageEnvironment(): { crossOriginIsolated: boolean; sharedArrayBuffer: boolean; hardwareConcurrency: number } {
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  return {
    crossOriginIsolated: g.crossOriginIsolated === true,
    sharedArrayBuffer: typeof SharedArrayBuffer !== 'undefined',
    hardwareConcurrency: g.navigator?.hardwareConcurrency ?? 1,
  };
}
