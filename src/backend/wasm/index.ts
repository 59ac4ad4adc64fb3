/**
 * The `wasm` backend's kernel table: AssemblyScript kernels (asm/, f32x4 SIMD) on one shared WebAssembly.Memory,
 * run by a pool of threads; anything not ported is the reference backend's function (the object spreads it).
 * How memory, threads, determinism and the convolution algorithms work, and the measurements behind the rules:
 * README.md in this folder.
 */
import { ACTIVATIONS, BINARY_OPS, REDUCE_OPS, UNARY_OPS, type Activation, type Backend, type Conv2dGeometry, type Pool2dGeometry, type UnaryOp } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import {
  backwardInputAsForward, CONV_ALGORITHMS, convAlgorithm, directConvAlgorithms, winogradEligible,
  type ConvAlgorithm, type ConvPass, type DirectConvAlgorithms,
} from './conv-algorithm.js';
import { createSharedMemory, WasmHeap } from './heap.js';
import { checkKernelsInstance, checkKernelsModule, type RequiredKernelExports } from './kernels-check.js';
import { planReduce } from '../loop-plans.js';
import { runScope } from '../scoped-arrays.js';
import { broadcastPlan4, Marshal } from './marshal.js';
import { loadPlatform } from './platform.js';
import { CONTROL_BYTES, GEOM_BYTE, ThreadPool } from './threads.js';

const KERNELS = [
  'gemm', 'conv2dForward', 'conv2dBackwardInput', 'conv2dBackwardWeight',
  'winogradFilter', 'winogradConv', 'winogradWeightGrad', 'winogradWeightGradFinish', 'winograd4Filter', 'winograd4Conv',
  'directConv2dForward', 'directConv2dBackwardWeight', 'directWeightGradFinish', 'directConv2dBackwardInput',
  'locallyConnected2dForward', 'locallyConnected2dBackwardInput', 'locallyConnected2dBackwardWeight',
  'maxPool2d', 'maxPool2dBackward', 'avgPool2d', 'avgPool2dBackward',
  'unary', 'binary', 'reduce', 'logSoftmax', 'biasActivation', 'activationBackward', 'channelMoments', 'batchNormApply', 'batchNormBackward', 'simdPeak',
  'sgdStep', 'adamStep', 'softmaxCrossEntropy', 'softmaxCrossEntropyBackward',
] as const;
type KernelName = (typeof KERNELS)[number];
/** Every export of kernels.wasm this file uses (checked at load by checkKernelsInstance). */
export const REQUIRED_EXPORTS: RequiredKernelExports = {
  functions: [...KERNELS, 'fillZero', 'anyNonFinite', 'winogradScratchFloats', 'winogradWeightGradScratchFloats', 'winogradWeightGradGroups', 'winogradWeightGradTiles',
    'directForwardScratch', 'directWeightGradScratch', 'directInputGradScratch', 'directWeightGradImageGroups', 'winograd4FilterPlane'],
  globals: ['HEAP_BASE', 'GEMM_SCRATCH'],
};

/**
 * Kernels whose estimated single-thread time (in nanoseconds, see the estimates at each call) is below this run
 * on the calling thread only: waking the workers and waiting for them costs some microseconds.
 */
const DEFAULT_PARALLEL_WORK = 20_000;
/** Shares per thread for kernels whose shares are independent (images, planes, rows): see sharesFor. */
const SHARES_PER_THREAD = 4;
/** Rough single-thread costs in nanoseconds, for the split decision only (results never depend on it). */
const NS_PER_MAC = 1 / 25, NS_PER_STREAMED_FLOAT = 0.3, NS_PER_SCALAR_F64 = 3;
const TRANSCENDENTAL: ReadonlySet<UnaryOp> = new Set(['exp', 'log', 'sigmoid', 'tanh', 'gelu']);
/**
 * Nanoseconds per element of a fused bias + activation pass: one streamed float like `unary` (the bias row stays
 * in cache), or scalar f64 for sigmoid and tanh. The backward streams two inputs, like `binary`.
 */
const activationCost = (a: Activation): number => (a === 'sigmoid' || a === 'tanh' ? NS_PER_SCALAR_F64 * 4 : NS_PER_STREAMED_FLOAT);

/** Backend's optional members that the wasm backend always has. */
type PresentOnWasm = 'allocUninitialized' | 'conv2dFused' | 'threads' | 'setThreads' | 'scope' | 'beginScope' | 'endScope' | 'keep' | 'release';
/**
 * The wasm backend: every optional member of Backend is present (threads, the memory scope; conv2dFused fuses ReLU
 * and 2x2 max pooling into the direct forward kernel's epilogue and returns null elsewhere), plus the controls below.
 */
