/**
 * Batch transforms for images in NCHW float32 layout: normalize, random crop with padding, random
 * horizontal flip, random translation, a fixed pixel permutation, and `compose`.
 *
 * A transform takes a batch and a seeded `Generator` and returns the transformed batch. Transforms that
 * keep the shape work in place (the returned batch is the one passed in); a crop to a different size
 * returns a new buffer. Random draws happen image by image in batch order, so a seeded
 * generator gives the same augmentation every run.
 *
 * @example
 * const augment = compose(randomCrop(28, 2), randomHorizontalFlip(0.5), normalize([0.286], [0.353]));
 * const loader = new DataLoader(train, { batchSize: 64, shuffle: true, transform: augment, generator: new Generator(1) });
 */
import type { Generator } from '../tensor/random.js';

/** A batch of images: `data` is [n, c, h, w] row-major float32. */
export interface ImageBatch {
  data: Float32Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

export type BatchTransform = (batch: ImageBatch, generator: Generator) => ImageBatch;

/**
 * A transform that maps every pixel by its channel and value alone (normalize). A DataLoader over uint8 images
 * applies it through a table of 256 float32 values per channel while it copies the pixels, one pass instead of two,
 * with the same bits.
 */
export interface PixelwiseTransform extends BatchTransform {
  /** The channel counts it takes: 1 (one map for every channel) or that many. */
  readonly pixelChannels: number;
  /** The float32 value the transform gives pixel value v (a float32 in [0, 1]) of channel c. */
  pixelMap(c: number, v: number): number;
}

/** Whether a transform maps pixels one by one (see PixelwiseTransform). */
export function isPixelwise(t: BatchTransform | undefined): t is PixelwiseTransform {
  return typeof t === 'function' && typeof (t as Partial<PixelwiseTransform>).pixelMap === 'function';
}

/** Apply transforms left to right. */
export function compose(...transforms: BatchTransform[]): BatchTransform {
  return (batch, generator) => transforms.reduce((b, t) => t(b, generator), batch);
}

/**
 * (x - mean[c]) / std[c] per channel, in place. One value broadcasts to every channel.
 * Like torchvision's `Normalize(mean, std)`.
 */
export function normalize(mean: readonly number[] | number, std: readonly number[] | number): BatchTransform {
  const means = typeof mean === 'number' ? [mean] : [...mean];
  const stds = typeof std === 'number' ? [std] : [...std];
  if (means.length === 0 || means.length !== stds.length) {
    throw new Error(`normalize: mean and std need the same nonzero length, got ${means.length} and ${stds.length}`);
  }
  for (const s of stds) if (!(s > 0) || !Number.isFinite(s)) throw new Error(`normalize: std values must be positive and finite, got ${s}`);
  const transform: BatchTransform = (batch) => {
    const { data, n, c, h, w } = batch;
    if (means.length !== 1 && means.length !== c) {
      throw new Error(`normalize: ${means.length} mean/std values for images with ${c} channels (give 1 or ${c})`);
    }
    const plane = h * w;
    for (let img = 0; img < n; img++) {
      for (let ch = 0; ch < c; ch++) {
        const m = means.length === 1 ? means[0]! : means[ch]!;
        const inv = 1 / (stds.length === 1 ? stds[0]! : stds[ch]!);
        const base = (img * c + ch) * plane;
        for (let i = 0; i < plane; i++) data[base + i] = (data[base + i]! - m) * inv;
      }
    }
    return batch;
  };
  const pixelwise: Pick<PixelwiseTransform, 'pixelChannels' | 'pixelMap'> = {
    pixelChannels: means.length,
    // the loop's arithmetic on one value, rounded to float32 as the store above rounds it
    pixelMap: (c, v) => Math.fround((v - means[means.length === 1 ? 0 : c]!) * (1 / stds[stds.length === 1 ? 0 : c]!)),
  };
  return Object.assign(transform, pixelwise);
}

/** Mirror each image left-right with probability p (one draw per image), in place. */
export function randomHorizontalFlip(p = 0.5): BatchTransform {
  if (!(p >= 0 && p <= 1)) throw new Error(`randomHorizontalFlip: p must be in [0, 1], got ${p}`);
  return (batch, generator) => {
    const { n } = batch;
    for (let img = 0; img < n; img++) if (generator.uniform() < p) flipImage(batch, img);
    return batch;
  };
}

/** Mirror every image left-right (deterministic; `randomHorizontalFlip(1)` draws but does the same). */
export function horizontalFlip(): BatchTransform {
  return (batch) => {
    for (let img = 0; img < batch.n; img++) flipImage(batch, img);
    return batch;
  };
}

function flipImage(batch: ImageBatch, img: number): void {
  const { data, c, h, w } = batch;
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const row = ((img * c + ch) * h + y) * w;
      for (let x = 0, xr = w - 1; x < xr; x++, xr--) {
        const t = data[row + x]!;
        data[row + x] = data[row + xr]!;
        data[row + xr] = t;
      }
    }
  }
}

/**
 * Pad each image by `padding` pixels of `fill` on every side, then cut a random size×size window
 * (torchvision's `RandomCrop(size, padding)`). The top offset is drawn before the left one.
 * Output images are size×size; with size equal to the input size the batch keeps its shape.
 */
