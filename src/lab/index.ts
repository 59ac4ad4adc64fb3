/**
 * The lab: experiments that measure the design claims about CNNs on real images (browser-safe core).
 * Node: `runLab` in src/node/labRun.ts, or `convkit lab NAME [--quick] [--seeds N] [--out DIR]`.
 */
export * from './types.js';
export { EXPERIMENTS, findExperiment } from './experiments/index.js';
export { runExperiment, runExperiments, type LabRunSummary } from './runner.js';
export { renderReport } from './report.js';
export { PROTOCOLS, describeBudget, type Protocol, type TrainBudget } from './protocol.js';
export { trainSteps, predict, accuracy, seededSubset, seededModel, inputTransform, imagesOf, FASHION_MEAN, FASHION_STD, type TrainSpec, type TrainOutcome } from './train.js';
export { traceLayers, leafLayers, shiftPlanes, equivarianceError, interiorRange, relativeChange, type LayerOutput, type EquivarianceMeasurement } from './probe.js';
export { poolingModel, POOLING_VARIANTS, type PoolingVariant } from './experiments/pooling.js';
export { compareShiftedLayer, type LayerShiftComparison } from './experiments/equivariance.js';
export { topActivatingPatches, type DepthPatches, type ChannelPatches, type ActivatingPatch, type TopPatchOptions } from './experiments/hierarchy.js';
export { PERMUTATION_SEED, SHUFFLE_MODELS } from './experiments/shuffle.js';
export { DEPTH_MODELS, type DepthRun } from './experiments/depth.js';