export interface WasmBackend extends Omit<Backend, PresentOnWasm>, Required<Pick<Backend, PresentOnWasm>> {
  /**
   * Kernels the default (adaptive) pool ran on the calling thread alone because its workers were losing to other
   * work on the machine, and whether it shares kernels with its workers right now.
   */
  readonly adaptiveThreads: { adaptive: boolean; soloKernels: number; sharing: boolean };
  /** True when `array` lives in the wasm memory (kernels use it without copying). */
  owns(array: Float32Array): boolean;
  /** Bytes of the wasm memory, and of the blocks currently handed out. */
  memoryBytes(): number;
  liveBytes(): number;
  /**
   * Debugging aid: fill freed blocks and uninitialised allocations with NaN, so a use after free (e.g. a forgotten
   * keep()) or an op reading an output element its kernel did not write shows in results.
   */
  setPoisonFreed(on: boolean): void;
  /**
   * Never grow the wasm memory past `bytes` (null: up to its maximum). Allocations that would need more throw, except
   * allocState(), which then returns a GC-owned array. Memory already grown is kept (a wasm memory cannot shrink).
   */
  setMemoryLimit(bytes: number | null): void;
  /** Bytes of live allocState() blocks (parameters and optimizer state in the heap). */
  persistentBytes(): number;
  /**
   * Most bytes allocState() keeps in the heap at once (null: the default, a quarter of the memory's maximum, 1 GiB
   * on wasm32's 4 GiB); past it, allocState() returns GC-owned arrays, which kernels copy in and out.
   */
  setPersistentBudget(bytes: number | null): void;
  /** Estimated nanoseconds from which kernels use all threads (default 20,000); 0 = always (tests use it). */
  setParallelThreshold(work: number): void;
  /**
   * Benchmarks and tests: force the convolution algorithm ('winograd' = F(2x2,3x3) and 'winograd4x4' = F(4x4,3x3),
   * both with the F(3x3,2x2) weight gradient, apply only where winogradEligible; the GEMM path everywhere else,
   * direct kernels included), or null for the automatic choice (convAlgorithm, then directConvAlgorithms).
   * Results differ by rounding only.
   */
  setConvAlgorithm(algorithm: ConvAlgorithm | null): void;
  /** Run the SIMD mul+add peak loop (56 flops per iteration) on nt threads; returns seconds. For benchmarks. */
  measureSimdPeak(iterations: number, nt: number): number;
}

