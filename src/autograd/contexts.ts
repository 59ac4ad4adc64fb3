/**
 * What each op saves for its backward pass. One entry per op name: the ONE gradient table (gradients.ts)
 * has exactly these keys, so adding an op means one line here, one VJP there, and the op itself.
 */
import type { Activation, BinaryOp, Conv2dGeometry, Pool2dGeometry } from '../backend/backend.js';

export interface OpContexts {
  // elementwise (inputs [a, b]; the output is available to the VJP too)
  /** activation: applied to the output by the op itself (`addActivation`; the VJP first takes gy through it). */
  binary: { op: BinaryOp; activation?: Activation };
  neg: Record<string, never>;
  exp: Record<string, never>;
  log: Record<string, never>;
  sqrt: Record<string, never>;
  abs: Record<string, never>;
  relu: Record<string, never>;
  sigmoid: Record<string, never>;
  tanh: Record<string, never>;
  gelu: Record<string, never>;
  leakyRelu: { negativeSlope: number };
  elu: { alpha: number };
  clamp: { min: number; max: number };
  // reductions
  sum: { axes: number[] };
  max: { indices: Int32Array; dim: number; keepdim: boolean };
  // shape
  reshape: Record<string, never>;
  permute: { dims: number[] };
  narrow: { dim: number; start: number };
  concat: { dim: number };
  pad: { pads: [number, number, number, number] };
  // linear algebra
  matmul: Record<string, never>;
  // activation: applied to the output by the op itself (the VJP first takes gy through it)
  linear: { activation: Activation };
  // convolution and pooling
  conv2d: { geometry: Conv2dGeometry; activation: Activation };
  /**
   * conv2d (its activation: none or relu) then 2x2 max pooling in one op (a backend's conv2dFused with winner
   * indices): pool is the pooling's geometry over the convolution's output, argmax (and argmaxStorage) as maxPool2d's.
   */
  conv2dMaxPool2x2: { geometry: Conv2dGeometry; activation: Activation; pool: Pool2dGeometry; argmax: Int32Array; argmaxStorage?: Float32Array };
  locallyConnected2d: { geometry: Conv2dGeometry };
  /** argmaxStorage: the float block argmax views, when it is one (kept referenced so it is not reclaimed under the view). */
  maxPool2d: { geometry: Pool2dGeometry; argmax: Int32Array; argmaxStorage?: Float32Array };
  avgPool2d: { geometry: Pool2dGeometry; countIncludePad: boolean; divisorOverride: number };
  // normalisation, regularisation, losses
  batchNorm: { mean: Float32Array; invStd: Float32Array; batchStats: boolean; n: number; c: number; hw: number };
  dropout: { mask: Float32Array };
  logSoftmax: { dim: number };
  nllLoss: { target: Int32Array; weight: Float32Array | null; reduction: 'mean' | 'sum' | 'none'; totalWeight: number; ignoreIndex: number };
  /** Fused crossEntropy: each row's log-sum-exp (2 floats per row, see Backend.softmaxCrossEntropy) is all the backward needs besides the logits. */
  softmaxCrossEntropy: {
    /** Class per row; -1 marks an ignored row. */
    target: Int32Array; weight: Float32Array | null; labelSmoothing: number; reduction: 'mean' | 'sum' | 'none';
    totalWeight: number; lse: Float32Array;
  };
}
