/**
 * Receptive-field arithmetic (browser-safe, no tensors).
 *
 * For one spatial axis, a feature map is described by three numbers (Dumoulin & Visin 2016; Araujo et al.
 * 2019, "Computing receptive fields of convolutional neural networks"):
 * - `size`: how many input pixels one unit of the map sees (padding included, so it can exceed the image);
 * - `jump`: the distance in input pixels between two neighbouring units of the map (the product of strides);
 * - `start`: the input coordinate of the centre of the first unit's field, with input pixels at 0, 1, 2, ...
 *   (so it is negative when padding pushes the first window over the top-left edge, and x.5 after an even
 *   window).
 *
 * A window layer (convolution, locally connected, pooling) with kernel k, stride s, padding p (before the first
 * row/column) and dilation d maps (size, jump, start) to
 *
 *     k' = d·(k − 1) + 1                  (the dilated kernel's extent)
 *     size'  = size + (k' − 1)·jump
 *     jump'  = jump·s
 *     start' = start + ((k' − 1)/2 − p)·jump
 *
 * Element-wise layers (BatchNorm, activations, dropout) leave the field unchanged. Where paths meet (a residual
 * addition, an Inception concatenation) the field of a unit is the union of the fields along every path:
 * `mergeFields` takes the smallest first and the largest last input pixel over the paths.
 *
 * @example
 * let rf = INPUT_FIELD;
 * rf = composeField(rf, { kernel: 3, padding: 1 });                 // conv 3x3: size 3
 * rf = composeField(rf, { kernel: 2, stride: 2 });                  // pool 2x2: size 4, jump 2, start 0.5
 */

export type Pair = readonly [number, number];

/** The receptive field of one unit of a feature map, per axis [height, width]. */
export interface ReceptiveField {
  readonly size: Pair;
  readonly jump: Pair;
  readonly start: Pair;
}

/** A layer that slides a window: kernel, stride, padding (before the first row/column) and dilation. */
export interface WindowGeometry {
  readonly kernel: number | Pair;
  readonly stride?: number | Pair;
  readonly padding?: number | Pair;
  readonly dilation?: number | Pair;
}

/** The field of the input image itself: each pixel sees itself. */
export const INPUT_FIELD: ReceptiveField = { size: [1, 1], jump: [1, 1], start: [0, 0] };

const pair = (v: number | Pair | undefined, fallback: number): [number, number] =>
  v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

/** The field after one window layer (see the module comment for the formulas). */
export function composeField(rf: ReceptiveField, layer: WindowGeometry): ReceptiveField {
  const k = pair(layer.kernel, 1), s = pair(layer.stride, 1), p = pair(layer.padding, 0), d = pair(layer.dilation, 1);
  const axis = (i: 0 | 1): [number, number, number] => {
    const extent = d[i] * (k[i] - 1) + 1;
    return [rf.size[i] + (extent - 1) * rf.jump[i], rf.jump[i] * s[i], rf.start[i] + ((extent - 1) / 2 - p[i]) * rf.jump[i]];
  };
  const [sh, jh, oh] = axis(0), [sw, jw, ow] = axis(1);
  return { size: [sh, sw], jump: [jh, jw], start: [oh, ow] };
}

/**
 * The union of fields of paths that meet (residual additions, concatenations). The result spans from the
 * smallest first pixel to the largest last pixel of the first unit's fields; the jump is the largest jump (paths
 * that meet have equal jumps in every standard architecture, since their maps have the same size).
 */
export function mergeFields(fields: readonly ReceptiveField[]): ReceptiveField {
  if (fields.length === 0) throw new Error('mergeFields: expected at least one receptive field');
  if (fields.length === 1) return fields[0]!;
  const axis = (i: 0 | 1): [number, number, number] => {
    let lo = Infinity, hi = -Infinity, jump = 0;
    for (const f of fields) {
      lo = Math.min(lo, f.start[i] - (f.size[i] - 1) / 2);
      hi = Math.max(hi, f.start[i] + (f.size[i] - 1) / 2);
      jump = Math.max(jump, f.jump[i]);
    }
    return [hi - lo + 1, jump, (lo + hi) / 2];
  };
  const [sh, jh, oh] = axis(0), [sw, jw, ow] = axis(1);
  return { size: [sh, sw], jump: [jh, jw], start: [oh, ow] };
}

/** The field after a chain of window layers (element-wise layers in between change nothing). */
export function chainField(layers: readonly WindowGeometry[], from: ReceptiveField = INPUT_FIELD): ReceptiveField {
  return layers.reduce(composeField, from);
}

/** `11x11 /4 @-3.5,-3.5`-style short text: size, jump and start (one number when both axes agree). */
export function formatField(rf: ReceptiveField): string {
  const one = (p: Pair): string => (p[0] === p[1] ? `${p[0]}` : `${p[0]}x${p[1]}`);
  const size = rf.size[0] === rf.size[1] ? `${rf.size[0]}` : `${rf.size[0]}x${rf.size[1]}`;
  return `${size} j${one(rf.jump)} s${one(rf.start)}`;
}
