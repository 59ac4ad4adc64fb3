/**
 * What the engine worker holds between requests: the data, the current model and the training run. Every area's
 * handlers receive this one object, so the model trained in the Train tab is the model the Inside and Models tabs
 * look at.
 */
import type { data, nn } from '../../../src/index.js';
import type { CheckpointMeta } from '../../../src/io/checkpoint.js';
import type { EventName, Events } from '../protocol.js';
import type { EngineInfo } from './protocol.js';

/** A dataset pair the engine trains and evaluates on. */
export interface LoadedData {
  /** Shown on the page, e.g. 'Fashion-MNIST subset (2,000 train / 1,000 test)'. */
  description: string;
  train: data.ImageDataset;
  test: data.ImageDataset;
  /** Normalisation applied to inputs before the model (null: pixels in [0, 1]). */
  normalization: { mean: number[]; std: number[] } | null;
}

/** The current model and what describes it (the same meta a checkpoint carries). */
export interface LoadedModel {
  net: nn.Module;
  /** Model name and config, dataset (class names, input shape, normalisation), metrics so far. */
  meta: CheckpointMeta;
  /** Where it came from: 'trained in the page', 'checkpoint convkit-runs/x/best', ... */
  origin: string;
  /** Optimizer state dict (tensors in place) for a download that can resume; null when unknown. */
  optimizerState: unknown;
}

export interface EngineState {
  info: EngineInfo | null;
  data: LoadedData | null;
  model: LoadedModel | null;
  /** The running training, if any: abort() stops it between two steps. */
  training: AbortController | null;
  /** Push an event to the page. */
  emit<E extends EventName>(event: E, payload: Events[E], transfer?: Transferable[]): void;
}

/** A handler's answer may name buffers to transfer instead of copy. */
export class Transfer<T> {
  constructor(readonly value: T, readonly transfer: Transferable[]) {}
}
