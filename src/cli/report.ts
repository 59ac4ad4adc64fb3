/**
 * The demo's report (Node): PNG pictures (predictions on test images, confusion matrix) and a Markdown page
 * tying them to the numbers. The pictures are drawn by src/viz/report.ts as RGBA buffers; this file encodes
 * them with pngjs and writes every file atomically.
 */
import { join, relative } from 'node:path';
import { PNG } from 'pngjs';
import { noGrad } from '../autograd/tape.js';
import { softmax } from '../ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { ImageDataset } from '../data/dataset.js';
import type { RgbaImage } from '../viz/image.js';
import { confusionMatrixImage, predictionGrid, type PredictionSample } from '../viz/report.js';
import { writeFileAtomic } from '../node/atomic.js';
import { formatDuration } from '../node/progress.js';
import type { TrainRun } from './training.js';
import { percent } from './runtime.js';

/** PNG bytes of an RGBA picture. */
export function encodePngBytes(image: RgbaImage): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.rgba.buffer, image.rgba.byteOffset, image.rgba.byteLength);
  return new Uint8Array(PNG.sync.write(png));
}

/** Predictions of `net` on the first `count` images of `test` (normalised as in training). */
export function predictSamples(net: Module, test: ImageDataset, count: number, normalization: { mean: number[]; std: number[] }): PredictionSample[] {
  const n = Math.min(count, test.length);
  const per = test.imageSize;
  const plane = test.height * test.width;
  const raw = new Float32Array(n * per);
  for (let i = 0; i < n; i++) test.copyImageTo(i, raw, i * per);
  const x = new Float32Array(raw);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < test.channels; c++) {
      const m = normalization.mean[c] ?? normalization.mean[0]!;
      const s = normalization.std[c] ?? normalization.std[0]!;
      const base = i * per + c * plane;
      for (let j = 0; j < plane; j++) x[base + j] = (x[base + j]! - m) / s;
    }
  }
  net.eval();
  const probs = noGrad(() => softmax(net.forward(new Tensor(x, [n, test.channels, test.height, test.width])), -1)).data;
  const k = test.numClasses;
  const samples: PredictionSample[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    samples.push({
      pixels: raw.subarray(i * per, (i + 1) * per), channels: test.channels, height: test.height, width: test.width,
      label: test.labels[i]!, prediction: best, probability: probs[i * k + best]!,
    });
  }
  return samples;
}

export interface ReportFiles {
  report: string;
  predictions: string;
  confusion: string;
}

/**
 * Write report.md, predictions.png and confusion.png into `dir`. The "Next" commands name the checkpoint relative
 * to `cwd`, the folder the run was started from (where the user types them), not relative to the report.
 */
export async function writeTrainingReport(dir: string, run: TrainRun, command: string, cwd: string = process.cwd()): Promise<ReportFiles> {
  const { result, data } = run;
  const classNames = data.train.classNames;
  const samples = predictSamples(run.net, data.test, 32, run.normalization);
  const files: ReportFiles = { report: join(dir, 'report.md'), predictions: join(dir, 'predictions.png'), confusion: join(dir, 'confusion.png') };
  await writeFileAtomic(files.predictions, encodePngBytes(predictionGrid(samples, classNames, { columns: 8 })));
  await writeFileAtomic(files.confusion, encodePngBytes(confusionMatrixImage(result.final.confusion, classNames)));
  const right = samples.filter((s) => s.prediction === s.label).length;
  const checkpoint = relative(cwd, join(run.outDir, 'best')) || '.';
  const lines = [
    `# convkit demo: ${run.settings.model} on ${data.name}`,
    '',
    `**Test accuracy: ${percent(result.final.accuracy)}** on ${result.final.count.toLocaleString('en-US')} test images ` +
      `(loss ${result.final.loss.toFixed(4)}), after ${result.epochsCompleted} epochs in ${formatDuration(run.seconds)}.`,
    '',
    `- data: ${data.source}, ${data.train.length.toLocaleString('en-US')} training images`,
    `- model: \`${run.settings.model}\` (${run.net.numParameters().toLocaleString('en-US')} parameters)`,
    `- training: ${run.settings.opt}, lr ${run.settings.lr}, schedule ${run.settings.schedule}, batch ${run.settings.batch}, seed ${run.settings.seed}, augmentation ${run.settings.augment}`,
    `- backend: ${run.backend}`,
    `- command: \`${command}\``,
    '',
    '## Per epoch',
    '',
    '| epoch | train loss | train acc | test loss | test acc | seconds |',
    '|---:|---:|---:|---:|---:|---:|',
    ...result.history.map((m) => `| ${m.epoch} | ${m.trainLoss.toFixed(4)} | ${percent(m.trainAccuracy)} | ${m.testLoss.toFixed(4)} | ${percent(m.testAccuracy)} | ${m.seconds.toFixed(1)} |`),
    '',
    '## Per class',
    '',
    '| class | accuracy | correct / total |',
    '|---|---:|---:|',
    ...result.final.confusion.map((row, k) => `| ${classNames[k]} | ${percent(result.final.perClassAccuracy[k]!)} | ${row[k]} / ${row.reduce((a, b) => a + b, 0)} |`),
    '',
    '## Predictions on the first 32 test images',
    '',
    `Green: right, red: wrong (with the true class below). ${right} of 32 right.`,
    '',
    '![predictions](predictions.png)',
    '',
    '## Confusion matrix',
    '',
    'Rows are the true classes, columns the predicted ones; shading is the fraction of the row.',
    '',
    '![confusion matrix](confusion.png)',
    '',
    '## Next',
    '',
    'From the folder the demo ran in:',
    '',
    '```sh',
    `convkit eval --checkpoint ${checkpoint}`,
    `convkit predict --checkpoint ${checkpoint} some-image.png --topk 3`,
    '```',
    '',
  ];
  await writeFileAtomic(files.report, lines.join('\n'));
  return files;
}
