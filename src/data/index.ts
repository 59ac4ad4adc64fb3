/** Browser-safe data layer: IDX parsing, the dataset type, the DataLoader, batch transforms and image preprocessing. */
export * from './idx.js';
export * from './catalog.js';
export * from './dataset.js';
export * from './transforms.js';
export * from './loader.js';
export * from './preprocess.js';
export * from './split.js';
