/** Pooling: max, average, adaptive and global. */
import { Tensor } from '../tensor/tensor.js';
import { isGradEnabled, record } from '../autograd/tape.js';
import { getBackend } from '../backend/registry.js';
import type { Pool2dGeometry } from '../backend/backend.js';
import { formatShape } from '../tensor/shape.js';
import { assertRank, pair, uninitialized } from './util.js';
import { mean } from './reduce.js';
import { reshape } from './shape.js';
import { matmul } from './linalg.js';

export interface Pool2dOptions {
  kernelSize: number | readonly [number, number];
  /** Defaults to kernelSize. */
  stride?: number | readonly [number, number] | null;
  padding?: number | readonly [number, number];
  ceilMode?: boolean;
}

/** PyTorch's pooling output size, including the ceil-mode rule that the last window must start inside the input or left padding. */
export function poolOutputSize(input: number, kernel: number, stride: number, pad: number, ceilMode: boolean, dilation = 1): number {
  let out = Math.floor((input + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= input + pad) out--;
  return out;
}

function poolGeometry(op: string, x: Tensor, options: Pool2dOptions & { dilation?: number | readonly [number, number] }): Pool2dGeometry {
  assertRank(x, [4], op, '[N, C, H, W]');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = pair(options.kernelSize, op, 'kernelSize');
  const [strideH, strideW] = pair(options.stride ?? options.kernelSize, op, 'stride');
  const [padH, padW] = pair(options.padding ?? 0, op, 'padding');
  const [dilationH, dilationW] = pair(options.dilation ?? 1, op, 'dilation');
  if (dilationH < 1 || dilationW < 1) throw new Error(`${op}: dilation must be positive, got [${dilationH}, ${dilationW}]`);
  if (kh < 1 || kw < 1) throw new Error(`${op}: kernelSize must be positive, got [${kh}, ${kw}]`);
  if (strideH < 1 || strideW < 1) throw new Error(`${op}: stride must be positive, got [${strideH}, ${strideW}]`);
  if (padH < 0 || padW < 0) throw new Error(`${op}: padding must be non-negative, got [${padH}, ${padW}]`);
  if (padH > kh / 2 || padW > kw / 2) throw new Error(`${op}: padding [${padH}, ${padW}] must be at most half of the kernel size [${kh}, ${kw}]`);
  const outH = poolOutputSize(h, kh, strideH, padH, options.ceilMode ?? false, dilationH);
  const outW = poolOutputSize(w, kw, strideW, padW, options.ceilMode ?? false, dilationW);
  if (outH < 1 || outW < 1) throw new Error(`${op}: kernel ${kh}x${kw} (dilation ${dilationH}x${dilationW}) is larger than the padded input ${h + 2 * padH}x${w + 2 * padW} (input ${formatShape(x.shape)})`);
  return { n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW };
}

/**
 * Max pooling. x [N, C, H, W] -> [N, C, OH, OW], OH = floor((H + 2·pad − dilation·(K−1) − 1) / stride) + 1
 * (ceil with ceilMode).
 * Padding cells never win (they count as −∞).
 */
/**
 * n int32 winner indices in the backend's memory (on the wasm backend, a heap block that the kernels write and read
 * in place): an Int32Array view of a float block, whose Float32Array must stay referenced as long as the view is used.
 */
export function allocIndices(n: number): { argmax: Int32Array; argmaxStorage: Float32Array } {
  const argmaxStorage = getBackend().alloc(n);
  return { argmax: new Int32Array(argmaxStorage.buffer, argmaxStorage.byteOffset, n), argmaxStorage };
}

export function maxPool2d(x: Tensor, options: Pool2dOptions & { dilation?: number | readonly [number, number] }): Tensor {
  const g = poolGeometry('maxPool2d', x, options);
  const out = uninitialized([g.n, g.c, g.outH, g.outW]);
  if (!isGradEnabled() || !x.requiresGrad) {
    // Nothing will run the backward: the maxima alone, no winner indices.
    getBackend().maxPool2d(x.data, g, out.data, null);
    return out;
  }
  const { argmax, argmaxStorage } = allocIndices(out.numel);
  getBackend().maxPool2d(x.data, g, out.data, argmax);
  return record('maxPool2d', [x], out, { geometry: g, argmax, argmaxStorage });
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Whether zero padding counts in the divisor (default true, as in PyTorch). */
  countIncludePad?: boolean;
  divisorOverride?: number;
}

/** Average pooling; same output size as maxPool2d. */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  const g = poolGeometry('avgPool2d', x, { ...options, dilation: 1 });
  const countIncludePad = options.countIncludePad ?? true;
  const divisorOverride = options.divisorOverride ?? 0;
  if (divisorOverride < 0 || !Number.isFinite(divisorOverride)) throw new Error(`avgPool2d: divisorOverride must be positive, got ${divisorOverride}`);
  const out = uninitialized([g.n, g.c, g.outH, g.outW]);
  getBackend().avgPool2d(x.data, g, countIncludePad, divisorOverride, out.data);
  return record('avgPool2d', [x], out, { geometry: g, countIncludePad, divisorOverride });
}

