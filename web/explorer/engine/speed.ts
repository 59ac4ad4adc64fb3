/**
 * Training speed, measured the same way in the page's engine worker and in Node (bench/explorer-speed.mjs runs
 * this very function on both sides): a zoo model on 28x28 grayscale inputs, a fixed seeded batch kept in the
 * backend's memory, and the step `fit()` takes (inside the backend's step scope: forward, cross-entropy,
 * zeroGrad, backward, SGD with momentum, reading the loss back). Warm-up first, then `repeats` timed runs of
 * `seconds` each; the figure is their median.
 */
import { F, getBackend, Generator, models, optim, tensor, train } from '../../../src/index.js';

export interface SpeedOptions {
  model: string;
  batchSize: number;
  warmupSeconds: number;
  seconds: number;
  repeats: number;
}

export interface SpeedResult {
  model: string;
  batchSize: number;
  backend: string;
  /** Median images/s over the timed runs. */
  imagesPerSecond: number;
  runs: number[];
}

const now = (): number => performance.now();

export function measureTrainingSpeed(o: SpeedOptions): SpeedResult {
  const net = models.create(o.model, { numClasses: 10, inChannels: 1, inputSize: [28, 28] });
  const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const generator = new Generator(1);
  const per = 28 * 28;
  const backend = getBackend();
  const data = backend.allocState(o.batchSize * per);
  for (let i = 0; i < data.length; i++) data[i] = generator.uniform();
  const x = tensor(data, [o.batchSize, 1, 28, 28]);
  const y = Int32Array.from({ length: o.batchSize }, (_, i) => i % 10);
  const scope = train.backendScope();
  net.train();
  const step = (): void => {
    scope(() => {
      const loss = F.crossEntropy(net.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.item();
    });
  };
  let t0 = now();
  for (let k = 0; k < 2 || now() - t0 < o.warmupSeconds * 1000; k++) step();
  const runs: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    let count = 0;
    t0 = now();
    do {
      step();
      count++;
    } while (now() - t0 < o.seconds * 1000);
    runs.push((count * o.batchSize) / ((now() - t0) / 1000));
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { model: o.model, batchSize: o.batchSize, backend: backend.name, imagesPerSecond: sorted[sorted.length >> 1]!, runs };
}
