/**
 * Optimizers and learning-rate schedules, PyTorch's numbers step for step:
 * `SGD`, `Adam`, `AdamW`; `StepLR`, `MultiStepLR`, `CosineAnnealingLR`, `LinearLR` (warm-up),
 * `SequentialLR` (warm-up then another schedule), `OneCycleLR`; `clipGradNorm`, `clipGradValue`.
 */
export { Optimizer } from './optimizer.js';
export type { OptimizerStateDict, ParamGroupBase, ParamGroupSpec, ParamState, Param, OptionValue } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions, SGDGroup } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions, AdamGroup } from './adam.js';
export { LRScheduler, StepLR, MultiStepLR, CosineAnnealingLR, LinearLR, SequentialLR, OneCycleLR } from './lr_scheduler.js';
export type { OneCycleOptions, SchedulerStateDict, JsonValue } from './lr_scheduler.js';
export { clipGradNorm, clipGradValue } from './clip_grad.js';
