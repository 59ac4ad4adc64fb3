/**
 * Training (browser-safe): `fit()` with evaluation, checkpoints through a callback, exact resume and progress
 * events; metrics (confusion matrix, per-class accuracy) and their text tables.
 */
export { fit, modelCheckpoint, NonFiniteLossError, NonFiniteGradientError, NonFiniteEvaluationError, NonFiniteCheckpointError, TrainingAbortedError } from './trainer.js';
export type { FitOptions, FitResult, TrainEvent, RunInfo, CheckpointKind } from './trainer.js';
export { evaluate, evaluateWith, argmaxRows, ConfusionMatrix, formatPerClassTable, formatConfusionMatrix } from './metrics.js';
export type { EvaluationResult, Classifier, LabeledBatches } from './metrics.js';
export { earlyStopAfter, checkEarlyStopping, type EarlyStopping, type EarlyStop } from './selection.js';
export { backendScope, type StepScope } from './scope.js';
export { OPTIMIZERS, SCHEDULES, AUGMENTATIONS, makeOptimizer, makeScheduler, trainTransform, modelConfigFor } from './setup.js';
export type { OptimizerName, ScheduleName, Augmentation, OptimizerSettings } from './setup.js';
