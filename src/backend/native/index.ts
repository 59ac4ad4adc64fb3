/**
 * The `native` backend: a Node-API addon (native/, C++) that implements every kernel of the Backend contract over
 * the caller's Float32Arrays, in place (no copies, no heap of its own): buffers are plain garbage-collected arrays,
 * so a plain training loop keeps flat memory without dispose() or scopes.
 *
 * - Kernels: GEMM, convolutions and locally connected layers (native/src/isa/{gemm,conv,locally}.cc), the rest in
 *   native/src/isa/{elementwise,pool2d,norm,loss,optim}.cc, with the reference backend's semantics (transcendentals
 *   in f64 rounded once, f64 sums where it sums in f64, NaN and infinity as in PyTorch).
 * - ISA levels: every kernel is compiled for AVX-512, AVX2 + FMA and a baseline (SSE2; NEON on arm64); the addon
 *   runs the best level the CPU has, or CONVKIT_NATIVE_ISA=avx512|avx2|baseline (a level the CPU lacks is an error
 *   naming the missing CPU flags). `setIsa` switches at run time (tests compare the levels).
 * - Threads: the addon's own pool (native/src/pool.cc); CONVKIT_THREADS or one per core by default. Kernels cut
 *   work into tasks from the geometry alone, so 1 and N threads give identical bits.
 * - Loading: Node only, through src/node/native-addon.ts (a dynamic import that bundlers leave out of browser
 *   builds); the addon is a prebuilt binary (native/prebuilds) or the local build of `npm run build:native`.
 */
import { ACTIVATIONS, BINARY_OPS, REDUCE_OPS, UNARY_OPS, type Activation, type Backend, type BinaryOp, type Conv2dGeometry, type ConvEpilogue, type PackedGemmB, type Pool2dGeometry, type ReduceOp, type UnaryOp } from '../backend.js';
import { BackendConfigError, processEnvironment } from '../settings.js';
import type { ConvPass } from '../wasm/conv-algorithm.js';
import { NATIVE_ADDON_VERSION, NATIVE_ISAS, type NativeAddon, type NativeIsa, type NativePlatform } from './addon.js';
import { planBroadcast, planReduce } from '../loop-plans.js';
import { ScopedArrays } from '../scoped-arrays.js';

export { NATIVE_ISAS, type NativeIsa } from './addon.js';

// Op codes: an op's index in backend.ts's UNARY_OPS / BINARY_OPS / REDUCE_OPS (native/src/ops.h numbers them in that order).
const CONV_PASSES: readonly ConvPass[] = ['forward', 'inputGradient', 'weightGradient'];
/** The most dims the addon's binary kernel walks at once (native/src/ops.h kMaxRank). */
const MAX_RANK = 8;

/** An ISA level of this build, and whether this CPU runs it. */
export interface NativeIsaLevel {
  name: NativeIsa;
  supported: boolean;
  /** CPU flags this CPU lacks for the level (empty when supported). */
  missingFlags: string[];
}

/**
 * Most bytes of arrays that ended scopes keep for reuse (scoped-arrays.ts); past it they are left to the garbage
 * collector. A resnet20 training step at batch 128 gives back 673 MiB (measured).
 */
const SCOPE_POOL_BYTES = 1.5 * 2 ** 30;

