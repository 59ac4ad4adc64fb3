/**
 * Image preprocessing (browser-safe): from decoded RGBA pixels of any size to a model's input, float CHW in
 * [0, 1]. `convkit predict` and image folders (src/node/dataImages.ts) decode a file with sharp to RGBA at its
 * natural size and call this; the explorer decodes with createImageBitmap + canvas getImageData and calls this
 * too, so a file classified on the page and on the command line gets the same input, value for value.
 *
 * The steps, in order:
 * 1. Alpha: every pixel is composited over the gray `background` (0..255): v = v·a/255 + background·(1 − a/255).
 * 2. Colour: for one channel, gray = 0.299·R + 0.587·G + 0.114·B (ITU-R BT.601 luma, the formula of Pillow's
 *    `convert('L')` and torchvision's `rgb_to_grayscale`), on the gamma-encoded sRGB values as stored.
 * 3. Fit to [height, width]: 'fill' stretches each axis; 'cover' scales by the larger ratio and keeps the
 *    centred part; 'contain' scales by the smaller ratio (the scaled size rounded to whole pixels) and centres
 *    it on the background (offset floor((size − scaled) / 2)).
 * 4. Resize: separable resampling with a triangle (bilinear) kernel widened by the downscale factor, so every
 *    source pixel under an output pixel counts (antialiasing). This is Pillow's `Image.resize(BILINEAR)` and
 *    torchvision's `resize(antialias=True)` for bilinear: output pixel i of an axis has its centre at source
 *    coordinate c = in0 + (i + 0.5)·scale (scale = source span / output size); the source pixels j with centres
 *    within support = max(scale, 1) of c get weight max(0, 1 − |j + 0.5 − c| / max(scale, 1)); weights are
 *    normalised to sum 1, so a constant image stays constant. Computed in float64.
 * 5. Scale to [0, 1] (÷ 255), then `invert` (v → 1 − v) if asked, the same as `convkit predict --invert`.
 *
 * `preprocessDrawing` prepares a drawing as MNIST and Fashion-MNIST digits were prepared: crop to the ink's
 * bounding box, scale the longer side to `inkSize` pixels keeping the aspect ratio, centre the box in the output.
 *
 * @example
 * const x = preprocessImage({ width: 60, height: 40, data: rgba }, { channels: 1, size: [28, 28] });
 * x.length;  // 784, values in [0, 1], CHW
 */

/** Decoded pixels: `data` is width·height·4 bytes, RGBA, row by row (what canvas getImageData gives). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

export type ImageFit = 'fill' | 'cover' | 'contain';

export interface PreprocessOptions {
  /** 1 = grayscale (BT.601 luma), 3 = RGB. */
  channels: 1 | 3;
  /** Output [height, width]. */
  size: readonly [number, number];
  /** How the image is fitted to `size` (default 'fill'). */
  fit?: ImageFit;
  /** Gray level 0..255 behind transparent pixels and around a 'contain' image (default 0, black). */
  background?: number;
  /** Replace v by 1 − v at the end (dark objects on a light background become light on dark). */
  invert?: boolean;
}

/** The BT.601 luma weights applied to R, G, B (step 2 above). */
export const GRAY_WEIGHTS: readonly [number, number, number] = [0.299, 0.587, 0.114];

