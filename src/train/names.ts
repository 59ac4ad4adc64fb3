/**
 * The names a run's optimizer, schedule and augmentation are chosen by (CLI flags, the explorer's selects).
 * Dependency-free, so a page can list them without loading the library (and its backend).
 */
export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const SCHEDULES = ['none', 'step', 'cosine', 'onecycle'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];
export const AUGMENTATIONS = ['none', 'crop', 'crop-flip'] as const;
export type Augmentation = (typeof AUGMENTATIONS)[number];
