/**
 * The backend contract: primitive kernels over float32 buffers. Kernels trust their arguments
 * (ops validate at the boundary) and never see autograd. Every buffer is a dense row-major Float32Array.
 *
 * A backend is one folder whose default export `satisfies Backend`, plus one line in registry.ts; `wasm`
 * overrides the hot paths and takes the rest from `reference`.
 */

/** Geometry of a 2-D convolution (also used by locally connected layers, which have groups = 1). */
export interface Conv2dGeometry {
  n: number; cIn: number; h: number; w: number;
  cOut: number; kh: number; kw: number;
  strideH: number; strideW: number;
  /** Padding before the first row / column; padding after is implied by outH / outW. */
  padH: number; padW: number;
  dilationH: number; dilationW: number;
  groups: number;
  outH: number; outW: number;
}

/** Geometry of a 2-D pooling window. */
export interface Pool2dGeometry {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number;
  strideH: number; strideW: number;
  padH: number; padW: number;
  /** Spacing between window taps (max pooling only; 1 for average pooling). */
  dilationH: number; dilationW: number;
  outH: number; outW: number;
}

/*
 * The op lists below are the one place each op name is written. A backend whose kernels take an op code (wasm,
 * native) passes the op's index in its list, so the order is part of the contract: append, never reorder. The
 * kernels' own numbering (asm/elementwise.ts, asm/fused.ts) cannot import this file; test/backend/wasm-kernels.test.ts
 * runs every op of these lists through the wasm kernels against the reference backend, so a kernel that numbers
 * them differently, or lacks a new one, fails there.
 */
