/** Every lab experiment, in the order (1-7). */
import type { Experiment } from '../types.js';
import { ledgerExperiment } from './ledger.js';
import { equivarianceExperiment } from './equivariance.js';
import { ablationExperiment } from './ablation.js';
import { shuffleExperiment } from './shuffle.js';
import { poolingExperiment } from './pooling.js';
import { hierarchyExperiment } from './hierarchy.js';
import { depthExperiment, depthAdamExperiment } from './depth.js';

export const EXPERIMENTS: readonly Experiment[] = [
  ledgerExperiment, equivarianceExperiment, ablationExperiment, shuffleExperiment, poolingExperiment, hierarchyExperiment, depthExperiment, depthAdamExperiment,
];

export function findExperiment(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name.toLowerCase());
}

export { ledgerExperiment, equivarianceExperiment, ablationExperiment, shuffleExperiment, poolingExperiment, hierarchyExperiment, depthExperiment, depthAdamExperiment };
