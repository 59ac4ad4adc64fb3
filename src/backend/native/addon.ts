/**
 * The shape of the compiled addon (native/src/addon.cc) as the TypeScript side sees it, and what the Node glue
 * (src/node/native-addon.ts) provides. Types only: browser-safe.
 */

/** Bumped with native/src/addon.cc's kAddonVersion whenever an export changes; a different build is refused. */
export const NATIVE_ADDON_VERSION = 5;

/** Instruction-set levels, best first (native/src/dispatch.cc). */
export const NATIVE_ISAS = ['avx512', 'avx2', 'baseline'] as const;
export type NativeIsa = (typeof NATIVE_ISAS)[number];

type F32 = Float32Array;
type OptF32 = Float32Array | null;

/** The addon's exports: every kernel takes typed arrays in place and geometry as numbers or an Int32Array. */
export interface NativeAddon {
  readonly version: number;
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: F32, aOffset: number, b: F32, bOffset: number,
    c: F32, cOffset: number, accumulate: boolean): void;
  /** Floats of the array gemmPackB fills for a k x n op(B) at the selected ISA level (its panel width, and up to 15 floats to start the panels on a 64-byte boundary). */
  gemmPackedBSize(n: number, k: number): number;
  gemmPackB(transB: boolean, n: number, k: number, b: F32, bOffset: number, packed: F32): void;
  gemmPacked(m: number, n: number, k: number, a: F32, aOffset: number, packed: F32, c: F32, cOffset: number, bias: OptF32,
    activation: number): void;
  // conv geometry: Int32Array [n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, outH, outW]
  conv2d(x: F32, w: F32, bias: OptF32, geometry: Int32Array, out: F32): void;
  conv2dFusedSupported(geometry: Int32Array, activation: number, maxPool2x2: boolean): boolean;
  conv2dFused(x: F32, w: F32, bias: OptF32, geometry: Int32Array, activation: number, maxPool2x2: boolean, out: F32, argmax: Int32Array | null): void;
  conv2dBackwardInput(gy: F32, w: F32, geometry: Int32Array, gx: F32): void;
  conv2dBackwardWeight(x: F32, gy: F32, geometry: Int32Array, gw: F32): void;
  locallyConnected2d(x: F32, w: F32, bias: OptF32, geometry: Int32Array, out: F32): void;
  locallyConnected2dBackwardInput(gy: F32, w: F32, geometry: Int32Array, gx: F32): void;
  locallyConnected2dBackwardWeight(x: F32, gy: F32, geometry: Int32Array, gw: F32): void;
  // pool geometry: Int32Array [n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW]
  maxPool2d(x: F32, geometry: Int32Array, out: F32, argmax: Int32Array | null): void;
  maxPool2dBackward(gy: F32, argmax: Int32Array, geometry: Int32Array, gx: F32): void;
  avgPool2d(x: F32, geometry: Int32Array, countIncludePad: boolean, divisorOverride: number, out: F32): void;
  avgPool2dBackward(gy: F32, geometry: Int32Array, countIncludePad: boolean, divisorOverride: number, gx: F32): void;
  unary(op: number, x: F32, out: F32): void;
  /** plan: [rank, dims..., strides of a..., strides of b...] */
  binary(op: number, a: F32, b: F32, out: F32, plan: Int32Array): void;
  reduce(op: number, x: F32, out: F32, k1: number, r1: number, k2: number, r2: number): void;
  reduceStrided(op: number, x: F32, out: F32, shape: Int32Array, outStrides: Int32Array, rank: number): void;
  biasActivation(out: F32, bias: OptF32, rows: number, cols: number, activation: number): void;
  addActivation(a: F32, b: F32, out: F32, activation: number): void;
  activationBackward(y: F32, gy: F32, gx: F32, activation: number): void;
  logSoftmax(x: F32, rows: number, cols: number, out: F32): void;
  softmaxCrossEntropy(x: F32, rows: number, cols: number, target: Int32Array, weight: OptF32, labelSmoothing: number,
    loss: F32, lse: F32): void;
  softmaxCrossEntropyBackward(x: F32, lse: F32, rows: number, cols: number, target: Int32Array, weight: OptF32,
    labelSmoothing: number, rowScale: F32, gx: F32): void;
  sgdStep(param: F32, grad: F32, momentumBuffer: OptF32, lr: number, momentum: number, dampening: number,
    weightDecay: number, sign: number, nesterov: boolean, firstStep: boolean): void;
  adamStep(param: F32, grad: F32, expAvg: F32, expAvgSq: F32, maxExpAvgSq: OptF32, beta1: number, beta2: number,
    eps: number, stepSize: number, bc2Sqrt: number, l2: number, shrink: number, sign: number): void;
  channelMoments(x: F32, n: number, c: number, hw: number, mean: F32, variance: F32): void;
  batchNormApply(x: F32, n: number, c: number, hw: number, mean: F32, invStd: F32, weight: OptF32, bias: OptF32, out: F32): void;
  batchNormBackward(x: F32, gy: F32, n: number, c: number, hw: number, mean: F32, invStd: F32, weight: OptF32,
    training: boolean, gx: F32, gWeight: F32, gBias: F32): void;
  /** adaptive: the default count, run on the calling thread alone while workers lose to other work (pool.cc). */
  setThreads(n: number, adaptive: boolean): void;
  threads(): number;
  adaptiveThreads(): boolean;
  /** Jobs the adaptive pool ran on the calling thread alone so far. */
  soloJobs(): number;
  /** Estimated nanoseconds of work from which kernels use the pool (0: always). */
  setParallelWork(nanoseconds: number): void;
  /** Every level of this build, best first; `missing` names the CPU flags this CPU lacks for it ('' = it runs). */
  isaLevels(): { name: string; missing: string }[];
  /** Select a level ('' = the CPU's best); throws naming the missing CPU flags. Returns the level now running. */
  selectIsa(isa: string): string;
  fmaPeak(iterations: number, threads: number): { flops: number; seconds: number };
  convAlgorithmName(geometry: Int32Array, pass: number): string;
}

/** What Node provides to the native backend (src/node/native-addon.ts). */
export interface NativePlatform {
  /**
   * The addon from `directory` (default: the package's native/ folder): a prebuilt binary for this platform first,
   * then the local build. Throws naming the files looked for and how to build them.
   */
  loadAddon(directory?: string): NativeAddon;
  /** CONVKIT_THREADS when set, else the number of cores. */
  defaultThreads(): number;
  /** Whether defaultThreads() is a count the user set (CONVKIT_THREADS), which the adaptive pool must keep. */
  threadsFromUser(): boolean;
  /** A zero-copy-friendly buffer whose contents are unspecified (Buffer.allocUnsafeSlow). */
  allocUninitialized(n: number): Float32Array;
}