async function createWasmBackend(threads?: number): Promise<WasmBackend> {
  const platform = await loadPlatform();
  const bytes = await platform.loadKernels();
  const module = await WebAssembly.compile(bytes);
  checkKernelsModule(module);
  const { memory, maximumBytes } = createSharedMemory();
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  // Before any layout is derived from the module: a kernels.wasm from other asm/ sources is refused here.
  checkKernelsInstance(instance.exports, REQUIRED_EXPORTS);
  const exports = instance.exports as Record<string, unknown>;
  const fns = KERNELS.map((name) => exports[name] as (...args: number[]) => unknown);
  const heapBase = (exports.HEAP_BASE as WebAssembly.Global).value as number;
  const gemmScratchFloats = (exports.GEMM_SCRATCH as WebAssembly.Global).value as number;
  const control = Math.ceil(heapBase / 64) * 64;
  // A quarter of the memory for persistent blocks (parameters, optimizer state): 1 GiB at wasm32's 4 GiB.
  const heap = new WasmHeap(memory, control + CONTROL_BYTES, maximumBytes / 4);
  heap.collectGarbage = platform.collectGarbage;
  const fillZero = exports.fillZero as (ptr: number, bytes: number) => void;
  heap.zeroBytes = (offset, bytes) => fillZero(offset, bytes);
  const pool = new ThreadPool(module, memory, [...KERNELS], fns, control, platform.spawnWorker, platform.mainThreadMayWait);
  const geom = new Int32Array(memory.buffer, control + GEOM_BYTE, 16);
  const geomPtr = control + GEOM_BYTE;
  const kernelIndex = new Map<KernelName, number>(KERNELS.map((k, i) => [k, i]));

  let scratchPtr = -1, scratchBytes = 0;
  /** Scratch of `bytesPerThread` for every thread: [thread 0's address, stride between threads]. */
  function scratch(bytesPerThread: number): [number, number] {
    const stride = Math.ceil(bytesPerThread / 64) * 64;
    const need = stride * pool.threads;
    if (need > scratchBytes) {
      if (scratchPtr >= 0) heap.freeBlock(scratchPtr);
      scratchPtr = heap.allocBlock(need);
      scratchBytes = need;
    }
    return [scratchPtr, stride];
  }
  let parallelWork = DEFAULT_PARALLEL_WORK;
  /**
   * Shares to cut a kernel into: 1 below the threshold, else SHARES_PER_THREAD per thread (threads take shares
   * as they come free, so a late or busy thread costs little).
   */
  const sharesFor = (ns: number, perThread = SHARES_PER_THREAD): number => (ns >= parallelWork ? pool.threads * perThread : 1);
  const run = (name: KernelName, args: number[], shares: number, scratchArg = -1, scratchStride = 0): void =>
    pool.run(kernelIndex.get(name)!, args, shares, scratchArg, scratchStride);
  const withArgs = <T>(body: (m: Marshal) => T): T => {
    const m = new Marshal(heap);
    try {
      return body(m);
    } finally {
      m.finish();
    }
  };
  function writeConvGeometry(g: Conv2dGeometry): void {
    geom.set([g.n, g.cIn, g.h, g.w, g.cOut, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW,
      g.dilationH, g.dilationW, g.groups, g.outH, g.outW]);
  }
  function writePoolGeometry(g: Pool2dGeometry): void {
    geom.set([g.n, g.c, g.h, g.w, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW, g.dilationH ?? 1, g.dilationW ?? 1, g.outH, g.outW]);
  }
  const convWork = (g: Conv2dGeometry) => g.n * g.cOut * g.outH * g.outW * (g.cIn / g.groups) * g.kh * g.kw;
  // Forward and input gradient need a col buffer; the weight gradient needs one too, plus an f32 partial and an
  // f64 sum of its (O/g, C/g*KH*KW) block.
  const weightGradScratch = (g: Conv2dGeometry) =>
    (gemmScratchFloats + (3 * (g.cOut / g.groups) + g.outH * g.outW) * (g.cIn / g.groups) * g.kh * g.kw) * 4 + 64;
  const colScratch = (g: Conv2dGeometry) => (gemmScratchFloats + (g.cIn / g.groups) * g.kh * g.kw * g.outH * g.outW) * 4;
  const lcScratch = (g: Conv2dGeometry) => (gemmScratchFloats + g.n * g.cIn * g.kh * g.kw + g.n * g.cOut) * 4;

  const winogradScratchFloats = exports.winogradScratchFloats as (cIn: number, cOut: number, outW: number) => number;
  const anyNonFinite = exports.anyNonFinite as (x: number, len: number) => number;
  const winograd4ScratchFloats = exports.winograd4ScratchFloats as (cIn: number, cOut: number, outW: number) => number;
  const winogradFilterPlane = exports.winogradFilterPlane as (cIn: number, cOut: number) => number;
  const winograd4FilterPlane = exports.winograd4FilterPlane as (cIn: number, cOut: number) => number;
  let forcedConvAlgorithm: ConvAlgorithm | null = null;
  /** The algorithm of one pass: a forced one applies where it can (F(4x4,3x3) has no weight gradient: F(3x3,2x2)). */
  const algorithmOf = (g: Conv2dGeometry, pass: ConvPass): ConvAlgorithm => {
    if (forcedConvAlgorithm === null) return convAlgorithm(g, pass);
    if (forcedConvAlgorithm === 'gemm' || !winogradEligible(g)) return 'gemm';
    return forcedConvAlgorithm === 'winograd4x4' && pass === 'weightGradient' ? 'winograd' : forcedConvAlgorithm;
  };
  /** Direct kernels where their rule says so and Winograd did not take the pass (never when an algorithm is forced). */
  const useDirect = (g: Conv2dGeometry, pass: keyof DirectConvAlgorithms): boolean =>
    forcedConvAlgorithm === null && directConvAlgorithms(g)[pass] === 'direct';
  /**
   * Winograd F(4x4,3x3) or F(2x2,3x3): transform the filters into a temporary block (rows split over threads), then the tiles
   * of all images (split over threads by tile ranges). The input gradient is the forward convolution of gy with
   * the filters rotated and transposed (backward) and padding 2 - pad.
   */
  function winogradCall(x: number, w: number, bias: number, g: Conv2dGeometry, out: number, backward: boolean,
    algorithm: 'winograd' | 'winograd4x4'): void {
    const large = algorithm === 'winograd4x4', positions = large ? 36 : 16;
    const u = heap.allocBlock(positions * (large ? winograd4FilterPlane : winogradFilterPlane)(g.cIn, g.cOut) * 4);
    try {
      run(large ? 'winograd4Filter' : 'winogradFilter', [w, u, g.cOut, g.cIn, backward ? 1 : 0],
        sharesFor(g.cIn * g.cOut * positions * NS_PER_SCALAR_F64, 1));
      const fg = backward ? backwardInputAsForward(g) : g;
      writeConvGeometry(fg);
      const [s, stride] = scratch((large ? winograd4ScratchFloats : winogradScratchFloats)(fg.cIn, fg.cOut, fg.outW) * 4);
      // Multiplies per output and input channel: F(2x2,3x3) 4, F(4x4,3x3) 2.25, where the GEMM path does 9.
      run(large ? 'winograd4Conv' : 'winogradConv', [x, u, bias, geomPtr, out, s],
        sharesFor(convWork(g) * NS_PER_MAC * (large ? 0.35 : 0.5)), 5, stride);
    } finally {
      heap.freeBlock(u);
    }
  }

  const winogradWeightGradScratchFloats = exports.winogradWeightGradScratchFloats as (cIn: number, cOut: number, outW: number) => number;
  const winogradWeightGradGroups = exports.winogradWeightGradGroups as (total: number) => number;
  const winogradWeightGradTiles = exports.winogradWeightGradTiles as (n: number, outH: number, outW: number) => number;
  /**
   * Weight gradient by Winograd F(3x3,2x2): shares split the tiles into a fixed number of groups, each summed into
   * its own f64 accumulator (16 x O x C), then the groups are added in order and transformed back, split over the
   * output channels.
   */
  function winogradWeightGradCall(x: number, gy: number, g: Conv2dGeometry, gw: number): void {
    writeConvGeometry(g);
    const [s, stride] = scratch(winogradWeightGradScratchFloats(g.cIn, g.cOut, g.outW) * 4);
    const groups = winogradWeightGradGroups(winogradWeightGradTiles(g.n, g.outH, g.outW));
    const acc = heap.allocBlock(groups * 16 * g.cOut * g.cIn * 8);
    try {
      run('winogradWeightGrad', [x, gy, geomPtr, acc, groups, s], groups, 5, stride);
      run('winogradWeightGradFinish', [acc, groups, g.cOut, g.cIn, gw], sharesFor(g.cOut * g.cIn * 16 * (groups + 2) * NS_PER_SCALAR_F64 / 4, 1));
    } finally {
      heap.freeBlock(acc);
    }
  }
  // Scratch sizes of the direct kernels come from the module itself (functions of the geometry in the control block).
  const directScratch = (name: 'directForwardScratch' | 'directWeightGradScratch' | 'directInputGradScratch') => {
    const fn = exports[name] as (geom: number, epilogue?: number) => number;
    return (g: Conv2dGeometry, epilogue = 0): number => {
      writeConvGeometry(g);
      return fn(geomPtr, epilogue);
    };
  };
  const directForwardScratch = directScratch('directForwardScratch');
  const directWeightGradScratch = directScratch('directWeightGradScratch');
  const directInputGradScratch = directScratch('directInputGradScratch');

  const directWeightGradImageGroups = exports.directWeightGradImageGroups as (n: number) => number;
  /**
   * asm/direct.ts's weight gradient: work items (image group, group, channel and tap chunks) sum into one f64
   * accumulator block per image group, which directWeightGradFinish adds in order (split over the cells).
   */
  function directWeightGradCall(x: number, gy: number, g: Conv2dGeometry, gw: number): void {
    const [s, stride] = scratch(directWeightGradScratch(g));
    const imageGroups = directWeightGradImageGroups(g.n), cells = g.cOut * (g.cIn / g.groups) * g.kh * g.kw;
    const acc = heap.allocBlock(imageGroups * cells * 32);
    try {
      writeConvGeometry(g);
      run('directConv2dBackwardWeight', [x, gy, geomPtr, acc, imageGroups, s], sharesFor(convWork(g) * NS_PER_MAC, 2), 5, stride);
      run('directWeightGradFinish', [acc, imageGroups, cells, gw], sharesFor(cells * imageGroups * 4, 1));
    } finally {
      heap.freeBlock(acc);
    }
  }

  /** asm/direct.ts's forward convolution with `epilogue` (bit 0: ReLU, bit 1: 2x2 max pooling; out sized for it). */
  function directForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry, epilogue: number, out: Float32Array): void {
    withArgs((M) => {
      const [s, stride] = scratch(directForwardScratch(g, epilogue));
      writeConvGeometry(g);
      run('directConv2dForward', [M.in(x), M.in(w), bias ? M.in(bias) : 0, geomPtr, epilogue, M.out(out), s],
        sharesFor(convWork(g) * NS_PER_MAC), 6, stride);
    });
  }

  function convCall(name: KernelName, g: Conv2dGeometry, bytesPerThread: number, addresses: number[], sharesPerThread = SHARES_PER_THREAD): void {
    writeConvGeometry(g);
    const [s, stride] = scratch(bytesPerThread);
    const args = [...addresses.slice(0, -1), geomPtr, addresses[addresses.length - 1]!, s];
    run(name, args, sharesFor(convWork(g) * NS_PER_MAC, sharesPerThread), args.length - 1, stride);
  }

  const backend: WasmBackend = {
    ...referenceBackend,
    name: 'wasm',
    get threads() { return pool.threads; },
    setThreads: (n: number) => pool.setThreads(n),
    get adaptiveThreads() { return { adaptive: pool.adaptive, soloKernels: pool.soloKernels, sharing: pool.sharing }; },
    // Inside a scope, blocks of the wasm heap (kernels use them in place; the scope frees them). Outside any scope,
    // plain Float32Arrays that the garbage collector owns: kernels copy them in and out, a little slower, but a
    // user's ordinary synchronous loop (which never lets finalizers run) keeps flat memory with no dispose().
    alloc: (n: number) => (heap.scopeDepth > 0 ? heap.alloc(n) : new Float32Array(n)),
    allocUninitialized: (n: number) => (heap.scopeDepth > 0 ? heap.allocUninitialized(n) : new Float32Array(n)),

    scope: <T>(fn: () => T): T => runScope(heap, fn),
    beginScope: () => heap.beginScope(),
    endScope: (keep?: readonly Float32Array[]) => heap.endScope(keep),
    keep: (array: Float32Array) => heap.keep(array),
    release: (array: Float32Array) => heap.release(array),
    owns: (array: Float32Array) => heap.owns(array),
    memoryBytes: () => heap.memoryBytes,
    liveBytes: () => heap.liveBytes,
    setParallelThreshold(work: number) { parallelWork = work; },
    setConvAlgorithm(algorithm: ConvAlgorithm | null) {
      if (algorithm !== null && !CONV_ALGORITHMS.includes(algorithm)) {
        throw new Error(`wasm backend: setConvAlgorithm expects one of ${CONV_ALGORITHMS.map((a) => `'${a}'`).join(', ')} or null, got ${JSON.stringify(algorithm)}`);
      }
      forcedConvAlgorithm = algorithm;
    },
    setPoisonFreed(on: boolean) { heap.poisonFreed = on; },
    setMemoryLimit(bytes: number | null) { heap.growLimitBytes = bytes ?? Infinity; },
    persistentBytes: () => heap.persistentBytes,
    setPersistentBudget(bytes: number | null) { heap.persistentBudgetBytes = bytes ?? maximumBytes / 4; },
    measureSimdPeak(iterations: number, nt: number): number {
      const t0 = performance.now();
      run('simdPeak', [iterations, 1, 0], nt);
      return (performance.now() - t0) / 1000;
    },

    gemm(transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, accumulate) {
      if (m <= 0 || n <= 0) return;
      withArgs((M) => {
        const pa = M.in(a, aOffset, m * k), pb = M.in(b, bOffset, k * n), pc = M.out(c, cOffset, m * n, accumulate);
        const [s, stride] = scratch(gemmScratchFloats * 4);
        const args = [transA ? 1 : 0, transB ? 1 : 0, m, n, k, pa, transA ? m : k, pb, transB ? k : n, pc, n, accumulate ? 1 : 0, s];
        // One share per thread: every share packs its own copy of B, so finer shares would repeat that work.
        run('gemm', args, sharesFor(m * n * k * NS_PER_MAC, 1), args.length - 1, stride);
      });
    },

    // x is (N,C,H,W), w is (O,C/g,KH,KW), bias is (O) or null, out is (N,O,OH,OW)
    conv2d(x, w, bias, g, out) {
      const algorithm = algorithmOf(g, 'forward');
      // Winograd's transforms spread a NaN or an infinity over whole tiles (inf - inf = NaN): an output holding
      // one is recomputed below, so non-finite values land exactly where PyTorch puts them (one pass to check).
      if (algorithm !== 'gemm' && withArgs((M) => {
        const o = M.out(out);
        winogradCall(M.in(x), M.in(w), bias ? M.in(bias) : 0, g, o, false, algorithm);
        return anyNonFinite(o, out.length) === 0;
      })) return;
      if (useDirect(g, 'forward')) return directForward(x, w, bias, g, 0, out);
      withArgs((M) => convCall('conv2dForward', g, colScratch(g), [M.in(x), M.in(w), bias ? M.in(bias) : 0, M.out(out)]));
    },
    // The direct kernel's epilogue: ReLU at the store, and 2x2 max pooling of 4 channels at a time from scratch.
    conv2dFused(x, w, bias, g, epilogue) {
      // (its pooling epilogue keeps no winner indices: training runs conv2d, then maxPool2d)
      if (epilogue.argmax || (epilogue.activation !== 'none' && epilogue.activation !== 'relu')) return null;
      if (epilogue.maxPool2x2 && (g.outH < 2 || g.outW < 2)) return null;
      if (algorithmOf(g, 'forward') !== 'gemm' || !useDirect(g, 'forward')) return null;
      const out = backend.allocUninitialized!(epilogue.maxPool2x2 ? g.n * g.cOut * (g.outH >> 1) * (g.outW >> 1) : g.n * g.cOut * g.outH * g.outW);
      directForward(x, w, bias, g, (epilogue.activation === 'relu' ? 1 : 0) | (epilogue.maxPool2x2 ? 2 : 0), out);
      return out;
    },
    // gy is (N,O,OH,OW), w is (O,C/g,KH,KW), gx is (N,C,H,W)
    conv2dBackwardInput(gy, w, g, gx) {
      const algorithm = algorithmOf(g, 'inputGradient');
      if (algorithm !== 'gemm' && withArgs((M) => {
        const o = M.out(gx);
        winogradCall(M.in(gy), M.in(w), 0, g, o, true, algorithm);
        return anyNonFinite(o, gx.length) === 0;
      })) return;
      const direct = useDirect(g, 'backwardInput');
      withArgs((M) => convCall(direct ? 'directConv2dBackwardInput' : 'conv2dBackwardInput', g,
        direct ? directInputGradScratch(g) : colScratch(g), [M.in(gy), M.in(w), M.out(gx)]));
    },
    // x is (N,C,H,W), gy is (N,O,OH,OW), gw is (O,C/g,KH,KW)
    conv2dBackwardWeight(x, gy, g, gw) {
      if (algorithmOf(g, 'weightGradient') !== 'gemm' && withArgs((M) => {
        const o = M.out(gw);
        winogradWeightGradCall(M.in(x), M.in(gy), g, o);
        return anyNonFinite(o, gw.length) === 0;
      })) return;
      if (useDirect(g, 'backwardWeight')) return withArgs((M) => directWeightGradCall(M.in(x), M.in(gy), g, M.out(gw)));
      // 2 shares per thread, not 4: each share packs the output gradient of every image again.
      withArgs((M) => convCall('conv2dBackwardWeight', g, weightGradScratch(g), [M.in(x), M.in(gy), M.out(gw)], 2));
    },
    // x is (N,C,H,W), w is (OH*OW,O,C,KH,KW), bias is (O,OH,OW) or null, out is (N,O,OH,OW)
    locallyConnected2d(x, w, bias, g, out) {
      withArgs((M) => convCall('locallyConnected2dForward', g, lcScratch(g), [M.in(x), M.in(w), bias ? M.in(bias) : 0, M.out(out)]));
    },
    locallyConnected2dBackwardInput(gy, w, g, gx) {
      withArgs((M) => convCall('locallyConnected2dBackwardInput', g, lcScratch(g), [M.in(gy), M.in(w), M.out(gx)]));
    },
    locallyConnected2dBackwardWeight(x, gy, g, gw) {
      withArgs((M) => convCall('locallyConnected2dBackwardWeight', g, lcScratch(g), [M.in(x), M.in(gy), M.out(gw)]));
    },

    // x is (N,C,H,W); out and argmax are (N,C,OH,OW)
    maxPool2d(x, g, out, argmax) {
      withArgs((M) => {
        writePoolGeometry(g);
        run('maxPool2d', [M.in(x), geomPtr, M.out(out), argmax ? M.out(argmax) : 0], sharesFor(g.n * g.c * g.outH * g.outW * g.kh * g.kw * NS_PER_STREAMED_FLOAT * 2));
      });
    },
    maxPool2dBackward(gy, argmax, g, gx) {
      withArgs((M) => {
        writePoolGeometry(g);
        run('maxPool2dBackward', [M.in(gy), M.in(argmax), geomPtr, M.out(gx)], sharesFor(g.n * g.c * g.h * g.w * NS_PER_STREAMED_FLOAT * 2));
      });
    },
    avgPool2d(x, g, countIncludePad, divisorOverride, out) {
      withArgs((M) => {
        writePoolGeometry(g);
        run('avgPool2d', [M.in(x), geomPtr, countIncludePad ? 1 : 0, divisorOverride, M.out(out)],
          sharesFor(g.n * g.c * g.outH * g.outW * g.kh * g.kw * NS_PER_STREAMED_FLOAT * 2));
      });
    },
    avgPool2dBackward(gy, g, countIncludePad, divisorOverride, gx) {
      withArgs((M) => {
        writePoolGeometry(g);
        run('avgPool2dBackward', [M.in(gy), geomPtr, countIncludePad ? 1 : 0, divisorOverride, M.out(gx)],
          sharesFor(g.n * g.c * g.outH * g.outW * g.kh * g.kw * NS_PER_STREAMED_FLOAT * 2));
      });
    },

    // Op codes are the index in backend.ts's lists (asm/elementwise.ts numbers its cases the same way).
    unary(op, x, out) {
      withArgs((M) => run('unary', [UNARY_OPS.indexOf(op), M.in(x), M.out(out), x.length],
        sharesFor(x.length * (TRANSCENDENTAL.has(op) ? NS_PER_SCALAR_F64 * 4 : NS_PER_STREAMED_FLOAT))));
    },
    binary(op, a, aShape, b, bShape, out, outShape) {
      const plan = broadcastPlan4(aShape, bShape, outShape);
      if (!plan || out.length === 0) return referenceBackend.binary(op, a, aShape, b, bShape, out, outShape);
      const { dims, sa, sb } = plan;
      withArgs((M) => run('binary', [BINARY_OPS.indexOf(op), M.in(a), M.in(b), M.out(out), ...dims, ...sa, ...sb],
        sharesFor(out.length * (op === 'pow' ? NS_PER_SCALAR_F64 * 4 : NS_PER_STREAMED_FLOAT * 2))));
    },
    reduce(op, x, shape, axes, out) {
      const plan = planReduce(shape, axes);
      if (!plan || x.length === 0) return referenceBackend.reduce(op, x, shape, axes, out);
      withArgs((M) => run('reduce', [REDUCE_OPS.indexOf(op), M.in(x), M.out(out), ...plan], sharesFor(x.length * NS_PER_STREAMED_FLOAT)));
    },
    // out is (rows, cols), in place; bias is (cols) or null
    biasActivation(out, bias, rows, cols, activation) {
      if (rows * cols === 0) return;
      withArgs((M) => run('biasActivation', [M.out(out, 0, rows * cols, true), bias ? M.in(bias) : 0, rows, cols, ACTIVATIONS.indexOf(activation)],
        sharesFor(rows * cols * activationCost(activation))));
    },
    activationBackward(y, gy, gx, activation) {
      if (gx.length === 0) return;
      // gx may alias gy: when it is a foreign array, M.out copies it in (reads) and the kernel reads it there.
      withArgs((M) => {
        const py = M.in(y), pgx = M.out(gx, 0, gx.length, gx === gy), pgy = gx === gy ? pgx : M.in(gy);
        run('activationBackward', [py, pgy, pgx, gx.length, ACTIVATIONS.indexOf(activation)], sharesFor(gx.length * activationCost(activation) * 2));
      });
    },
    // x is (rows, cols)
    logSoftmax(x, rows, cols, out) {
      withArgs((M) => run('logSoftmax', [M.in(x), rows, cols, M.out(out)], sharesFor(rows * cols * NS_PER_SCALAR_F64 * 4)));
    },
    // x is (rows, cols), target (rows); one row per share unit
    softmaxCrossEntropy(x, rows, cols, target, weight, labelSmoothing, loss, lse) {
      withArgs((M) => run('softmaxCrossEntropy',
        [M.in(x), rows, cols, M.in(target), weight ? M.in(weight) : 0, labelSmoothing, M.out(loss), M.out(lse)],
        sharesFor(rows * cols * NS_PER_SCALAR_F64 * 4)));
    },
    softmaxCrossEntropyBackward(x, lse, rows, cols, target, weight, labelSmoothing, rowScale, gx) {
      let weightSum = cols;
      if (weight) { weightSum = 0; for (let j = 0; j < cols; j++) weightSum += weight[j]!; }
      withArgs((M) => run('softmaxCrossEntropyBackward',
        [M.in(x), M.in(lse), rows, cols, M.in(target), weight ? M.in(weight) : 0, labelSmoothing, weightSum, M.in(rowScale), M.out(gx)],
        sharesFor(rows * cols * NS_PER_SCALAR_F64 * 4)));
    },

    // Optimizer updates: parameters and gradients are usually GC-owned arrays (copied in and out here); the state
    // comes from allocState(), so it stays in the heap.
    sgdStep(param, grad, momentumBuffer, firstStep, h) {
      const n = param.length;
      if (n === 0) return;
      const useBuffer = h.momentum !== 0 && momentumBuffer !== null;
      withArgs((M) => run('sgdStep',
        [M.out(param, 0, n, true), M.in(grad, 0, n), useBuffer ? M.out(momentumBuffer, 0, n, !firstStep) : 0, n,
          h.lr, useBuffer ? h.momentum : 0, 1 - h.dampening, h.nesterov ? 1 : 0, h.weightDecay, h.maximize ? -1 : 1, firstStep ? 1 : 0],
        sharesFor(n * NS_PER_STREAMED_FLOAT * 5)));
    },
    adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq, h) {
      const n = param.length;
      if (n === 0) return;
      const { lr, beta1, beta2, eps, weightDecay, step } = h;
      const stepSize = lr / (1 - beta1 ** step), biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
      const l2 = h.decoupled ? 0 : weightDecay, shrink = h.decoupled ? 1 - lr * weightDecay : 1;
      withArgs((M) => run('adamStep',
        [M.out(param, 0, n, true), M.in(grad, 0, n), M.out(expAvg, 0, n, true), M.out(expAvgSq, 0, n, true),
          maxExpAvgSq ? M.out(maxExpAvgSq, 0, n, true) : 0, n,
          beta1, 1 - beta1, beta2, 1 - beta2, stepSize, biasCorrection2Sqrt, eps, l2, shrink, h.maximize ? -1 : 1],
        sharesFor(n * NS_PER_STREAMED_FLOAT * 8)));
    },
    // Parameters and optimizer state in the heap (outside every scope, returned by finalization): kernels use them
    // in place. Past the persistent budget, or when the memory cannot grow, a GC-owned array (copied per call).
    allocState: (n: number) => heap.allocPersistent(n) ?? new Float32Array(n),

    // x is (N,C,HW)
    channelMoments(x, n, c, hw, mean, variance) {
      withArgs((M) => run('channelMoments', [M.in(x), n, c, hw, M.out(mean), M.out(variance)], sharesFor(n * c * hw * NS_PER_STREAMED_FLOAT * 4)));
    },
    batchNormApply(x, n, c, hw, mean, invStd, weight, bias, out) {
      withArgs((M) => run('batchNormApply',
        [M.in(x), n, c, hw, M.in(mean), M.in(invStd), weight ? M.in(weight) : 0, bias ? M.in(bias) : 0, M.out(out)], sharesFor(n * c * hw * NS_PER_STREAMED_FLOAT * 2)));
    },
    batchNormBackward(x, gy, n, c, hw, mean, invStd, weight, training, gx, gWeight, gBias) {
      withArgs((M) => run('batchNormBackward',
        [M.in(x), M.in(gy), n, c, hw, M.in(mean), M.in(invStd), weight ? M.in(weight) : 0, training ? 1 : 0,
          M.out(gx), M.out(gWeight), M.out(gBias)], sharesFor(n * c * hw * NS_PER_STREAMED_FLOAT * 6)));
    },
  };
  // The default thread count (one per core) gives its threads up while they lose to other work on the machine; a
  // count the caller chose (setThreads, CONVKIT_THREADS, --threads) is kept as asked.
  const adaptive = threads === undefined && platform.spawnWorker !== null && platform.threadsFromUser?.() !== true;
  await pool.setThreads(threads ?? (platform.spawnWorker ? platform.defaultThreads() : 1), { adaptive });
  return backend;
}

let shared: Promise<WasmBackend> | null = null;

/**
 * The process-wide wasm backend (loaded once; later calls return the same object).
 * @example
 * const wasm = await loadWasmBackend();
 * await wasm.setThreads(2);
 */
export function loadWasmBackend(): Promise<WasmBackend> {
  shared ??= createWasmBackend().catch((e: unknown) => {
    shared = null;
    throw e;
  });
  return shared;
}

export default loadWasmBackend;