export interface NativeBackend extends Backend {
  readonly name: 'native';
  conv2dFused(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry, epilogue: ConvEpilogue): Float32Array | null;
  /** Threads kernels use (1 = the calling thread only). */
  readonly threads: number;
  /**
   * Use n threads (1 to 256). Results are identical for every n. `adaptive` (the default count's behaviour): while
   * the calling thread waits for its workers over 30 % of the job time, jobs run on it alone for 1 s, doubling to 16 s.
   */
  setThreads(n: number, options?: { adaptive?: boolean }): Promise<void>;
  /** Whether the thread count adapts to a busy machine (only the default count does). */
  readonly adaptiveThreads: boolean;
  /** Jobs the adaptive pool ran on the calling thread alone so far. */
  readonly soloJobs: number;
  /** The ISA level running now. */
  readonly isa: NativeIsa;
  /** Every level of this build, best first, with whether this CPU runs it. */
  availableIsas(): NativeIsaLevel[];
  /** Run `isa` from now on (null: the CPU's best); throws naming the CPU flags a level needs and this CPU lacks. */
  setIsa(isa: NativeIsa | null): void;
  /** Estimated nanoseconds of work from which kernels use all threads (default 20,000); 0 = always (tests). */
  setParallelThreshold(nanoseconds: number): void;
  /** Bytes of arrays that ended scopes hold for reuse. */
  readonly pooledBytes: number;
  scope<T>(fn: () => T): T;
  beginScope(): void;
  endScope(keep?: readonly Float32Array[]): void;
  keep(array: Float32Array): void;
  /** Tests: fill allocUninitialized() arrays with NaN, so an op reading an element its kernel did not write shows. */
  setPoisonUninitialized(on: boolean): void;
  /** The FMA peak loop on `threads` threads, timed in C++: flops done and seconds taken. For benchmarks. */
  measureFmaPeak(iterations: number, threads: number): { flops: number; seconds: number };
  /** The algorithm the native kernels choose for one pass of a convolution: 'gemm', 'winograd' or 'direct'. */
  convAlgorithmName(g: Conv2dGeometry, pass: ConvPass): string;
}

/** Options for tests: the folder holding the addon (default: the package's native/). */
export interface NativeBackendOptions { addonDirectory?: string }

/**
 * op(B) in the native GEMM's panel layout of one ISA level (its panel width differs between levels). B itself is
 * kept: after setIsa, the next product repacks it for the new level.
 */
class NativePackedGemmB implements PackedGemmB {
  readonly backend = 'native';
  constructor(readonly n: number, readonly k: number, readonly transB: boolean, public isa: NativeIsa, public data: Float32Array,
    readonly source: Float32Array, readonly sourceOffset: number) {}
}

async function loadPlatform(): Promise<NativePlatform> {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (typeof p?.versions?.node !== 'string') throw new Error('native backend: the native backend needs Node (browsers use wasm)');
  // A variable specifier keeps bundlers from pulling Node-only glue into browser builds.
  const glue = '../../node/native-addon.js';
  const mod = (await import(/* @vite-ignore */ glue)) as { nativePlatform: NativePlatform };
  return mod.nativePlatform;
}

function isaFromEnv(): NativeIsa | null {
  const raw = processEnvironment()['CONVKIT_NATIVE_ISA']?.trim().toLowerCase() ?? '';
  if (raw === '') return null;
  const isa = NATIVE_ISAS.find((l) => l === raw);
  if (!isa) throw new BackendConfigError(`CONVKIT_NATIVE_ISA=${raw}: expected ${NATIVE_ISAS.join(', ')} (or unset for the CPU's best)`);
  return isa;
}

/**
 * A native backend object on the (process-wide) addon; `loadNativeBackend()` returns a shared one. Rejects where the
 * addon cannot load (a browser, no build), saying why.
 * @example
 * const native = await createNativeBackend();
 * const out = new Float32Array(3);
 * native.unary('relu', Float32Array.of(-1, 0.5, NaN), out); // [0, 0.5, NaN]
 */
