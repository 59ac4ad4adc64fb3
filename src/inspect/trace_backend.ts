/**
 * A tracing backend for `summary`: it runs a model's real forward code but computes nothing. Every kernel
 * records what it would do (multiply-accumulates, and how it moves receptive fields) and fills its output
 * with a tag instead of numbers, so a forward pass of VGG-16 at 224x224 takes milliseconds and still produces
 * every exact shape, because the shapes come from the same ops and layers as a real forward.
 *
 * Receptive fields travel with the buffers: each kernel output is registered with its field (and the spatial
 * size of its map). Buffers made outside the kernels (concatenation, copies) are recognised by the tags they
 * carry: `concat` copies the tagged values of its inputs, so the union of the fields behind the tags found in a
 * buffer is its field. Parameters and buffers of the model are registered as constants (they carry no field).
 *
 * How MACs (multiply-accumulates) are counted, per kernel:
 * - conv2d: N·C_out·H_out·W_out·(C_in/groups)·kH·kW (one per weight tap per output element);
 * - locallyConnected2d: N·C_out·H_out·W_out·C_in·kH·kW (the same taps, no sharing: sharing saves parameters,
 *   not arithmetic);
 * - gemm (Linear, matmul): m·n·k;
 * - everything else counts 0: bias additions, BatchNorm, activations, pooling, residual additions,
 *   concatenation, LocalResponseNorm, softmax. This is the convention of the commonly published figures
 *   (ResNet-50 4.09 G, VGG-16 15.47 G, torchvision's "GFLOPS" column) and of tools/torchvision_counts.py.
 */
import type { Activation, Backend, BinaryOp, Conv2dGeometry, Pool2dGeometry, ReduceOp, UnaryOp } from '../backend/backend.js';
import { composeField, mergeFields, type ReceptiveField } from './receptive.js';

/** The field of a buffer and the spatial size [H, W] of the map it holds. */
export interface TracedField {
  readonly field: ReceptiveField;
  readonly height: number;
  readonly width: number;
}

/** Tags start far from any value a layer could produce from tagged zeros-and-tags input. */
const FIRST_TAG = 4_194_304; // 2^22: tags up to 2^24 are exact in float32

export class TraceBackend implements Backend {
  readonly name = 'trace';
  /** MACs of every kernel so far. */
  macs = 0;
  /** Called with the MACs of each kernel (summary attributes them to the modules on its call stack). */
  onMacs: ((macs: number) => void) | null = null;

  private readonly fields = new WeakMap<Float32Array, TracedField>();
  private readonly constants = new WeakSet<Float32Array>();
  private readonly byTag = new Map<number, TracedField>();
  private nextTag = FIRST_TAG;

  /** Mark a buffer (a parameter, a running statistic) as carrying no receptive field. */
  addConstant(data: Float32Array): void {
    this.constants.add(data);
  }

  /** Register a buffer with its field and tag its contents (used for the network input). */
  setField(data: Float32Array, traced: TracedField): void {
    this.fields.set(data, traced);
    const tag = this.nextTag++;
    if (this.nextTag >= 16_777_216) this.nextTag = FIRST_TAG; // wrap: only a pathological model gets here
    this.byTag.set(tag, traced);
    data.fill(tag);
  }

