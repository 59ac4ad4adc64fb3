/**
 * The pictures of a training report (browser-safe, RGBA buffers): a grid of test images framed green (right)
 * or red (wrong) with the predicted class and, when wrong, the true one; and the confusion matrix as a heat
 * map with counts. Encode them as PNG in Node (the CLI uses pngjs) or draw them into a canvas.
 *
 * @example
 * const grid = predictionGrid(samples, classNames, { columns: 8 });
 * const matrix = confusionMatrixImage(result.confusion, classNames);
 */
import type { RgbaImage } from './image.js';
import { Canvas, fitText, textWidth, type Rgb } from './raster.js';

export interface PredictionSample {
  /** [C, H, W] pixels in [0, 1] (before normalisation). */
  pixels: ArrayLike<number>;
  channels: number;
  height: number;
  width: number;
  label: number;
  prediction: number;
  /** Probability of the predicted class. */
  probability: number;
}

const GREEN: Rgb = [34, 139, 34];
const RED: Rgb = [200, 30, 30];
const INK: Rgb = [20, 20, 20];

/** Test images in a grid, each with a green/red frame, the prediction and its probability, and the truth if wrong. */
export function predictionGrid(samples: readonly PredictionSample[], classNames: readonly string[], options: { columns?: number; scale?: number } = {}): RgbaImage {
  if (samples.length === 0) throw new Error('predictionGrid: no samples');
  const columns = Math.min(options.columns ?? 8, samples.length);
  const rows = Math.ceil(samples.length / columns);
  const s0 = samples[0]!;
  const scale = options.scale ?? Math.max(1, Math.round(84 / Math.max(s0.height, s0.width)));
  const border = 3;
  const imgW = s0.width * scale;
  const imgH = s0.height * scale;
  const cellW = Math.max(imgW + 2 * border, textWidth('X'.repeat(14)) + 4);
  const cellH = imgH + 2 * border + 24;
  const gap = 8;
  const canvas = new Canvas(columns * cellW + (columns + 1) * gap, rows * cellH + (rows + 1) * gap, [255, 255, 255]);
  const maxChars = Math.floor((cellW + 1) / 6);
  samples.forEach((s, k) => {
    const x0 = gap + (k % columns) * (cellW + gap);
    const y0 = gap + Math.floor(k / columns) * (cellH + gap);
    const right = s.prediction === s.label;
    const ix = x0 + Math.floor((cellW - imgW - 2 * border) / 2);
    canvas.frame(ix, y0, imgW + 2 * border, imgH + 2 * border, border, right ? GREEN : RED);
    canvas.drawImage(ix + border, y0 + border, s.pixels, s.channels, s.height, s.width, scale);
    const name = classNames[s.prediction] ?? String(s.prediction);
    const pct = `${Math.round(s.probability * 100)}%`;
    const line1 = `${fitText(name, maxChars - pct.length - 1)} ${pct}`;
    canvas.text(x0, y0 + imgH + 2 * border + 3, line1, right ? INK : RED);
    if (!right) canvas.text(x0, y0 + imgH + 2 * border + 13, fitText(`is ${classNames[s.label] ?? s.label}`, maxChars), INK);
  });
  return canvas.image;
}

/**
 * The confusion matrix (rows: true class, columns: predicted class) as a heat map: each cell is shaded by the
 * fraction of its row, with the count written in it; class names label the rows, indices the columns.
 */
export function confusionMatrixImage(confusion: readonly (readonly number[])[], classNames: readonly string[], options: { cell?: number } = {}): RgbaImage {
  const n = confusion.length;
  if (n === 0) throw new Error('confusionMatrixImage: empty matrix');
  const cell = options.cell ?? 40;
  const labels = classNames.map((c, i) => `${i} ${fitText(c, 12)}`);
  const left = Math.max(...labels.map((l) => textWidth(l))) + 30;
  const top = 42;
  const canvas = new Canvas(left + n * cell + 12, top + n * cell + 12, [255, 255, 255]);
  canvas.text(left + Math.floor((n * cell - textWidth('PREDICTED')) / 2), 4, 'PREDICTED', INK);
  canvas.text(2, top + Math.floor((n * cell) / 2) - 3, 'TRUE', INK);
  for (let j = 0; j < n; j++) {
    const t = String(j);
    canvas.text(left + j * cell + Math.floor((cell - textWidth(t)) / 2), top - 14, t, INK);
  }
  confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    canvas.text(left - 6 - textWidth(labels[i]!), top + i * cell + Math.floor((cell - 7) / 2), labels[i]!, INK);
    row.forEach((count, j) => {
      const f = total > 0 ? count / total : 0;
      // White to deep blue, with a gamma so small off-diagonal counts stay visible.
      const t = Math.sqrt(f);
      const c: Rgb = [Math.round(255 - t * (255 - 8)), Math.round(255 - t * (255 - 48)), Math.round(255 - t * (255 - 107))];
      canvas.fill(left + j * cell, top + i * cell, cell - 1, cell - 1, c);
      if (count > 0) {
        const text = String(count);
        const ink: Rgb = t > 0.55 ? [255, 255, 255] : INK;
        canvas.text(left + j * cell + Math.floor((cell - 1 - textWidth(text)) / 2), top + i * cell + Math.floor((cell - 8) / 2), text, ink);
      }
    });
  });
  return canvas.image;
}
