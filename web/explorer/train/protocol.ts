/**
 * Requests and events of the explorer's Train tab (see ../protocol.ts): load a dataset into the engine, train a
 * zoo model on it with `train.fit()` in the worker, stop it, and the progress the page draws.
 */
import type { EpochMetrics } from '../../../src/io/checkpoint.js';
import type { Augmentation, OptimizerName, ScheduleName } from '../../../src/train/setup.js';

/** The IDX files of a built-in dataset that the server offers (`./datasets/index.json`), as absolute URLs. */
export interface DatasetFileUrls {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

/** Which class names a set of IDX files carries (the files themselves do not say). */
export type ClassNamesChoice = 'fashion-mnist' | 'mnist';

export type DataSource =
  /** The 2,000 + 1,000 image Fashion-MNIST subset shipped with convkit, under `<baseUrl>data/fashion-mnist-subset/`. */
  | { kind: 'subset'; baseUrl: string }
  /** A full dataset listed by the server. */
  | { kind: 'server'; name: ClassNamesChoice; files: DatasetFileUrls }
  /** IDX files the user dropped or picked (gzip or raw); which is which comes from the IDX header and the name. */
  | { kind: 'files'; files: { name: string; bytes: ArrayBuffer }[]; classes: ClassNamesChoice };

export interface DataSummary {
  /** e.g. 'Fashion-MNIST subset: 2,000 train / 1,000 test images'. */
  description: string;
  /** The dataset's name in checkpoints: 'fashion-mnist-subset', 'fashion-mnist', 'mnist', 'idx files'. */
  name: string;
  trainCount: number;
  testCount: number;
  classNames: string[];
  normalization: { mean: number[]; std: number[] };
}

/** What defines a run (the controls of the Train tab). */
export interface RunSettings {
  model: string;
  optimizer: OptimizerName;
  lr: number;
  /** SGD's momentum (ignored by adam/adamw). */
  momentum: number;
  weightDecay: number;
  batch: number;
  epochs: number;
  schedule: ScheduleName;
  augment: Augmentation;
  seed: number;
}

export interface RunOutcome {
  status: 'done' | 'stopped';
  epochsCompleted: number;
  /** Test accuracy after the last finished epoch, or null when none finished. */
  testAccuracy: number | null;
}

export interface TrainRequests {
  /** Load (and keep in the engine) a train/test pair. */
  'train.loadData': { params: DataSource; result: DataSummary };
  /**
   * Train a fresh model on the loaded data; resolves when the run ends (done or stopped), rejects on an error.
   * `stopFlag`: an Int32Array on a SharedArrayBuffer (cross-origin isolated pages) that the page clears before the
   * request and sets to 1 to stop; the worker reads it inside each step (between the blocks of the forward pass
   * and the nodes of the backward pass), so Stop works even while one step takes longer than the page's budget.
   */
  'train.start': { params: { settings: RunSettings; stopFlag: Int32Array | null }; result: RunOutcome };
  /** Stop the running training (no-op when none runs). */
  'train.stop': { params: Record<string, never>; result: { wasRunning: boolean } };
}

/** The 24 test images whose predictions the page shows. */
export interface PredictionImages {
  /** Indices into the test set. */
  indices: number[];
  labels: number[];
  /** [count, 1, 28, 28] pixels in [0, 1] (before normalisation). */
  pixels: Float32Array;
}

export interface TrainEvents {
  /** A run began: the model is built and the page can reset its charts. */
  'train.started': {
    runId: number;
    model: string;
    parameters: number;
    epochs: number;
    stepsPerEpoch: number;
    trainCount: number;
    testCount: number;
    dataset: string;
    classNames: string[];
    normalization: { mean: number[]; std: number[] };
    backend: string;
    predictionImages: PredictionImages;
  };
  /** Throttled (~10 per second) training progress. */
  'train.progress': {
    runId: number;
    epoch: number;
    epochs: number;
    /** Step within the epoch, 1-based. */
    step: number;
    stepsPerEpoch: number;
    globalStep: number;
    totalSteps: number;
    loss: number;
    lr: number;
    imagesPerSecond: number;
    /** Estimated seconds until the run ends (training steps only; the epochs' evaluations add a little). */
    secondsLeft: number;
    /** Every step's loss since the previous progress event: x in epochs (globalStep / stepsPerEpoch). */
    losses: { x: number[]; loss: number[] };
    /** 'training' or 'evaluating' (the test set, at an epoch's end). */
    phase: 'training' | 'evaluating';
  };
  /** An epoch ended: its metrics, the confusion matrix and the prediction grid's labels. */
  'train.epoch': {
    runId: number;
    metrics: EpochMetrics;
    perClassAccuracy: number[];
    /** confusion[true][predicted] = count over the test set. */
    confusion: number[][];
    testCount: number;
    /** Predicted class and its probability for each of the `predictionImages`. */
    predicted: number[];
    confidence: number[];
  };
}
