/**
 * Classification metrics: argmax predictions, a confusion matrix, accuracy and per-class accuracy, and
 * `evaluate()`, which runs a model over a loader without recording gradients.
 *
 * @example
 * const result = evaluate(net, testLoader);       // { loss, accuracy, perClassAccuracy, confusion, ... }
 * console.log(formatPerClassTable(result, classNames));
 */
import { noGrad } from '../autograd/tape.js';
import { crossEntropy } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { backendScope } from './scope.js';

/** Anything with a forward pass and train/eval modes (an `nn.Module`). */
export interface Classifier {
  forward(x: Tensor): Tensor;
  train(mode?: boolean): unknown;
  eval(): unknown;
  training: boolean;
}

/** Batches of images and integer labels (a `DataLoader`). */
export interface LabeledBatches extends Iterable<{ x: Tensor; y: Int32Array }> {
  readonly length: number;
}

export interface EvaluationResult {
  /** Mean cross-entropy over all examples. */
  loss: number;
  /** Fraction of examples whose top prediction equals the label. */
  accuracy: number;
  /** Accuracy per true class (NaN for a class with no examples). */
  perClassAccuracy: number[];
  /** confusion[trueClass][predictedClass] = count. */
  confusion: number[][];
  /** Number of examples seen. */
  count: number;
}

/** Index of the largest logit of each row of a [N, C] tensor (the first one on ties, like torch.argmax). */
export function argmaxRows(logits: Tensor): Int32Array {
  if (logits.ndim !== 2) throw new Error(`argmaxRows: expected logits [N, C], got [${logits.shape.join(', ')}]`);
  const [n, c] = logits.shape as [number, number];
  const out = new Int32Array(n);
  const d = logits.data;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = d[i * c]!;
    for (let j = 1; j < c; j++) {
      const v = d[i * c + j]!;
      if (v > bestValue || (Number.isNaN(v) && !Number.isNaN(bestValue))) {
        best = j;
        bestValue = v;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Accumulates a confusion matrix batch by batch. */
export class ConfusionMatrix {
  readonly counts: number[][];
  constructor(readonly numClasses: number) {
    this.counts = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  }

  add(labels: Int32Array, predictions: Int32Array): void {
    for (let i = 0; i < labels.length; i++) {
      const t = labels[i]!;
      const p = predictions[i]!;
      if (t < 0 || t >= this.numClasses) throw new Error(`ConfusionMatrix: label ${t} out of range for ${this.numClasses} classes`);
      if (p < 0 || p >= this.numClasses) throw new Error(`ConfusionMatrix: prediction ${p} out of range for ${this.numClasses} classes (does the model output ${this.numClasses} logits?)`);
      this.counts[t]![p]!++;
    }
  }

  get total(): number {
    return this.counts.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  }

  accuracy(): number {
    let correct = 0;
    for (let k = 0; k < this.numClasses; k++) correct += this.counts[k]![k]!;
    const total = this.total;
    return total === 0 ? NaN : correct / total;
  }

  perClassAccuracy(): number[] {
    return this.counts.map((row, k) => {
      const n = row.reduce((a, b) => a + b, 0);
      return n === 0 ? NaN : row[k]! / n;
    });
  }
}

/**
 * Loss, accuracy, per-class accuracy and confusion matrix of `model` on `batches`, in eval mode and without
 * gradients. The model's previous mode is restored afterwards.
 */
export function evaluate(model: Classifier, batches: LabeledBatches, numClasses: number): EvaluationResult {
  const wasTraining = model.training;
  model.eval();
  const confusion = new ConfusionMatrix(numClasses);
  let lossSum = 0;
  let count = 0;
  const scope = backendScope();
  try {
    noGrad(() => {
      for (const { x, y } of batches) {
        scope(() => {
          const logits = model.forward(x);
          if (logits.ndim !== 2 || logits.shape[0] !== y.length) {
            throw new Error(`evaluate: model output has shape [${logits.shape.join(', ')}], expected [${y.length}, ${numClasses}]`);
          }
          lossSum += crossEntropy(logits, y, { reduction: 'sum' }).item();
          confusion.add(y, argmaxRows(logits));
        });
        count += y.length;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return {
    loss: count === 0 ? NaN : lossSum / count,
    accuracy: confusion.accuracy(),
    perClassAccuracy: confusion.perClassAccuracy(),
    confusion: confusion.counts,
    count,
  };
}

function pct(x: number): string {
  return Number.isNaN(x) ? '   -  ' : `${(x * 100).toFixed(1).padStart(5)}%`;
}

/** A plain-text table of per-class accuracy (and count), one class per line. */
export function formatPerClassTable(result: EvaluationResult, classNames: readonly string[]): string {
  const width = Math.max(5, ...classNames.map((c) => c.length));
  const lines = [`${'class'.padEnd(width)}  accuracy  correct / total`];
  result.confusion.forEach((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    lines.push(`${(classNames[k] ?? String(k)).padEnd(width)}  ${pct(result.perClassAccuracy[k]!).padStart(8)}  ${String(row[k]).padStart(7)} / ${total}`);
  });
  return lines.join('\n');
}

/** The confusion matrix as text: rows are true classes, columns predicted classes. */
export function formatConfusionMatrix(confusion: readonly (readonly number[])[], classNames: readonly string[]): string {
  const labels = classNames.map((c, i) => (c.length > 10 ? c.slice(0, 9) + '.' : c) || String(i));
  const cellWidth = Math.max(5, ...confusion.flat().map((v) => String(v).length + 1));
  const labelWidth = Math.max(...labels.map((l) => l.length), 'true \\ pred'.length);
  const header = 'true \\ pred'.padEnd(labelWidth) + confusion.map((_, j) => String(j).padStart(cellWidth)).join('');
  const rows = confusion.map((row, i) => (labels[i] ?? String(i)).padEnd(labelWidth) + row.map((v) => String(v).padStart(cellWidth)).join(''));
  const legend = labels.map((l, j) => `${j}=${l}`).join('  ');
  return [header, ...rows, `(columns: ${legend})`].join('\n');
}

/**
 * `evaluate` for a model that runs elsewhere and answers asynchronously (onnxruntime behind
 * `convkit eval --runtime onnxruntime`): `logitsOf(x)` gives the [N, classes] logits of a batch. Same loss,
 * confusion matrix and accuracies as `evaluate`.
 */
export async function evaluateWith(logitsOf: (x: Tensor) => Promise<Tensor>, batches: LabeledBatches, numClasses: number): Promise<EvaluationResult> {
  const confusion = new ConfusionMatrix(numClasses);
  let lossSum = 0;
  let count = 0;
  for (const { x, y } of batches) {
    const logits = await logitsOf(x);
    if (logits.ndim !== 2 || logits.shape[0] !== y.length) {
      throw new Error(`evaluate: model output has shape [${logits.shape.join(', ')}], expected [${y.length}, ${numClasses}]`);
    }
    noGrad(() => { lossSum += crossEntropy(logits, y, { reduction: 'sum' }).item(); });
    confusion.add(y, argmaxRows(logits));
    count += y.length;
  }
  return {
    loss: count === 0 ? NaN : lossSum / count,
    accuracy: confusion.accuracy(),
    perClassAccuracy: confusion.perClassAccuracy(),
    confusion: confusion.counts,
    count,
  };
}