/** Elementwise ops of `Backend.unary`; the type is derived from the list. */
export const UNARY_OPS = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'relu', 'sigmoid', 'tanh', 'gelu', 'reciprocal', 'square'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
/** Broadcasting ops of `Backend.binary` (the last five compare and write 1 or 0). */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'gt', 'ge', 'lt', 'le', 'eq'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];
/** Reductions of `Backend.reduce`. */
export const REDUCE_OPS = ['sum', 'max', 'min'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];
/** Activations that Linear / Conv2d can apply in their own output pass (tf.fused.matMul's `activation`). */
export const ACTIVATIONS = ['none', 'relu', 'sigmoid', 'tanh'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** Hyper-parameters of one SGD update (torch.optim.SGD's meaning). */
export interface SgdHyper {
  lr: number; momentum: number; dampening: number; nesterov: boolean; weightDecay: number; maximize: boolean;
}
/** Hyper-parameters of one Adam / AdamW update; `step` counts from 1 (this update included). */
export interface AdamHyper {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** AdamW: decay the weight itself (p *= 1 - lr*weightDecay) instead of adding an L2 term to the gradient. */
  decoupled: boolean;
  maximize: boolean; step: number;
}

/** op(B) packed by a backend's `packGemmB` (opaque: only that backend's `gemmPacked` reads it). */
export interface PackedGemmB {
  /** The backend that packed it. */
  readonly backend: string;
  /** op(B) is k×n. */
  readonly n: number;
  readonly k: number;
}

/** What conv2dFused does after the convolution (see there). */
export interface ConvEpilogue {
  activation: Activation;
  maxPool2x2: boolean;
  /** With maxPool2x2: receives each maximum's flat index in its convolution plane (the output's length). */
  argmax?: Int32Array;
}

export interface Backend {
  readonly name: string;

  // Optional capabilities: a backend without threads or without a memory pool of its own (reference) leaves them
  // out, and callers check for them (`backend.setThreads?.(2)`, train/scope.ts's backendScope()).
  /** Threads the kernels use (1 = the calling thread only). */
  readonly threads?: number;
  /** Use n threads (workers are spawned as needed). Results are bit-identical for every n. */
  setThreads?(n: number): Promise<void>;
  /**
   * A memory scope, for a backend whose `alloc` hands out blocks of a pool it owns (wasm's heap): run fn, then
   * return to the pool every block allocated inside it except `keep`-ed ones and the arrays in fn's result (arrays,
   * tensors' `data` and `grad.data`, and arrays of those). Training steps run inside one, so memory stays flat.
   * Where it is absent, `alloc` returns arrays the garbage collector frees, and a scope is a plain call.
   */
  scope?<T>(fn: () => T): T;
  /** `scope` as two calls, for code that cannot wrap a function (nested scopes stack). */
  beginScope?(): void;
  /** End the innermost scope, keeping the blocks of `keep`. */
  endScope?(keep?: readonly Float32Array[]): void;
  /** Let `array` outlive the current scope. */
  keep?(array: Float32Array): void;
  /** Return `array`'s block now; the caller promises not to read it (or its subarrays) again. */
  release?(array: Float32Array): void;

  /** A new zero-filled buffer of n floats, owned by this backend. */
  alloc(n: number): Float32Array;
  /**
   * A new buffer of n floats with unspecified contents, for an output the caller overwrites entirely (it saves
   * zeroing memory that is about to be written). Optional: without it, `alloc` serves (see ops/util.ts `uninitialized`).
   */
  allocUninitialized?(n: number): Float32Array;

  /**
   * C[m,n] (+)= op(A) @ op(B), all row-major. op(A) is m×k: A is [m,k], or [k,m] when transA.
   * op(B) is k×n: B is [k,n], or [n,k] when transB. With accumulate, adds into C; else overwrites.
   * Offsets select a sub-matrix start inside each buffer (for batched and grouped use).
   */
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, aOffset: number, b: Float32Array, bOffset: number,
    c: Float32Array, cOffset: number, accumulate: boolean,
  ): void;

  /**
   * Optional, for weights that no longer change (inference): op(B) (k×n; B is [k,n], or [n,k] when transB) packed
   * once into the layout this backend's GEMM reads, so repeated products skip the per-call packing, as onnxruntime
   * pre-packs its constant initializers. The packed copy does not follow later writes to B.
   */
  packGemmB?(transB: boolean, n: number, k: number, b: Float32Array, bOffset: number): PackedGemmB;
  /**
   * C[m,n] = activation(A @ op(B) + bias[j]) with A [m,k] row-major, op(B) from this backend's packGemmB and bias
   * (n) or null: the same bits as gemm(false, transB, m, n, k, ...) followed by biasActivation.
   */
  gemmPacked?(m: number, a: Float32Array, aOffset: number, packed: PackedGemmB, c: Float32Array, cOffset: number,
    bias: Float32Array | null, activation: Activation): void;

  // x is (N,C,H,W), w is (O,C/g,KH,KW), bias is (O) or null, out is (N,O,OH,OW)
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry, out: Float32Array): void;
  /**
   * Optional: conv2d with its epilogue in the same pass: `activation` after the bias, then, with `maxPool2x2`, 2x2
   * max pooling of stride 2 (floor mode), so the output is (N,O,floor(OH/2),floor(OW/2)). The same bits as conv2d
   * followed by biasActivation and maxPool2d. Returns the output (allocated here), or null, having allocated and
   * written nothing, where the backend has no fused kernel for this geometry and epilogue: the caller then runs
   * the separate kernels.
   *
   * With `argmax` (pooling only, the output's length) the kernel also writes each maximum's flat index in its
   * convolution plane, as maxPool2d does, so training can record one op: the gradient reaches the convolution's
   * output through the activation's gradient at the pooled output and those indices. With ReLU a backend may pool
   * before the activation (the same values): where a window holds no positive value its index may then differ from
   * maxPool2d's, and the gradient there is 0 either way. A backend that cannot write the indices returns null.
   */
  conv2dFused?(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry,
    epilogue: ConvEpilogue): Float32Array | null;
  // gy is (N,O,OH,OW), w is (O,C/g,KH,KW), gx is (N,C,H,W) and is overwritten
  conv2dBackwardInput(gy: Float32Array, w: Float32Array, g: Conv2dGeometry, gx: Float32Array): void;
  // x is (N,C,H,W), gy is (N,O,OH,OW), gw is (O,C/g,KH,KW) and is overwritten
  conv2dBackwardWeight(x: Float32Array, gy: Float32Array, g: Conv2dGeometry, gw: Float32Array): void;

  // x is (N,C,H,W), w is (OH*OW, O, C, KH, KW): one filter bank per output position; bias is (O,OH,OW) or null
  locallyConnected2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry, out: Float32Array): void;
  locallyConnected2dBackwardInput(gy: Float32Array, w: Float32Array, g: Conv2dGeometry, gx: Float32Array): void;
  locallyConnected2dBackwardWeight(x: Float32Array, gy: Float32Array, g: Conv2dGeometry, gw: Float32Array): void;

  // x is (N,C,H,W); out and argmax are (N,C,OH,OW); argmax holds the flat h*W+w index inside the plane, padding never wins;
  // argmax null: only the maxima (inference: nothing will need the backward)
  maxPool2d(x: Float32Array, g: Pool2dGeometry, out: Float32Array, argmax: Int32Array | null): void;
  maxPool2dBackward(gy: Float32Array, argmax: Int32Array, g: Pool2dGeometry, gx: Float32Array): void;
  // divisor: the window area including padding (countIncludePad) or only the in-bounds cells; windows are clipped to H+padH
  avgPool2d(x: Float32Array, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number, out: Float32Array): void;
  avgPool2dBackward(gy: Float32Array, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number, gx: Float32Array): void;

  /** out[i] = f(x[i]); `alpha` parameterises leakyRelu/elu style ops (unused by the listed ones). */
  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void;
  /**
   * out = a (op) b with broadcasting. Shapes are already broadcast-compatible; outShape is their broadcast.
   * Comparison ops write 1 or 0.
   */
  binary(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void;
  /** Reduce x of `shape` over the sorted axes (kept as size-1 in the output layout). */
  reduce(op: ReduceOp, x: Float32Array, shape: readonly number[], axes: readonly number[], out: Float32Array): void;

  /**
   * In place: out[r, c] = act(out[r, c] + bias[c]) for out (rows, cols) and bias (cols), or act(out[r, c]) when
   * bias is null. The values are exactly those of a separate `binary('add')` then `unary(act)` (relu, sigmoid,
   * tanh as in `unary`; 'none' only adds).
   */
  biasActivation(out: Float32Array, bias: Float32Array | null, rows: number, cols: number, activation: Activation): void;
  /**
   * Optional: out = activation(a + b) elementwise over out.length values (a ResNet block's residual join), the same
   * bits as binary 'add' followed by biasActivation(out, null, 1, n, activation), in one pass. Without it the
   * caller runs those two.
   */
  addActivation?(a: Float32Array, b: Float32Array, out: Float32Array, activation: Activation): void;
  /**
   * gx = gy · act'(x), written from the activation's saved output y (all of one length; gx may be gy):
   * relu gy·(y > 0 ? 1 : 0), sigmoid gy·y·(1 − y), tanh gy·(1 − y²) (the last two in f64, rounded once), none gy.
   * The same values as the unfused activation's gradient.
   */
  activationBackward(y: Float32Array, gy: Float32Array, gx: Float32Array, activation: Activation): void;

  // x is (rows, cols); out[r,:] = log_softmax(x[r,:])
  logSoftmax(x: Float32Array, rows: number, cols: number, out: Float32Array): void;

  /**
   * Fused softmax cross-entropy of x (rows, cols) against class indices `target` (rows, each in [0, cols), or negative
   * for a row to ignore: loss 0 and, in the backward, gradient 0), with
   * optional class weights w (cols; null = 1) and label smoothing eps. With lse[r] = log Σ_j exp(x[r,j]) and the
   * log-probabilities rounded to float32 as logSoftmax stores them, logp[r,j] = f32(x[r,j] − lse[r]):
   *   loss[r] = −(1−eps)·w[t]·logp[r,t] − eps/cols · Σ_j w[j]·logp[r,j].
   * lse has 2·rows floats: row r's log-sum-exp as the unevaluated sum lse[2r] + lse[2r+1] (float32 alone loses
   * what the gradient needs where a probability is close to 1 and softmax − 1 cancels).
   */
  softmaxCrossEntropy(x: Float32Array, rows: number, cols: number, target: Int32Array, weight: Float32Array | null,
    labelSmoothing: number, loss: Float32Array, lse: Float32Array): void;
  /**
   * Its gradient, each row scaled by rowScale[r]: gx[r,j] = rowScale[r]·(p[r,j]·a − (1−eps)·w[t]·[j = t] − eps/cols·w[j])
   * with a = (1−eps)·w[t] + eps/cols·Σw and p[r,j] = exp(logp[r,j]) (lse as the forward wrote it). gx is overwritten.
   */
  softmaxCrossEntropyBackward(x: Float32Array, lse: Float32Array, rows: number, cols: number, target: Int32Array,
    weight: Float32Array | null, labelSmoothing: number, rowScale: Float32Array, gx: Float32Array): void;

  /**
   * One SGD update of `param` in place from `grad` (same length). With momentum, `momentumBuffer` (same length) is
   * the running buffer, set to the first step's direction when `firstStep`; it may be null when momentum is 0.
   */
  sgdStep(param: Float32Array, grad: Float32Array, momentumBuffer: Float32Array | null, firstStep: boolean, h: SgdHyper): void;
  /** One Adam / AdamW update of `param` in place; maxExpAvgSq is null unless AMSGrad. */
  adamStep(param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array,
    maxExpAvgSq: Float32Array | null, h: AdamHyper): void;
  /**
   * A zero-filled buffer of n floats for data that lives across steps (layers' parameters, optimizer moments): it
   * outlives every memory scope and is reclaimed by the garbage collector once unreachable. The wasm backend places
   * it in its heap so kernels use it without copying (up to a budget; past it, or when the heap cannot grow, a
   * GC-owned array); any backend's kernels accept any backend's arrays, so such data survives setBackend().
   */
  allocState(n: number): Float32Array;

  // x is (N,C,HW): per channel mean and biased variance over N and HW
  channelMoments(x: Float32Array, n: number, c: number, hw: number, mean: Float32Array, variance: Float32Array): void;
  // out = (x - mean[c]) * invStd[c] * weight[c] + bias[c]   (weight/bias null = 1/0)
  batchNormApply(x: Float32Array, n: number, c: number, hw: number, mean: Float32Array, invStd: Float32Array,
    weight: Float32Array | null, bias: Float32Array | null, out: Float32Array): void;
  /**
   * Backward of batch norm. With training statistics: gx = invStd*w/M * (M*gy - sum(gy) - xhat*sum(gy*xhat));
   * with fixed (eval) statistics: gx = gy*w*invStd. Writes gx, gWeight = sum(gy*xhat), gBias = sum(gy).
   */
  batchNormBackward(x: Float32Array, gy: Float32Array, n: number, c: number, hw: number, mean: Float32Array, invStd: Float32Array,
    weight: Float32Array | null, training: boolean, gx: Float32Array, gWeight: Float32Array, gBias: Float32Array): void;
}
