/**
 * The browser demo (web/index.html): train a small CNN on the embedded Fashion-MNIST subset (2,000 training and
 * 1,000 test images, fetched from ./data/fashion-mnist-subset/) in the page, on the wasm backend with Web Workers
 * when the page is cross-origin isolated, and watch the loss, the test accuracy and predictions on test images.
 *
 * The training loop is the ordinary user loop (forward, cross-entropy, zeroGrad, backward, step): no dispose,
 * no scopes. It yields to the browser every ~50 ms so the page stays responsive.
 */
import { data, F, Generator, manualSeed, models, noGrad, optim, setBackend, tensor, type Tensor } from '../src/index.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';

const DATA_URL = './data/fashion-mnist-subset/';
const DEMO_MODELS = ['lenet5', 'mlp', 'vggsmall'];

export interface DemoSettings {
  model: string;
  backend: 'wasm' | 'reference';
  threads: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
}

export interface EpochReport {
  epoch: number;
  trainLoss: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface DemoCallbacks {
  /** Called after each step with the step's loss (throttled by the caller if it draws). */
  onStep?(step: number, loss: number): void;
  onEpoch?(report: EpochReport): void;
  /** Return true to stop after the current step. */
  shouldStop?(): boolean;
}

async function fetchBytes(name: string): Promise<Uint8Array> {
  const url = new URL(name, new URL(DATA_URL, location.href));
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.href} answered ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The embedded subset's train or test split as a dataset (uint8 pixels, scaled by the DataLoader). */
export async function loadSubset(split: 'train' | 't10k'): Promise<data.ImageDataset> {
  const imagesName = `${split}-images-idx3-ubyte.gz`, labelsName = `${split}-labels-idx1-ubyte.gz`;
  const [imagesGz, labelsGz] = await Promise.all([fetchBytes(imagesName), fetchBytes(labelsName)]);
  const images = data.parseIdxImages(await data.gunzipBytes(imagesGz, imagesName), imagesName);
  const labels = data.parseIdxLabels(await data.gunzipBytes(labelsGz, labelsName), labelsName);
  data.checkSameCount(images, imagesName, labels, labelsName);
  return new data.ImageDataset({
    images: images.pixels, labels, channels: 1, height: images.height, width: images.width,
    classNames: data.FASHION_MNIST_CLASSES, name: `fashion-mnist-subset/${split === 't10k' ? 'test' : 'train'}`,
    source: { kind: 'embedded-subset', location: DATA_URL, isSubset: true },
  });
}

/** Select a backend; returns a description such as 'wasm, 2 threads'. Falls back to reference with the reason. */
export async function chooseBackend(name: 'wasm' | 'reference', threads: number): Promise<string> {
  if (name === 'reference') {
    await setBackend('reference');
    return 'reference';
  }
  try {
    const wasm = (await setBackend('wasm')) as WasmBackend;
    await wasm.setThreads(Math.max(1, threads));
    return `wasm, ${wasm.threads} thread${wasm.threads === 1 ? '' : 's'}`;
  } catch (e) {
    await setBackend('reference');
    return `reference (wasm unavailable: ${(e as Error).message})`;
  }
}

/** Predicted class of every image of `x` [N, C, H, W]. */
function predict(net: { forward(x: Tensor): Tensor }, x: Tensor): Int32Array {
  return noGrad(() => F.argmax(net.forward(x), 1).indices);
}

/** Accuracy of `net` on `dataset` (eval mode; the caller restores train mode). */
export function evaluate(net: { forward(x: Tensor): Tensor }, dataset: data.ImageDataset, batchSize = 250): number {
  const loader = new data.DataLoader(dataset, { batchSize });
  let correct = 0;
  for (const { x, y } of loader) {
    const p = predict(net, x);
    for (let i = 0; i < y.length; i++) if (p[i] === y[i]) correct++;
  }
  return correct / dataset.length;
}

const yieldToBrowser = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Train a fresh seeded model; returns the model. */
export async function train(settings: DemoSettings, train: data.ImageDataset, test: data.ImageDataset, callbacks: DemoCallbacks = {}) {
  manualSeed(settings.seed);
  const net = models.create(settings.model, { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
  const opt = new optim.Adam(net.parameters(), { lr: settings.lr });
  const loader = new data.DataLoader(train, { batchSize: settings.batchSize, shuffle: true, generator: new Generator(settings.seed) });
  let step = 0, lastYield = performance.now();
  for (let epoch = 1; epoch <= settings.epochs; epoch++) {
    net.train();
    const start = performance.now();
    let lossSum = 0, seen = 0;
    for (const { x, y } of loader) {
      const loss = F.crossEntropy(net.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      const value = loss.item();
      lossSum += value * y.length;
      seen += y.length;
      callbacks.onStep?.(++step, value);
      if (performance.now() - lastYield > 50) {
        await yieldToBrowser();
        lastYield = performance.now();
      }
      if (callbacks.shouldStop?.()) return net;
    }
    const seconds = (performance.now() - start) / 1000;
    net.eval();
    const testAccuracy = evaluate(net, test);
    callbacks.onEpoch?.({ epoch, trainLoss: lossSum / seen, testAccuracy, seconds, imagesPerSecond: seen / seconds });
    await yieldToBrowser();
  }
  net.eval();
  return net;
}

// ---- the page ------------------------------------------------------------------------------------------------

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: index.html has no #${id}`);
  return el as T;
}

function drawLosses(canvas: HTMLCanvasElement, losses: number[]): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = '#ccc';
  ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
  if (losses.length < 2) return;
  const top = Math.max(...losses.slice(0, 20), 0.1);
  ctx.strokeStyle = '#1f6feb';
  ctx.beginPath();
  losses.forEach((l, i) => {
    const px = (i / (losses.length - 1)) * (width - 8) + 4;
    const py = height - 4 - (Math.min(l, top) / top) * (height - 8);
    if (i === 0) ctx.moveTo(px, py);
    else ctx.lineTo(px, py);
  });
  ctx.stroke();
  ctx.fillStyle = '#333';
  ctx.fillText(`loss ${losses[losses.length - 1]!.toFixed(3)} (step ${losses.length})`, 8, 14);
}

function showPredictions(container: HTMLElement, net: { forward(x: Tensor): Tensor }, test: data.ImageDataset, count = 24): void {
  container.replaceChildren();
  const indices = Array.from({ length: count }, (_, i) => Math.floor((i * test.length) / count));
  const pixels = 28 * 28;
  const x = new Float32Array(count * pixels);
  indices.forEach((index, i) => test.copyImageTo(index, x, i * pixels));
  const predicted = predict(net, tensor(x, [count, 1, 28, 28]));
  indices.forEach((index, i) => {
    const figure = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.width = 28;
    canvas.height = 28;
    const image = new ImageData(28, 28);
    for (let p = 0; p < pixels; p++) {
      const v = 255 - Math.round(x[i * pixels + p]! * 255);
      image.data.set([v, v, v, 255], p * 4);
    }
    canvas.getContext('2d')?.putImageData(image, 0, 0);
    const caption = document.createElement('figcaption');
    const truth = test.labels[index]!, guess = predicted[i]!;
    caption.textContent = test.classNames[guess]!;
    caption.className = guess === truth ? 'right' : 'wrong';
    caption.title = `true: ${test.classNames[truth]}`;
    figure.append(canvas, caption);
    container.append(figure);
  });
}

/** Wire up index.html. Exposed for the browser test as `window.convkitDemo`. */
export async function startDemo(): Promise<void> {
  const status = element<HTMLElement>('status');
  const log = element<HTMLElement>('log');
  const button = element<HTMLButtonElement>('train');
  const stop = element<HTMLButtonElement>('stop');
  const modelSelect = element<HTMLSelectElement>('model');
  const isolated = globalThis.crossOriginIsolated === true;
  const cores = navigator.hardwareConcurrency || 1;
  element<HTMLInputElement>('threads').value = String(isolated ? Math.min(cores, 4) : 1);
  const available = models.list();
  for (const info of DEMO_MODELS.flatMap((name) => available.filter((m) => m.name === name))) {
    const option = document.createElement('option');
    option.value = info.name;
    option.textContent = `${info.name}: ${info.description}`;
    modelSelect.append(option);
  }
  status.textContent = `cross-origin isolated: ${isolated} (${cores} cores); loading the Fashion-MNIST subset...`;
  const [trainSet, testSet] = await Promise.all([loadSubset('train'), loadSubset('t10k')]);
  status.textContent = `cross-origin isolated: ${isolated}; ${trainSet.length} training and ${testSet.length} test images loaded.`;
  button.disabled = false;
  document.body.dataset.state = 'ready';
  let stopping = false;
  stop.onclick = () => { stopping = true; };
  button.onclick = async () => {
    button.disabled = true;
    stop.disabled = false;
    stopping = false;
    document.body.dataset.state = 'training';
    log.textContent = '';
    const settings: DemoSettings = {
      model: modelSelect.value,
      backend: element<HTMLSelectElement>('backend').value === 'reference' ? 'reference' : 'wasm',
      threads: Number(element<HTMLInputElement>('threads').value) || 1,
      epochs: Number(element<HTMLInputElement>('epochs').value) || 1,
      batchSize: 64,
      lr: 1e-3,
      seed: 0,
    };
    try {
      const backend = await chooseBackend(settings.backend, settings.threads);
      status.textContent = `training ${settings.model} on ${backend}...`;
      const losses: number[] = [];
      let lastDraw = 0;
      const canvas = element<HTMLCanvasElement>('chart');
      const net = await train(settings, trainSet, testSet, {
        onStep: (_step, loss) => {
          losses.push(loss);
          if (performance.now() - lastDraw > 100) { drawLosses(canvas, losses); lastDraw = performance.now(); }
        },
        onEpoch: (r) => {
          log.textContent += `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, test accuracy ${(100 * r.testAccuracy).toFixed(1)}%, ` +
            `${r.imagesPerSecond.toFixed(0)} images/s\n`;
          document.body.dataset.testAccuracy = String(r.testAccuracy);
        },
        shouldStop: () => stopping,
      });
      drawLosses(canvas, losses);
      showPredictions(element('predictions'), net, testSet);
      status.textContent = `${stopping ? 'stopped' : 'done'}: ${settings.model} on ${backend}.`;
    } catch (e) {
      status.textContent = `error: ${(e as Error).message}`;
      document.body.dataset.error = (e as Error).message;
    } finally {
      button.disabled = false;
      stop.disabled = true;
      document.body.dataset.state = 'done';
    }
  };
}