export async function createNativeBackend(options: NativeBackendOptions = {}): Promise<NativeBackend> {
  const platform = await loadPlatform();
  const addon: NativeAddon = platform.loadAddon(options.addonDirectory);
  if (addon.version !== NATIVE_ADDON_VERSION) {
    throw new Error(`native backend: the compiled addon is version ${addon.version}, this JavaScript expects ${NATIVE_ADDON_VERSION} ` +
      '(built from other sources); rebuild it with `npm run build:native`');
  }
  const forced = isaFromEnv();
  let isa: NativeIsa;
  try {
    isa = addon.selectIsa(forced ?? '') as NativeIsa;
  } catch (e) {
    // A level this CPU lacks, asked for by CONVKIT_NATIVE_ISA: the user's setting to fix (auto does not skip past it).
    if (forced) throw new BackendConfigError(`CONVKIT_NATIVE_ISA=${forced}: ${(e as Error).message}`);
    throw e;
  }
  // The default count adapts to a busy machine (pool.cc); CONVKIT_THREADS and setThreads keep the count asked for.
  addon.setThreads(platform.defaultThreads(), !platform.threadsFromUser());
  let poison = false;

  const convGeom = new Int32Array(16), poolGeom = new Int32Array(14);
  const conv = (g: Conv2dGeometry): Int32Array => {
    convGeom[0] = g.n; convGeom[1] = g.cIn; convGeom[2] = g.h; convGeom[3] = g.w; convGeom[4] = g.cOut;
    convGeom[5] = g.kh; convGeom[6] = g.kw; convGeom[7] = g.strideH; convGeom[8] = g.strideW; convGeom[9] = g.padH;
    convGeom[10] = g.padW; convGeom[11] = g.dilationH; convGeom[12] = g.dilationW; convGeom[13] = g.groups;
    convGeom[14] = g.outH; convGeom[15] = g.outW;
    return convGeom;
  };
  const pool = (g: Pool2dGeometry): Int32Array => {
    poolGeom[0] = g.n; poolGeom[1] = g.c; poolGeom[2] = g.h; poolGeom[3] = g.w; poolGeom[4] = g.kh; poolGeom[5] = g.kw;
    poolGeom[6] = g.strideH; poolGeom[7] = g.strideW; poolGeom[8] = g.padH; poolGeom[9] = g.padW;
    poolGeom[10] = g.dilationH ?? 1; poolGeom[11] = g.dilationW ?? 1; poolGeom[12] = g.outH; poolGeom[13] = g.outW;
    return poolGeom;
  };
  const freshUninitialized = (n: number): Float32Array => platform.allocUninitialized(n);
  const freshZeroed = (n: number): Float32Array => new Float32Array(n);
  const scoped = new ScopedArrays(SCOPE_POOL_BYTES);
  const allocUninitialized = (n: number): Float32Array => {
    const out = scoped.alloc(n, false, freshUninitialized);
    if (poison) out.fill(NaN);
    return out;
  };

  /** out = a (op) b over a plan; a plan of more than MAX_RANK dims runs its leading dim in this loop. */
  function binaryPlan(code: number, a: Float32Array, b: Float32Array, out: Float32Array, dims: number[], sa: number[], sb: number[]): void {
    if (dims.length > MAX_RANK) {
      const inner = dims.slice(1).reduce((p, d) => p * d, 1);
      for (let i = 0; i < dims[0]!; i++) {
        binaryPlan(code, a.subarray(i * sa[0]!), b.subarray(i * sb[0]!), out.subarray(i * inner, (i + 1) * inner),
          dims.slice(1), sa.slice(1), sb.slice(1));
      }
      return;
    }
    addon.binary(code, a, b, out, Int32Array.from([dims.length, ...dims, ...sa, ...sb]));
  }

  const backend: NativeBackend = {
    name: 'native',
    get threads() { return addon.threads(); },
    async setThreads(n: number, options: { adaptive?: boolean } = {}) {
      if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`native backend: setThreads expects a whole number from 1 to 256, got ${n}`);
      addon.setThreads(n, options.adaptive === true);
    },
    get adaptiveThreads() { return addon.adaptiveThreads(); },
    get soloJobs() { return addon.soloJobs(); },
    get isa() { return isa; },
    availableIsas: () => addon.isaLevels().map((l) => ({
      name: l.name as NativeIsa, supported: l.missing === '', missingFlags: l.missing === '' ? [] : l.missing.split(', '),
    })),
    setIsa(level: NativeIsa | null) { isa = addon.selectIsa(level ?? '') as NativeIsa; },
    setParallelThreshold(nanoseconds: number) { addon.setParallelWork(nanoseconds); },
    setPoisonUninitialized(on: boolean) { poison = on; },
    measureFmaPeak: (iterations: number, threads: number) => addon.fmaPeak(iterations, threads),
    convAlgorithmName: (g: Conv2dGeometry, pass: ConvPass) => addon.convAlgorithmName(conv(g), CONV_PASSES.indexOf(pass)),

    // Plain arrays: kernels use them in place. Outside a scope the garbage collector owns them; inside one
    // (training steps, evaluation batches) the scope takes them back for the next step's allocations of the same size.
    alloc: (n: number) => scoped.alloc(n, true, freshZeroed),
    allocUninitialized,
    allocState: (n: number) => new Float32Array(n),
    scope: <T>(fn: () => T): T => scoped.scope(fn),
    beginScope: () => scoped.beginScope(),
    endScope: (keep?: readonly Float32Array[]) => scoped.endScope(keep),
    keep: (array: Float32Array) => scoped.keep(array),
    get pooledBytes() { return scoped.pooledBytes; },

    gemm(transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, accumulate) {
      addon.gemm(transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, accumulate);
    },
    packGemmB(transB, n, k, b, bOffset) {
      const data = new Float32Array(addon.gemmPackedBSize(n, k));
      addon.gemmPackB(transB, n, k, b, bOffset, data);
      return new NativePackedGemmB(n, k, transB, isa, data, b, bOffset);
    },
    gemmPacked(m, a, aOffset, packed, c, cOffset, bias, activation) {
      if (!(packed instanceof NativePackedGemmB)) throw new Error(`native backend: gemmPacked takes a matrix packed by the native backend, got one packed by '${packed.backend}'`);
      if (packed.isa !== isa) {
        packed.data = new Float32Array(addon.gemmPackedBSize(packed.n, packed.k));
        addon.gemmPackB(packed.transB, packed.n, packed.k, packed.source, packed.sourceOffset, packed.data);
        packed.isa = isa;
      }
      addon.gemmPacked(m, packed.n, packed.k, a, aOffset, packed.data, c, cOffset, bias, ACTIVATIONS.indexOf(activation));
    },

    // x is (N,C,H,W), w is (O,C/g,KH,KW), bias is (O) or null, out is (N,O,OH,OW)
    conv2d(x, w, bias, g, out) { addon.conv2d(x, w, bias, conv(g), out); },
    conv2dFused(x, w, bias, g, epilogue) {
      const act = ACTIVATIONS.indexOf(epilogue.activation);
      if (!addon.conv2dFusedSupported(conv(g), act, epilogue.maxPool2x2)) return null;
      const out = allocUninitialized(epilogue.maxPool2x2
        ? g.n * g.cOut * Math.floor(g.outH / 2) * Math.floor(g.outW / 2) : g.n * g.cOut * g.outH * g.outW);
      addon.conv2dFused(x, w, bias, conv(g), act, epilogue.maxPool2x2, out, epilogue.argmax ?? null);
      return out;
    },
    conv2dBackwardInput(gy, w, g, gx) { addon.conv2dBackwardInput(gy, w, conv(g), gx); },
    conv2dBackwardWeight(x, gy, g, gw) { addon.conv2dBackwardWeight(x, gy, conv(g), gw); },
    // w is (OH*OW, O, C, KH, KW), bias is (O,OH,OW) or null
    locallyConnected2d(x, w, bias, g, out) { addon.locallyConnected2d(x, w, bias, conv(g), out); },
    locallyConnected2dBackwardInput(gy, w, g, gx) { addon.locallyConnected2dBackwardInput(gy, w, conv(g), gx); },
    locallyConnected2dBackwardWeight(x, gy, g, gw) { addon.locallyConnected2dBackwardWeight(x, gy, conv(g), gw); },

    // x is (N,C,H,W); out and argmax are (N,C,OH,OW)
    maxPool2d(x, g, out, argmax) { addon.maxPool2d(x, pool(g), out, argmax); },
    maxPool2dBackward(gy, argmax, g, gx) { addon.maxPool2dBackward(gy, argmax, pool(g), gx); },
    avgPool2d(x, g, countIncludePad, divisorOverride, out) { addon.avgPool2d(x, pool(g), countIncludePad, divisorOverride, out); },
    avgPool2dBackward(gy, g, countIncludePad, divisorOverride, gx) { addon.avgPool2dBackward(gy, pool(g), countIncludePad, divisorOverride, gx); },

    unary(op, x, out) {
      const code = UNARY_OPS.indexOf(op);
      if (code < 0) throw new Error(`native backend: unknown unary op '${op}'`);
      addon.unary(code, x, out);
    },
    binary(op, a, aShape, b, bShape, out, outShape) {
      const code = BINARY_OPS.indexOf(op);
      if (code < 0) throw new Error(`native backend: unknown binary op '${op}'`);
      if (out.length === 0) return;
      const { dims, sa, sb } = planBroadcast(aShape, bShape, outShape);
      binaryPlan(code, a, b, out, dims, sa, sb);
    },
    reduce(op, x, shape, axes, out) {
      const code = REDUCE_OPS.indexOf(op);
      if (code < 0) throw new Error(`native backend: unknown reduce op '${op}'`);
      if (x.length === 0) { out.fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity); return; }
      const plan = planReduce(shape, axes);
      if (plan) { addon.reduce(code, x, out, ...plan); return; }
      // Kept and reduced axes alternating more than twice: the reference's walk (size-1 axes dropped).
      const kept = shape.map((d, i) => [d, i] as const).filter(([d]) => d !== 1);
      if (kept.length > MAX_RANK) throw new Error(`native backend: reduce over ${kept.length} alternating axes (at most ${MAX_RANK})`);
      const outStrides = new Int32Array(kept.length);
      let s = 1;
      for (let k = kept.length - 1; k >= 0; k--) {
        const [d, i] = kept[k]!;
        outStrides[k] = axes.includes(i) ? 0 : s;
        if (!axes.includes(i)) s *= d;
      }
      addon.reduceStrided(code, x, out, Int32Array.from(kept.map(([d]) => d)), outStrides, kept.length);
    },
    // out is (rows, cols), in place; bias is (cols) or null
    biasActivation(out, bias, rows, cols, activation) { addon.biasActivation(out, bias, rows, cols, ACTIVATIONS.indexOf(activation)); },
    addActivation(a, b, out, activation) { addon.addActivation(a, b, out, ACTIVATIONS.indexOf(activation)); },
    activationBackward(y, gy, gx, activation) { addon.activationBackward(y, gy, gx, ACTIVATIONS.indexOf(activation)); },
    logSoftmax(x, rows, cols, out) { addon.logSoftmax(x, rows, cols, out); },
    softmaxCrossEntropy(x, rows, cols, target, weight, labelSmoothing, loss, lse) {
      addon.softmaxCrossEntropy(x, rows, cols, target, weight, labelSmoothing, loss, lse);
    },
    softmaxCrossEntropyBackward(x, lse, rows, cols, target, weight, labelSmoothing, rowScale, gx) {
      addon.softmaxCrossEntropyBackward(x, lse, rows, cols, target, weight, labelSmoothing, rowScale, gx);
    },

    sgdStep(param, grad, momentumBuffer, firstStep, h) {
      addon.sgdStep(param, grad, h.momentum === 0 ? null : momentumBuffer, h.lr, h.momentum, h.dampening, h.weightDecay,
        h.maximize ? -1 : 1, h.nesterov, firstStep);
    },
    adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq, h) {
      // The scalars in JavaScript, as the reference computes them (the same bits).
      const stepSize = h.lr / (1 - h.beta1 ** h.step), bc2Sqrt = Math.sqrt(1 - h.beta2 ** h.step);
      const l2 = h.decoupled ? 0 : h.weightDecay, shrink = h.decoupled ? 1 - h.lr * h.weightDecay : 1;
      addon.adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq, h.beta1, h.beta2, h.eps, stepSize, bc2Sqrt, l2, shrink, h.maximize ? -1 : 1);
    },

    // x is (N,C,HW)
    channelMoments(x, n, c, hw, mean, variance) { addon.channelMoments(x, n, c, hw, mean, variance); },
    batchNormApply(x, n, c, hw, mean, invStd, weight, bias, out) { addon.batchNormApply(x, n, c, hw, mean, invStd, weight, bias, out); },
    batchNormBackward(x, gy, n, c, hw, mean, invStd, weight, training, gx, gWeight, gBias) {
      addon.batchNormBackward(x, gy, n, c, hw, mean, invStd, weight, training, gx, gWeight, gBias);
    },
  };
  return backend;
}

let shared: Promise<NativeBackend> | null = null;

/**
 * The process-wide native backend (loaded once; later calls return the same object). Rejects, saying why, where
 * the addon cannot load: in a browser, or when it was not built (`npm run build:native`).
 * @example
 * const native = await loadNativeBackend();
 * await native.setThreads(2);
 * console.log(native.isa); // 'avx2' on a CPU without AVX-512
 */
export function loadNativeBackend(): Promise<NativeBackend> {
  shared ??= createNativeBackend().catch((e: unknown) => {
    shared = null;
    throw e;
  });
  return shared;
}

export default loadNativeBackend;
