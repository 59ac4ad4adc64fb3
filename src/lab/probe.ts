/**
 * Looking inside a model (browser-safe): the output of every leaf layer of a plain feed-forward model, image
 * shifts, and the translation-equivariance error of a feature map.
 *
 * `traceLayers` records the output of every leaf module (Conv2d, ReLU, MaxPool2d, Linear, ...) during one real
 * forward pass, in call order, whatever the architecture (chains, residual and concatenating blocks).
 */
import { noGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { backendScope } from '../train/scope.js';
import { toBackend } from './train.js';

export interface LayerOutput {
  /** Dotted path of the layer (`features.3`). */
  path: string;
  /** Class name (`Conv2d`). */
  type: string;
  /** Output values (copied out of the backend). */
  data: Float32Array;
  shape: number[];
}

/** The leaf modules of `model` in registration order, with their dotted paths. */
export function leafLayers(model: Module): { path: string; module: Module }[] {
  const out: { path: string; module: Module }[] = [];
  for (const [path, m] of model.namedModules()) {
    if (path !== '' && [...m.children()].length === 0) out.push({ path, module: m });
  }
  return out;
}

/**
 * Every leaf layer's output for the input `x` ([N, C, H, W], normalized), in the order the model's own forward
 * calls them: each leaf's `forward` is wrapped for one real `model.forward(x)` (PyTorch's forward hooks), so
 * ResNets, DenseNets and Inception blocks are traced as faithfully as chains. Operations between leaves (a
 * residual addition, a functional ReLU) are not layers and are not listed. A leaf called twice is listed twice,
 * the second time as `path (call 2)`.
 */
export function traceLayers(model: Module, x: Float32Array, shape: readonly number[], modelName = model.typeName): LayerOutput[] {
  const scope = backendScope();
  const wasTraining = model.training;
  model.eval();
  const layers = leafLayers(model);
  const outputs: LayerOutput[] = [];
  const calls = new Map<string, number>();
  const restore: (() => void)[] = [];
  for (const { path, module } of layers) {
    const hadOwn = Object.prototype.hasOwnProperty.call(module, 'forward');
    const previous = (module as unknown as { forward: (...args: unknown[]) => Tensor }).forward;
    (module as unknown as { forward: (...args: unknown[]) => Tensor }).forward = function tracedForward(this: Module, ...args: unknown[]): Tensor {
      const out = previous.apply(this, args);
      const n = (calls.get(path) ?? 0) + 1;
      calls.set(path, n);
      outputs.push({ path: n === 1 ? path : `${path} (call ${n})`, type: module.typeName, data: Float32Array.from(out.data), shape: [...out.shape] });
      return out;
    };
    restore.push(() => {
      if (hadOwn) (module as unknown as { forward: unknown }).forward = previous;
      else delete (module as unknown as { forward?: unknown }).forward;
    });
  }
  try {
    noGrad(() => scope(() => {
      (model as unknown as { forward(t: Tensor): Tensor }).forward(new Tensor(toBackend(x), shape));
      return null;
    }));
  } finally {
    for (const undo of restore.reverse()) undo();
    model.train(wasTraining);
  }
  if (outputs.length === 0) throw new Error(`lab: ${modelName} has no leaf layers to trace`);
  return outputs;
}

/**
 * Shift every [H, W] plane of `x` ([..., H, W]) by (dy, dx) pixels: out[y, x] = in[y - dy, x - dx], `fill`
 * where that falls outside. Positive dx moves content to the right.
 */
export function shiftPlanes(x: Float32Array, shape: readonly number[], dy: number, dx: number, fill = 0): Float32Array {
  const h = shape.at(-2)!;
  const w = shape.at(-1)!;
  const planes = x.length / (h * w);
  const out = new Float32Array(x.length);
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      for (let xx = 0; xx < w; xx++) {
        const sx = xx - dx;
        out[base + y * w + xx] = sy >= 0 && sy < h && sx >= 0 && sx < w ? x[base + sy * w + sx]! : fill;
      }
    }
  }
  return out;
}

export interface EquivarianceMeasurement {
  /** ||f(shift x) - shift(f x)|| / ||f x|| over the interior (NaN when the interior is empty). */
  relativeError: number;
  /** Largest absolute difference over the interior. */
  maxAbsError: number;
  /** Output positions compared per plane. */
  interiorPositions: number;
  /** The shift applied to the output: input shift / cumulative stride (rounded when not a whole number). */
  outputShift: [number, number];
  /** Whether the input shift is a whole number of output steps (only then can equivariance be exact). */
  aligned: boolean;
}

/** Output rows/columns [lo, hi] (inclusive) whose receptive field lies inside [margin, size-1-margin] of the input. */
export function interiorRange(inputSize: number, rfSize: number, jump: number, start: number, margin: number, outputSize: number): [number, number] {
  const half = (rfSize - 1) / 2;
  const lo = Math.max(0, Math.ceil((margin + half - start) / jump - 1e-9));
  const hi = Math.min(outputSize - 1, Math.floor((inputSize - 1 - margin - half - start) / jump + 1e-9));
  return [lo, hi];
}

/**
 * Compare a feature map `base` = f(x) with `shifted` = f(shift(x, dy, dx)): shifted[y + dy/jump, x + dx/jump]
 * against base[y, x] for output positions where both lie in the interior `rows` x `cols` (inclusive ranges:
 * positions whose receptive field sees neither padding nor the pixels the shift moved in or out).
 * `jump` is the layer's cumulative stride per axis.
 */
export function equivarianceError(
  base: Float32Array, shifted: Float32Array, shape: readonly number[], dy: number, dx: number,
  jump: readonly [number, number], rows: readonly [number, number], cols: readonly [number, number],
): EquivarianceMeasurement {
  const h = shape.at(-2)!;
  const w = shape.at(-1)!;
  const planes = base.length / (h * w);
  const oy = Math.round(dy / jump[0]);
  const ox = Math.round(dx / jump[1]);
  const aligned = dy % jump[0] === 0 && dx % jump[1] === 0;
  let num = 0;
  let den = 0;
  let maxAbsError = 0;
  let positions = 0;
  for (let y = rows[0]; y <= rows[1]; y++) {
    const sy = y + oy;
    if (sy < rows[0] || sy > rows[1]) continue;
    for (let x = cols[0]; x <= cols[1]; x++) {
      const sx = x + ox;
      if (sx < cols[0] || sx > cols[1]) continue;
      positions++;
      for (let p = 0; p < planes; p++) {
        const a = base[p * h * w + y * w + x]!;
        const b = shifted[p * h * w + sy * w + sx]!;
        num += (a - b) ** 2;
        den += a * a;
        maxAbsError = Math.max(maxAbsError, Math.abs(a - b));
      }
    }
  }
  return {
    relativeError: positions === 0 ? NaN : den === 0 ? (num === 0 ? 0 : Infinity) : Math.sqrt(num / den),
    maxAbsError,
    interiorPositions: positions,
    outputShift: [oy, ox],
    aligned,
  };
}

/** ||a - b|| / ||a|| over whole vectors (for layers without a spatial layout, e.g. an MLP's hidden units). */
export function relativeChange(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += a[i]! * a[i]!;
  }
  return den === 0 ? (num === 0 ? 0 : Infinity) : Math.sqrt(num / den);
}
