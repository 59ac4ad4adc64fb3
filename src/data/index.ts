/** Browser-safe data layer: IDX parsing, the dataset type, the DataLoader and batch transforms. */
export * from './idx.js';
export * from './catalog.js';
export * from './dataset.js';
export * from './transforms.js';
export * from './loader.js';
