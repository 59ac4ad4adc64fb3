/**
 * The choices a training run makes from its own metrics: which epoch is `best`, and when to stop early.
 *
 * With a validation set both read validation accuracy only; the test set is evaluated and reported, but a
 * choice made on it would make its accuracy an optimistic estimate (the test set would have been used for
 * model selection). Without a validation set, `best` falls back to test accuracy, as convkit did before
 * validation splits existed, and early stopping is refused.
 *
 * Both are pure functions of the epoch history, so a resumed run makes the same choices as one never
 * interrupted, with no extra state in the checkpoint.
 */
import type { BestMetric, EpochMetrics } from '../io/checkpoint.js';

/** Stop when validation accuracy has not improved by more than `minDelta` for `patience` epochs in a row. */
export interface EarlyStopping {
  /** Epochs without improvement to tolerate before stopping (an integer >= 1). */
  patience: number;
  /** The least increase of validation accuracy (a fraction, 0.001 = 0.1 point) that counts (default 0). */
  minDelta?: number;
}

/** Why a run stopped before its planned epochs. */
export interface EarlyStop {
  /** The last epoch trained. */
  epoch: number;
  /** The epoch of the last improvement (by more than minDelta) of validation accuracy. */
  bestEpoch: number;
  patience: number;
  minDelta: number;
}

/** The value of `metric` in an epoch's metrics (NaN when the epoch did not record it). */
export function metricValue(m: EpochMetrics, metric: BestMetric): number {
  const v = m[metric];
  return typeof v === 'number' ? v : NaN;
}

/** Whether an epoch with accuracy `value` becomes the new best (strictly higher; the first epoch always does). */
export function isNewBest(best: { value: number } | null, value: number): boolean {
  return best === null || value > best.value;
}

/** Check early-stopping settings; `hasValidation` says whether the run has a validation set to read. */
export function checkEarlyStopping(e: EarlyStopping, hasValidation: boolean): void {
  if (!hasValidation) {
    throw new Error('fit: earlyStopping needs a validation set (pass validation: a loader over a split of the training set, e.g. from splitValidation); it never reads the test set');
  }
  if (!Number.isInteger(e.patience) || e.patience < 1) throw new Error(`fit: earlyStopping.patience must be an integer >= 1 (epochs without improvement), got ${e.patience}`);
  const minDelta = e.minDelta ?? 0;
  if (!(minDelta >= 0 && minDelta < 1)) throw new Error(`fit: earlyStopping.minDelta must be a fraction in [0, 1) of accuracy (0.001 = 0.1 point), got ${e.minDelta}`);
}

/**
 * Whether to stop after the last epoch of `history`, reading `validationAccuracy` only. An epoch improves when
 * its accuracy exceeds the last improving epoch's by more than minDelta (as Keras's EarlyStopping); the run
 * stops once `patience` epochs in a row did not.
 */
export function earlyStopAfter(history: readonly EpochMetrics[], e: EarlyStopping): EarlyStop | null {
  const minDelta = e.minDelta ?? 0;
  let reference = -Infinity;
  let bestEpoch = 0;
  let waited = 0;
  for (const m of history) {
    const value = metricValue(m, 'validationAccuracy');
    if (value > reference + minDelta) {
      reference = value;
      bestEpoch = m.epoch;
      waited = 0;
    } else {
      waited++;
    }
  }
  const last = history[history.length - 1];
  return last && waited >= e.patience ? { epoch: last.epoch, bestEpoch, patience: e.patience, minDelta } : null;
}
