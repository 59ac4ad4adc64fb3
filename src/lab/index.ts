/**
 * The lab: experiments that measure the design claims about CNNs on real images (browser-safe core).
 * Node: `runLab` in src/node/labRun.ts, or `convkit lab NAME [--quick] [--seeds N] [--out DIR]`.
 */
export * from './types.js';
export { EXPERIMENTS, findExperiment } from './experiments/index.js';
export { runExperiment, runExperiments, type LabRunSummary } from './runner.js';
export { renderReport } from './report.js';
export { PROTOCOLS, EARLY_STOPPING, describeBudget, type Protocol, type TrainBudget, type EpochBudget } from './protocol.js';
export { trainSteps, trainEpochs, learningRateAt, predict, accuracy, seededSubset, seededModel, inputTransform, imagesOf, FASHION_MEAN, FASHION_STD, type TrainSpec, type TrainOutcome, type EpochTrainSpec, type EpochOutcome } from './train.js';
export { labSplit, subsetIndices, VALIDATION_SPLIT, type LabSplit } from './split.js';
export { interval95, intervalsOverlap, tQuantile975, type Interval95 } from './stats.js';
export { parsePytorchResult, sideBySide, agreement, type PytorchResult } from './pytorch.js';
export { planRuns, measureSpeed, estimate, renderEstimate, type PlannedRun, type ModelSpeed } from './estimate.js';
export { exportProtocol, PROTOCOL_FORMAT } from './export.js';
export { traceLayers, leafLayers, shiftPlanes, equivarianceError, interiorRange, relativeChange, type LayerOutput, type EquivarianceMeasurement } from './probe.js';
export { poolingModel, POOLING_VARIANTS, type PoolingVariant } from './experiments/pooling.js';
export { compareShiftedLayer, type LayerShiftComparison } from './experiments/equivariance.js';
export { topActivatingPatches, type DepthPatches, type ChannelPatches, type ActivatingPatch, type TopPatchOptions } from './experiments/hierarchy.js';
export { PERMUTATION_SEED, SHUFFLE_MODELS } from './experiments/shuffle.js';
export { DEPTH_MODELS, type DepthRun } from './experiments/depth.js';
