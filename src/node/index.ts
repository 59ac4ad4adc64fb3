/** Node-only entry point (`convkit/node`): datasets from disk or the network, image files, checkpoints. */
export * from './datasets.js';
export * from './dataImages.js';
export * from './atomic.js';
export * from './checkpoint.js';
