/**
 * The Train tab's form: the text of each control, parsed and checked. A bad value gets a message shown next to
 * its control and blocks Start (never a silent clamp); too many threads is the one value that is capped (the
 * machine has no more cores), with a message saying so.
 */
// names.ts only: the page must not load the library (importing it starts a backend on the main thread).
import { AUGMENTATIONS, OPTIMIZERS, SCHEDULES, type Augmentation, type OptimizerName, type ScheduleName } from '../../../src/train/names.js';
import type { RunSettings } from './protocol.js';

/** The models offered, in the order shown; all build for 1x28x28 inputs. */
export const TRAIN_MODELS = ['mlp', 'lenet5', 'cnn2_bn', 'vggsmall', 'vggsmall_bn', 'resnet20', 'lcnet'] as const;
export { AUGMENTATIONS, OPTIMIZERS, SCHEDULES };

export interface FormValues {
  model: string;
  optimizer: OptimizerName;
  lr: string;
  momentum: string;
  weightDecay: string;
  batch: string;
  epochs: string;
  schedule: ScheduleName;
  augment: Augmentation;
  seed: string;
  backend: 'wasm' | 'reference';
  threads: string;
}

export type FieldName = 'lr' | 'momentum' | 'weightDecay' | 'batch' | 'epochs' | 'seed' | 'threads';

export const DEFAULT_FORM: Omit<FormValues, 'threads'> = {
  model: 'lenet5', optimizer: 'adam', lr: '0.001', momentum: '0.9', weightDecay: '0', batch: '32', epochs: '3',
  schedule: 'none', augment: 'none', seed: '0', backend: 'wasm',
};

/** A typical learning rate per optimizer, proposed when the optimizer changes. */
export const DEFAULT_LR: Record<OptimizerName, string> = { sgd: '0.05', adam: '0.001', adamw: '0.001' };

export interface CheckedForm {
  /** The run's settings, or null while some field is wrong. */
  settings: RunSettings | null;
  /** Threads to ask the engine for (after the cap). */
  threads: number;
  /** Errors (block Start) and notes (do not) per field. */
  errors: Partial<Record<FieldName, string>>;
  notes: Partial<Record<FieldName, string>>;
}

/** A number typed in a field: '' and text that is not a whole number literal are NaN. */
function parse(text: string): number {
  const t = text.trim();
  return t === '' ? NaN : Number(t);
}

function wholeNumber(text: string, min: number, max: number, what: string): { value: number; error?: string } {
  const v = parse(text);
  if (!Number.isInteger(v) || v < min || v > max) return { value: v, error: `${what} must be a whole number from ${min} to ${max.toLocaleString('en-US')}` };
  return { value: v };
}

/**
 * Check the form. `cores`: navigator.hardwareConcurrency; `isolated`: whether the page can run wasm threads;
 * `trainCount`: training images loaded (the largest useful batch).
 */
export function checkForm(f: FormValues, env: { cores: number; isolated: boolean; trainCount: number | null }): CheckedForm {
  const errors: CheckedForm['errors'] = {};
  const notes: CheckedForm['notes'] = {};
  const epochs = wholeNumber(f.epochs, 1, 500, 'epochs');
  if (epochs.error) errors.epochs = epochs.error;
  const maxBatch = Math.max(1, env.trainCount ?? 60000);
  const batch = wholeNumber(f.batch, 1, maxBatch, 'batch size');
  if (batch.error) errors.batch = `${batch.error}${env.trainCount !== null ? ' (the number of training images)' : ''}`;
  const seed = wholeNumber(f.seed, 0, 2 ** 31 - 1, 'seed');
  if (seed.error) errors.seed = seed.error;
  const lr = parse(f.lr);
  if (!(lr > 0 && lr <= 10)) errors.lr = 'learning rate must be a number above 0 (typically 0.0001 to 0.1) and at most 10';
  const momentum = parse(f.momentum);
  if (f.optimizer === 'sgd' && !(momentum >= 0 && momentum < 1)) errors.momentum = 'momentum must be at least 0 and below 1 (0.9 is usual)';
  const weightDecay = parse(f.weightDecay);
  if (!(weightDecay >= 0 && weightDecay <= 1)) errors.weightDecay = 'weight decay must be from 0 to 1 (typically 0 to 0.0005)';

  let threads = 1;
  if (f.backend === 'wasm') {
    const asked = wholeNumber(f.threads, 1, 1024, 'threads');
    if (asked.error) {
      errors.threads = asked.error;
    } else if (!env.isolated && asked.value > 1) {
      threads = 1;
      notes.threads = 'capped at 1: this page is not cross-origin isolated, so wasm runs on one thread (serve it with `npx convkit explore`)';
    } else if (asked.value > env.cores) {
      threads = env.cores;
      notes.threads = `capped at ${env.cores}: this device reports ${env.cores} logical core${env.cores === 1 ? '' : 's'} (navigator.hardwareConcurrency)`;
    } else {
      threads = asked.value;
    }
  }
  const ok = Object.keys(errors).length === 0;
  return {
    settings: ok ? {
      model: f.model, optimizer: f.optimizer, lr, momentum: f.optimizer === 'sgd' ? momentum : 0, weightDecay,
      batch: batch.value, epochs: epochs.value, schedule: f.schedule, augment: f.augment, seed: seed.value,
    } : null,
    threads, errors, notes,
  };
}