function checkImage(image: RgbaImage): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`preprocess: image width and height must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 4) {
    throw new Error(`preprocess: a ${width}x${height} RGBA image has ${width * height * 4} bytes, got ${data.length}`);
  }
}

function checkOptions(options: PreprocessOptions): [number, number] {
  const [h, w] = options.size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw new Error(`preprocess: size must be positive integers, got [${h}, ${w}]`);
  if (options.channels !== 1 && options.channels !== 3) throw new Error(`preprocess: channels must be 1 or 3, got ${String(options.channels)}`);
  const bg = options.background ?? 0;
  if (!(bg >= 0 && bg <= 255)) throw new Error(`preprocess: background must be a gray level in 0..255, got ${bg}`);
  return [h, w];
}

/** Planes (channels × height × width, float64, 0..255) after alpha compositing and colour conversion. */
function toPlanes(image: RgbaImage, channels: 1 | 3, background: number): Float64Array {
  const { width, height, data } = image;
  const plane = width * height;
  const out = new Float64Array(channels * plane);
  const [wr, wg, wb] = GRAY_WEIGHTS;
  for (let i = 0; i < plane; i++) {
    const a = data[i * 4 + 3]! / 255;
    const under = background * (1 - a);
    const r = data[i * 4]! * a + under, g = data[i * 4 + 1]! * a + under, b = data[i * 4 + 2]! * a + under;
    if (channels === 1) {
      out[i] = wr * r + wg * g + wb * b;
    } else {
      out[i] = r;
      out[plane + i] = g;
      out[2 * plane + i] = b;
    }
  }
  return out;
}

/** Per output pixel of one axis: the first source index and the normalised weights (step 4 above). */
interface AxisWeights {
  first: Int32Array;
  weights: Float64Array[];
}

/**
 * Weights resampling the source span [in0, in1) (in source pixels; may be fractional for 'cover') of an axis of
 * `inSize` pixels to `outSize` pixels: Pillow's `precompute_coeffs` with the bilinear (triangle) filter.
 */
function axisWeights(inSize: number, in0: number, in1: number, outSize: number): AxisWeights {
  const scale = (in1 - in0) / outSize;
  const stretch = Math.max(scale, 1);
  const support = stretch; // the triangle's support (1) widened by the downscale factor
  const first = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const centre = in0 + (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const w = new Float64Array(Math.max(hi - lo, 0));
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const t = Math.abs((j - centre + 0.5) / stretch);
      const v = t < 1 ? 1 - t : 0;
      w[j - lo] = v;
      total += v;
    }
    if (total > 0) for (let k = 0; k < w.length; k++) w[k]! /= total;
    first[i] = lo;
    weights.push(w);
  }
  return { first, weights };
}

/**
 * Resample planes [c, inH, inW] from the source box (y0, x0, spanH, spanW) to [c, outH, outW]: rows first (along
 * the width), then columns, as Pillow does.
 */
function resample(planes: Float64Array, c: number, inH: number, inW: number,
  box: { y0: number; x0: number; spanH: number; spanW: number }, outH: number, outW: number): Float64Array {
  const across = axisWeights(inW, box.x0, box.x0 + box.spanW, outW);
  const down = axisWeights(inH, box.y0, box.y0 + box.spanH, outH);
  const wide = new Float64Array(c * inH * outW);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < inH; y++) {
      const row = (ch * inH + y) * inW;
      for (let x = 0; x < outW; x++) {
        const w = across.weights[x]!, j0 = across.first[x]!;
        let s = 0;
        for (let k = 0; k < w.length; k++) s += w[k]! * planes[row + j0 + k]!;
        wide[(ch * inH + y) * outW + x] = s;
      }
    }
  }
  const out = new Float64Array(c * outH * outW);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < outH; y++) {
      const w = down.weights[y]!, j0 = down.first[y]!;
      for (let x = 0; x < outW; x++) {
        let s = 0;
        for (let k = 0; k < w.length; k++) s += w[k]! * wide[(ch * inH + j0 + k) * outW + x]!;
        out[(ch * outH + y) * outW + x] = s;
      }
    }
  }
  return out;
}

/**
 * Preprocess decoded RGBA pixels to a model input: float32 CHW of shape [channels, ...size], values in [0, 1].
 * See the file comment for the exact steps (alpha, BT.601 gray, fit, antialiased bilinear resize, invert).
 */
export function preprocessImage(image: RgbaImage, options: PreprocessOptions): Float32Array {
  checkImage(image);
  const [outH, outW] = checkOptions(options);
  const c = options.channels;
  const background = options.background ?? 0;
  const fit = options.fit ?? 'fill';
  const { width: inW, height: inH } = image;
  const planes = toPlanes(image, c, background);
  let result: Float64Array;
  if (fit === 'fill') {
    result = resample(planes, c, inH, inW, { y0: 0, x0: 0, spanH: inH, spanW: inW }, outH, outW);
  } else if (fit === 'cover') {
    // The centred source box with the output's aspect ratio: the image scaled by the larger ratio, then cropped.
    const scale = Math.max(outW / inW, outH / inH);
    const spanW = outW / scale, spanH = outH / scale;
    result = resample(planes, c, inH, inW, { y0: (inH - spanH) / 2, x0: (inW - spanW) / 2, spanH, spanW }, outH, outW);
  } else if (fit === 'contain') {
    const scale = Math.min(outW / inW, outH / inH);
    const innerW = Math.min(outW, Math.max(1, Math.round(inW * scale)));
    const innerH = Math.min(outH, Math.max(1, Math.round(inH * scale)));
    const inner = resample(planes, c, inH, inW, { y0: 0, x0: 0, spanH: inH, spanW: inW }, innerH, innerW);
    result = new Float64Array(c * outH * outW).fill(background);
    const top = Math.floor((outH - innerH) / 2), left = Math.floor((outW - innerW) / 2);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < innerH; y++) {
        for (let x = 0; x < innerW; x++) result[(ch * outH + top + y) * outW + left + x] = inner[(ch * innerH + y) * innerW + x]!;
      }
    }
  } else {
    throw new Error(`preprocess: fit must be 'fill', 'cover' or 'contain', got '${String(fit)}'`);
  }
  const out = new Float32Array(result.length);
  for (let i = 0; i < result.length; i++) {
    // Clamp only the float64 rounding of weights that sum to 1 (a resize never leaves [0, 255] otherwise).
    const v = Math.min(1, Math.max(0, result[i]! / 255));
    out[i] = options.invert ? 1 - v : v;
  }
  return out;
}

/** An axis-aligned box of pixels: columns [x, x + width), rows [y, y + height). */
export interface PixelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The bounding box of the pixels whose gray level (alpha over `background`, BT.601) differs from `background`
 * by more than `threshold` (0..255), or null for an empty image.
 */
export function contentBox(image: RgbaImage, background = 0, threshold = 0): PixelBox | null {
  checkImage(image);
  const gray = toPlanes(image, 1, background);
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (Math.abs(gray[y * image.width + x]! - background) > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** The pixels of `box` as a new RGBA image. */
export function cropImage(image: RgbaImage, box: PixelBox): RgbaImage {
  checkImage(image);
  const { x, y, width, height } = box;
  if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > image.width || y + height > image.height) {
    throw new Error(`preprocess: crop box ${width}x${height} at (${x}, ${y}) is outside the ${image.width}x${image.height} image`);
  }
  const data = new Uint8ClampedArray(width * height * 4);
  for (let r = 0; r < height; r++) {
    const from = ((y + r) * image.width + x) * 4;
    data.set(image.data.subarray(from, from + width * 4), r * width * 4);
  }
  return { width, height, data };
}

export interface DrawingOptions {
  channels: 1 | 3;
  /** Output [height, width] (28x28 for the Fashion-MNIST models). */
  size: readonly [number, number];
  /** The ink's longer side after scaling, in output pixels (MNIST used 20 in 28). */
  inkSize: number;
  /** The canvas's background gray level (default 0: light ink on a dark background, like Fashion-MNIST). */
  background?: number;
}

/**
 * A drawing as the MNIST-family datasets were prepared: crop to the ink's bounding box (`contentBox`), scale it
 * so its longer side is `inkSize` pixels keeping the aspect ratio (the 'contain' fit of `preprocessImage`), and
 * centre that box in the output (the box's centre, not the ink's centre of mass). An empty drawing gives the
 * background everywhere.
 */
export function preprocessDrawing(image: RgbaImage, options: DrawingOptions): Float32Array {
  const [h, w] = checkOptions({ channels: options.channels, size: options.size });
  const background = options.background ?? 0;
  const inkSize = options.inkSize;
  if (!Number.isInteger(inkSize) || inkSize < 1 || inkSize > Math.min(h, w)) {
    throw new Error(`preprocess: inkSize must be an integer in 1..${Math.min(h, w)}, got ${inkSize}`);
  }
  const out = new Float32Array(options.channels * h * w).fill(background / 255);
  const box = contentBox(image, background);
  if (!box) return out;
  const ink = preprocessImage(cropImage(image, box), { channels: options.channels, size: [inkSize, inkSize], fit: 'contain', background });
  const top = Math.floor((h - inkSize) / 2), left = Math.floor((w - inkSize) / 2);
  for (let ch = 0; ch < options.channels; ch++) {
    for (let y = 0; y < inkSize; y++) {
      for (let x = 0; x < inkSize; x++) out[(ch * h + top + y) * w + left + x] = ink[(ch * inkSize + y) * inkSize + x]!;
    }
  }
  return out;
}