  /** The field of a buffer: registered by a kernel, else found through the tags it holds; null for constants. */
  fieldOf(data: Float32Array): TracedField | null {
    const known = this.fields.get(data);
    if (known) return known;
    if (this.constants.has(data)) return null;
    const found = new Set<TracedField>();
    let last = NaN;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v === last) continue;
      last = v;
      const t = this.byTag.get(v);
      if (t) found.add(t);
    }
    if (found.size === 0) return null;
    const list = [...found];
    const merged: TracedField = { field: mergeFields(list.map((t) => t.field)), height: list[0]!.height, width: list[0]!.width };
    this.fields.set(data, merged);
    return merged;
  }

  private merged(sources: readonly Float32Array[], height?: number, width?: number): TracedField | null {
    const traced = sources.map((s) => this.fieldOf(s)).filter((t): t is TracedField => t !== null);
    if (traced.length === 0) return null;
    return {
      field: mergeFields(traced.map((t) => t.field)),
      height: height ?? Math.max(...traced.map((t) => t.height)),
      width: width ?? Math.max(...traced.map((t) => t.width)),
    };
  }

  /** A field seen by a unit that pools the whole map (Linear after flatten, a global mean). */
  private static global(t: TracedField): ReceptiveField {
    return composeField(t.field, { kernel: [t.height, t.width] });
  }

  private emit(out: Float32Array, traced: TracedField | null, macs = 0): void {
    if (traced) this.setField(out, traced);
    if (macs > 0) {
      this.macs += macs;
      this.onMacs?.(macs);
    }
  }

  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }

  gemm(
    _transA: boolean, _transB: boolean, m: number, n: number, k: number,
    a: Float32Array, _aOffset: number, b: Float32Array, _bOffset: number,
    c: Float32Array, _cOffset: number, _accumulate: boolean,
  ): void {
    // A matrix product mixes every position of a flattened map: the unit sees the whole map.
    const sources = [a, b].map((s) => this.fieldOf(s)).filter((t): t is TracedField => t !== null);
    const previous = this.fields.get(c);
    const fields = sources.map(TraceBackend.global);
    if (previous) fields.push(previous.field);
    this.emit(c, fields.length ? { field: mergeFields(fields), height: 1, width: 1 } : null, m * n * k);
  }

  conv2d(x: Float32Array, _w: Float32Array, _bias: Float32Array | null, g: Conv2dGeometry, out: Float32Array): void {
    this.window(x, g, out, g.n * g.cOut * g.outH * g.outW * (g.cIn / g.groups) * g.kh * g.kw);
  }
  conv2dBackwardInput(): void {}
  conv2dBackwardWeight(): void {}

  locallyConnected2d(x: Float32Array, _w: Float32Array, _bias: Float32Array | null, g: Conv2dGeometry, out: Float32Array): void {
    this.window(x, g, out, g.n * g.cOut * g.outH * g.outW * g.cIn * g.kh * g.kw);
  }
  locallyConnected2dBackwardInput(): void {}
  locallyConnected2dBackwardWeight(): void {}

  maxPool2d(x: Float32Array, g: Pool2dGeometry, out: Float32Array, _argmax: Int32Array | null): void {
    this.window(x, g, out, 0);
  }
  maxPool2dBackward(): void {}
  avgPool2d(x: Float32Array, g: Pool2dGeometry, _countIncludePad: boolean, _divisorOverride: number, out: Float32Array): void {
    this.window(x, g, out, 0);
  }
  avgPool2dBackward(): void {}

  private window(x: Float32Array, g: Conv2dGeometry | Pool2dGeometry, out: Float32Array, macs: number): void {
    const src = this.fieldOf(x);
    const traced = src && {
      field: composeField(src.field, { kernel: [g.kh, g.kw], stride: [g.strideH, g.strideW], padding: [g.padH, g.padW], dilation: [g.dilationH, g.dilationW] }),
      height: g.outH,
      width: g.outW,
    };
    this.emit(out, traced, macs);
  }

  unary(_op: UnaryOp, x: Float32Array, out: Float32Array): void {
    this.emit(out, this.fieldOf(x));
  }

  binary(_op: BinaryOp, a: Float32Array, _aShape: readonly number[], b: Float32Array, _bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void {
    const spatial = outShape.length === 4;
    this.emit(out, this.merged([a, b], spatial ? outShape[2] : undefined, spatial ? outShape[3] : undefined));
  }

  reduce(_op: ReduceOp, x: Float32Array, shape: readonly number[], axes: readonly number[], out: Float32Array): void {
    const src = this.fieldOf(x);
    if (!src || shape.length !== 4 || !(axes.includes(2) || axes.includes(3))) {
      this.emit(out, src);
      return;
    }
    // A mean/sum over rows and/or columns is a window as large as the reduced extent.
    const kh = axes.includes(2) ? shape[2]! : 1, kw = axes.includes(3) ? shape[3]! : 1;
    this.emit(out, { field: composeField(src.field, { kernel: [kh, kw] }), height: shape[2]! / kh, width: shape[3]! / kw });
  }

  // In place and pointwise: the buffer keeps the field its producer (gemm, conv2d) registered.
  biasActivation(_out: Float32Array, _bias: Float32Array | null, _rows: number, _cols: number, _activation: Activation): void {}
  activationBackward(): void {}

  logSoftmax(x: Float32Array, _rows: number, _cols: number, out: Float32Array): void {
    this.emit(out, this.fieldOf(x));
  }

  // A loss has no receptive field to report; training is not traced (summary runs forward passes).
  softmaxCrossEntropy(): void {}
  softmaxCrossEntropyBackward(): void {}
  sgdStep(): void {}
  adamStep(): void {}
  allocState(n: number): Float32Array {
    return new Float32Array(n);
  }

  channelMoments(): void {}

  batchNormApply(x: Float32Array, _n: number, _c: number, _hw: number, _mean: Float32Array, _invStd: Float32Array,
    _weight: Float32Array | null, _bias: Float32Array | null, out: Float32Array): void {
    this.emit(out, this.fieldOf(x));
  }
  batchNormBackward(): void {}
}
