/** Requests and events of the engine itself: start-up, backend and threads. */
export interface EngineInfo {
  /** What runs the kernels, e.g. 'wasm, 2 threads' or 'reference (wasm unavailable: ...)'. */
  backend: string;
  backendName: 'wasm' | 'reference';
  threads: number;
  /** The page is cross-origin isolated (SharedArrayBuffer, so wasm threads). */
  crossOriginIsolated: boolean;
  /** Why fewer threads than asked run, or null. */
  threadNote: string | null;
  hardwareConcurrency: number;
}

export interface EngineRequests {
  /** Select the backend and thread count (capped at navigator.hardwareConcurrency; 1 when not isolated). */
  'engine.init': { params: { backend: 'wasm' | 'reference'; threads: number }; result: EngineInfo };
  /** Training images/s of a zoo model on the engine's backend (engine/speed.ts; bench/explorer-speed.mjs). */
  'engine.measureSpeed': { params: import('./speed.js').SpeedOptions; result: import('./speed.js').SpeedResult };
  /** Class probabilities of the current model for `count` images (pixels in [0, 1], CHW each, before normalisation). */
  'engine.predict': { params: { pixels: Float32Array; count?: number }; result: { probabilities: Float32Array; classNames: string[] } };
}

export interface EngineEvents {
  /** The worker has loaded (the library chose its default backend) and takes requests. */
  'engine.ready': { backend: string };
  /** A line for the page's status bar. */
  'engine.log': { message: string };
}

/** What the page knows of the engine's current model (the model itself stays in the worker). */
export interface ModelInfo {
  /** Zoo name, e.g. 'lenet5'. */
  name: string;
  classNames: string[];
  /** [C, H, W]. */
  inputShape: [number, number, number];
  normalization: { mean: number[]; std: number[] } | null;
  /** 'trained in the page', 'checkpoint <dir>', ... */
  origin: string;
  parameters: number;
  /** Completed epochs. */
  epochs: number;
  /** Last test accuracy (0..1), or null when never evaluated. */
  testAccuracy: number | null;
  /** Bumps whenever the model's weights change (a step, a load): views re-query when it moves. */
  version: number;
}

/** One input image in the model's input shape, pixels in [0, 1] before normalisation, CHW. */
export interface InputSample {
  pixels: Float32Array;
  shape: [number, number, number];
  /** Where it came from: 'drawing', 'upload shirt.png', 'test image 17'. */
  source: string;
  /** The true class index when known (a test image). */
  label: number | null;
}
