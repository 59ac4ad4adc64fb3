/**
 * The timing protocol shared by every JavaScript peer (bench/python/timing.py is the same for PyTorch).
 *
 * A cell is one (peer, model, mode). `step(n)` runs one training step (or one inference pass) on a fixed
 * batch of n examples and resolves when the result is computed (read back, not just queued).
 *
 * 1. Probe: one cold step at a small batch (min(batch, 8)). If it predicts a full-batch step within `maxStep`
 *    seconds, go to 3. Otherwise time a second small step: if that one predicts a full-batch step within
 *    `maxStep` too (the cold step was slow for one-off reasons), go to 3.
 * 2. Otherwise the cell is an *estimate*: steps at the small batch, timed from the second step on, until
 *    `seconds` have passed (at least that one step); the note says so.
 * 3. Warm-up at the full batch for at least `warmup` seconds (and at least 2 steps), then `repeats` timed
 *    runs, each as many whole steps as fit in `seconds` (at least one). The figure is the median images/s.
 */
import { performance } from 'node:perf_hooks';

/**
 * @param {(n: number) => unknown | Promise<unknown>} step
 * @param {number} batch
 * @param {{ seconds: number, repeats: number, warmup: number, maxStep: number }} options
 */
export async function measure(step, batch, { seconds, repeats, warmup, maxStep }) {
  const probeBatch = Math.min(batch, 8);
  const predict = (seconds_) => (seconds_ * batch) / probeBatch;
  let t0 = performance.now();
  await step(probeBatch);
  const cold = (performance.now() - t0) / 1000;
  if (predict(cold) > maxStep) {
    let count = 0;
    let elapsed = 0;
    t0 = performance.now();
    do {
      await step(probeBatch);
      count++;
      elapsed = (performance.now() - t0) / 1000;
    } while (elapsed < seconds && predict(elapsed / count) > maxStep);
    const predicted = predict(elapsed / count);
    if (predicted > maxStep) {
      const ips = (count * probeBatch) / elapsed;
      return {
        imagesPerSec: ips, runs: [ips], measuredBatch: probeBatch, steps: count, estimate: true,
        note: `a batch-${batch} step would take ~${predicted.toFixed(0)} s: timed ${count} step${count === 1 ? '' : 's'} at batch ${probeBatch} instead`,
      };
    }
  }
  t0 = performance.now();
  for (let count = 0; count < 2 || (performance.now() - t0) / 1000 < warmup; count++) await step(batch);
  const runs = [];
  let steps = 0;
  let timed = 0;
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < repeats; r++) {
    let count = 0;
    let elapsed = 0;
    t0 = performance.now();
    do {
      await step(batch);
      count++;
      elapsed = (performance.now() - t0) / 1000;
    } while (elapsed < seconds);
    runs.push((count * batch) / elapsed);
    steps += count;
    timed += elapsed;
  }
  // CPU seconds of this process (all its threads) over the timed runs: a hint of how much of the wall time
  // the peer actually ran when the machine is shared (spinning thread pools count as CPU time too).
  const cpu = process.cpuUsage(cpu0);
  return { imagesPerSec: median(runs), runs, measuredBatch: batch, steps, estimate: false, wallSeconds: timed, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Parse the cell arguments every peer script takes. */
export function cellArgs(argv = process.argv.slice(2)) {
  const out = { model: '', mode: 'train', seconds: 10, repeats: 3, warmup: 2, maxStep: 30, batch: 0, threads: 0, backend: '', info: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--info') out.info = true;
    else if (a === '--model') out.model = next();
    else if (a === '--mode') out.mode = next();
    else if (a === '--seconds') out.seconds = Number(next());
    else if (a === '--repeats') out.repeats = Number(next());
    else if (a === '--warmup') out.warmup = Number(next());
    else if (a === '--max-step') out.maxStep = Number(next());
    else if (a === '--batch') out.batch = Number(next());
    else if (a === '--threads') out.threads = Number(next());
    else if (a === '--backend') out.backend = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!out.batch) out.batch = out.mode === 'train' ? TRAIN_BATCH[out.model] : 256;
  return out;
}

export const INPUT_SHAPES = { mlp: [1, 28, 28], lenet5: [1, 28, 28], vggsmall: [1, 28, 28], resnet20: [3, 32, 32] };
export const TRAIN_BATCH = { mlp: 64, lenet5: 64, vggsmall: 64, resnet20: 128 };
export const PARAM_COUNTS = { mlp: 269_322, lenet5: 61_706, vggsmall: 870_634, resnet20: 272_474 };

/** Deterministic pseudo-random inputs (the values do not matter for speed, only that they are not zeros). */
export function randomInputs(model, batch, seed = 1) {
  const [c, h, w] = INPUT_SHAPES[model];
  const x = new Float32Array(batch * c * h * w);
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let i = 0; i < x.length; i++) x[i] = next() * 2 - 1;
  const y = new Int32Array(batch);
  for (let i = 0; i < batch; i++) y[i] = Math.floor(next() * 10);
  return { x, y, shape: [batch, c, h, w] };
}

/** Print the one line the orchestrator reads. */
export function emit(result) {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}