/** Adaptive windows: output cell i covers [floor(i·In/Out), ceil((i+1)·In/Out)). */
function adaptiveWindows(input: number, output: number): [number, number][] {
  return Array.from({ length: output }, (_, i) => [Math.floor((i * input) / output), Math.ceil(((i + 1) * input) / output)]);
}

function adaptiveSize(x: Tensor, outputSize: number | readonly [number | null, number | null], op: string): [number, number] {
  assertRank(x, [4], op, '[N, C, H, W]');
  const o = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  const oh = o[0] ?? x.shape[2]!, ow = o[1] ?? x.shape[3]!;
  if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh < 1 || ow < 1) throw new Error(`${op}: outputSize must be positive integers, got ${JSON.stringify(outputSize)}`);
  return [oh, ow];
}

/**
 * Adaptive average pooling to a fixed output size, whatever the input size (used before classifiers).
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const [oh, ow] = adaptiveSize(x, outputSize, 'adaptiveAvgPool2d');
  const [, , h, w] = x.shape as [number, number, number, number];
  if (h % oh === 0 && w % ow === 0) return avgPool2d(x, { kernelSize: [h / oh, w / ow] });
  // Uneven (overlapping) windows: out = Ah · X · Aw per plane, where Ah [oh,h] and Aw [w,ow] hold 1/window-length
  // at the cells each window covers. Two matmuls keep it exact and differentiable with no new gradient rule.
  const rows = adaptiveWindows(h, oh), cols = adaptiveWindows(w, ow);
  const ah = new Float32Array(oh * h), aw = new Float32Array(w * ow);
  rows.forEach(([s, e], i) => { for (let k = s; k < e; k++) ah[i * h + k] = 1 / (e - s); });
  cols.forEach(([s, e], j) => { for (let k = s; k < e; k++) aw[k * ow + j] = 1 / (e - s); });
  const planes = reshape(x, [x.shape[0]! * x.shape[1]!, h, w]);
  const pooled = matmul(matmul(new Tensor(ah, [oh, h]), planes), new Tensor(aw, [w, ow]));
  return reshape(pooled, [x.shape[0]!, x.shape[1]!, oh, ow]);
}

/** Adaptive max pooling to a fixed output size. */
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const [oh, ow] = adaptiveSize(x, outputSize, 'adaptiveMaxPool2d');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const rows = adaptiveWindows(h, oh), cols = adaptiveWindows(w, ow);
  const out = uninitialized([n, c, oh, ow]);
  const argmax = new Int32Array(out.numel);
  const xd = x.data;
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let best = -Infinity, bestIdx = -1;
        for (let y = rows[i]![0]; y < rows[i]![1]; y++) {
          for (let z = cols[j]![0]; z < cols[j]![1]; z++) {
            const v = xd[(p * h + y) * w + z]!;
            if (bestIdx < 0 || v > best || Number.isNaN(v)) { best = v; bestIdx = y * w + z; }
          }
        }
        out.data[(p * oh + i) * ow + j] = best;
        argmax[(p * oh + i) * ow + j] = bestIdx;
      }
    }
  }
  const geometry: Pool2dGeometry = { n, c, h, w, kh: 0, kw: 0, strideH: 0, strideW: 0, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outH: oh, outW: ow };
  return record('maxPool2d', [x], out, { geometry, argmax });
}

/** Global average pooling: [N, C, H, W] -> [N, C, 1, 1]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  assertRank(x, [4], 'globalAvgPool2d', '[N, C, H, W]');
  return mean(x, [2, 3], true);
}