export function randomCrop(size: number | [number, number], padding = 0, fill = 0): BatchTransform {
  const [outH, outW] = typeof size === 'number' ? [size, size] : size;
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH <= 0 || outW <= 0) throw new Error(`randomCrop: size must be positive integers, got ${String(size)}`);
  if (!Number.isInteger(padding) || padding < 0) throw new Error(`randomCrop: padding must be a non-negative integer, got ${padding}`);
  let scratch = new Float32Array(0);
  return (batch, generator) => {
    const { data, n, c, h, w } = batch;
    const paddedH = h + 2 * padding;
    const paddedW = w + 2 * padding;
    if (outH > paddedH || outW > paddedW) {
      throw new Error(`randomCrop: crop ${outH}x${outW} is larger than the padded image ${paddedH}x${paddedW}`);
    }
    const sameShape = outH === h && outW === w;
    const imgIn = c * h * w;
    const imgOut = c * outH * outW;
    if (sameShape && scratch.length < imgIn) scratch = new Float32Array(imgIn);
    // a crop to a new size gets a fresh buffer, so batches never share storage
    const out = sameShape ? data : new Float32Array(n * imgOut);
    const dst = sameShape ? data : out;
    for (let img = 0; img < n; img++) {
      const top = generator.int(paddedH - outH + 1) - padding;
      const left = generator.int(paddedW - outW + 1) - padding;
      let src = data;
      let srcBase = img * imgIn;
      if (sameShape) {
        scratch.set(data.subarray(srcBase, srcBase + imgIn));
        src = scratch;
        srcBase = 0;
      }
      shiftCopy(src, srcBase, dst, img * imgOut, c, h, w, outH, outW, top, left, fill);
    }
    return sameShape ? batch : { data: out, n, c, h: outH, w: outW };
  };
}

/**
 * Shift each image by a random whole number of pixels in [-maxShift, maxShift] on each axis (dy drawn
 * before dx), filling uncovered pixels with `fill`. The shape is unchanged.
 */
export function randomTranslate(maxShift: number | [number, number], fill = 0): BatchTransform {
  const [maxY, maxX] = typeof maxShift === 'number' ? [maxShift, maxShift] : maxShift;
  if (!Number.isInteger(maxY) || !Number.isInteger(maxX) || maxY < 0 || maxX < 0) {
    throw new Error(`randomTranslate: maxShift must be non-negative integers, got ${String(maxShift)}`);
  }
  let scratch = new Float32Array(0);
  return (batch, generator) => {
    const { data, n, c, h, w } = batch;
    const per = c * h * w;
    if (scratch.length < per) scratch = new Float32Array(per);
    for (let img = 0; img < n; img++) {
      const dy = generator.int(2 * maxY + 1) - maxY;
      const dx = generator.int(2 * maxX + 1) - maxX;
      if (dy === 0 && dx === 0) continue;
      scratch.set(data.subarray(img * per, (img + 1) * per));
      // output pixel (y, x) takes input (y - dy, x - dx): a window whose top-left is (-dy, -dx)
      shiftCopy(scratch, 0, data, img * per, c, h, w, h, w, -dy, -dx, fill);
    }
    return batch;
  };
}

/** Shift every image by exactly (dy, dx) pixels (positive = down/right), filling with `fill`. */
export function translate(dy: number, dx: number, fill = 0): BatchTransform {
  let scratch = new Float32Array(0);
  return (batch) => {
    const { data, n, c, h, w } = batch;
    const per = c * h * w;
    if (scratch.length < per) scratch = new Float32Array(per);
    for (let img = 0; img < n; img++) {
      scratch.set(data.subarray(img * per, (img + 1) * per));
      shiftCopy(scratch, 0, data, img * per, c, h, w, h, w, -dy, -dx, fill);
    }
    return batch;
  };
}

// src image (c,h,w) at srcBase; dst image (c,outH,outW) at dstBase; dst(y,x) = src(y+top, x+left) or fill outside
function shiftCopy(
  src: Float32Array, srcBase: number, dst: Float32Array, dstBase: number,
  c: number, h: number, w: number, outH: number, outW: number, top: number, left: number, fill: number,
): void {
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < outH; y++) {
      const sy = y + top;
      const dRow = dstBase + (ch * outH + y) * outW;
      if (sy < 0 || sy >= h) {
        dst.fill(fill, dRow, dRow + outW);
        continue;
      }
      const sRow = srcBase + (ch * h + sy) * w;
      for (let x = 0; x < outW; x++) {
        const sx = x + left;
        dst[dRow + x] = sx >= 0 && sx < w ? src[sRow + sx]! : fill;
      }
    }
  }
}

/**
 * A fixed permutation of pixel positions, the same for every image and channel:
 * out[c, i] = in[c, perm[i]] with i = y*W + x. Spatial structure is destroyed while every pixel
 * value is kept: the classic test that a CNN relies on locality and an MLP does not.
 */
export function permutePixels(perm: ArrayLike<number>): BatchTransform {
  const p = Int32Array.from(perm as ArrayLike<number>);
  const seen = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (v < 0 || v >= p.length || seen[v]) throw new Error(`permutePixels: perm is not a permutation of 0..${p.length - 1} (value ${perm[i]} at index ${i})`);
    seen[v] = 1;
  }
  let scratch = new Float32Array(0);
  return (batch) => {
    const { data, n, c, h, w } = batch;
    const plane = h * w;
    if (plane !== p.length) throw new Error(`permutePixels: permutation of ${p.length} positions for images of ${h}x${w} = ${plane} pixels`);
    if (scratch.length < plane) scratch = new Float32Array(plane);
    for (let k = 0; k < n * c; k++) {
      const base = k * plane;
      scratch.set(data.subarray(base, base + plane));
      for (let i = 0; i < plane; i++) data[base + i] = scratch[p[i]!]!;
    }
    return batch;
  };
}

/** A random permutation of `height*width` pixel positions from a seeded generator (for `permutePixels`). */
export function randomPixelPermutation(height: number, width: number, generator: Generator): Int32Array {
  return generator.permutation(height * width);
}
