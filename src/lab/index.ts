/**
 * The lab: experiments that measure the design claims about CNNs on real images (browser-safe core).
 * Node: `runLab` in src/node/labRun.ts, or `convkit lab NAME [--quick] [--seeds N] [--out DIR]`.
 */
export * from './types.js';
export { EXPERIMENTS, findExperiment } from './experiments/index.js';
export { runExperiment, runExperiments, type LabRunSummary } from './runner.js';
export { renderReport } from './report.js';
export { PROTOCOLS, describeBudget, type Protocol, type TrainBudget } from './protocol.js';
export { trainSteps, predict, accuracy, seededSubset, seededModel, inputTransform, type TrainSpec, type TrainOutcome } from './train.js';
export { traceLayers, leafLayers, shiftPlanes, equivarianceError, interiorRange, relativeChange, type LayerOutput, type EquivarianceMeasurement } from './probe.js';
export { poolingModel, type PoolingVariant } from './experiments/pooling.js';
