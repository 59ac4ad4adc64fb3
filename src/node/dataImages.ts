/**
 * Images from disk (Node): a folder with one subfolder per class (like torchvision's ImageFolder), and
 * single image files for `convkit predict`. PNG and JPEG are decoded with `sharp` (libvips, shipped in its
 * npm package) to RGBA at their natural size, then preprocessed by the browser-safe `preprocessImage`
 * (src/data/preprocess.ts: alpha over the background, BT.601 gray or RGB, fit, antialiased bilinear resize) to
 * a fixed size, laid out NCHW; the explorer page preprocesses a decoded upload with the same function.
 *
 * @example
 * const ds = await loadImageFolder('photos/', { size: 32, channels: 3 });  // photos/cat/*.jpg, photos/dog/*.png
 * const x = await loadImageFile('cat.png', { size: 28, channels: 1 });      // Tensor [1, 1, 28, 28] in [0, 1]
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import { ImageDataset } from '../data/dataset.js';
import { preprocessImage, type RgbaImage } from '../data/preprocess.js';
import { Tensor } from '../tensor/tensor.js';

export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

export interface ImageDecodeOptions {
  /** Output size: one number for square images, or [height, width]. */
  size: number | [number, number];
  /** 1 = grayscale, 3 = RGB (default 3). Transparent pixels are composited over `background`. */
  channels?: 1 | 3;
  /**
   * How the image is fitted to the size: 'fill' stretches (default), 'cover' crops the center,
   * 'contain' letterboxes with `background` (see src/data/preprocess.ts).
   */
  fit?: 'fill' | 'cover' | 'contain';
  /** Background for transparency and letterboxing, gray level 0..255 (default 0, black). */
  background?: number;
}

export interface ImageFolderOptions extends ImageDecodeOptions {
  /** Skip unreadable images with a warning instead of failing (default false). */
  skipBad?: boolean;
  /** Where warnings go (default console.warn). */
  onWarning?: (message: string) => void;
  /** How many images are decoded at once (default 8). */
  concurrency?: number;
}

/** The most pixels convkit decodes from one image file (about 8,000 x 6,000). */
export const MAX_IMAGE_PIXELS = 50_000_000;

/** libvips' message, without the empty "Unknown error" it gives for some truncated JPEGs. */
function describeSharpError(err: unknown): string {
  const message = (err as Error).message?.trim() ?? '';
  if (!message || /^unknown error$/i.test(message)) return 'the file is damaged or cut short (the decoder gave no reason)';
  return message.split('\n')[0]!;
}

/** An image file that could not be read or decoded. */
export class ImageFileError extends Error {
  constructor(readonly path: string, readonly problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'ImageFileError';
  }
}

function sizeOf(size: number | [number, number]): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) throw new Error(`image size must be positive integers, got ${String(size)}`);
  return [h, w];
}

/**
 * Decode an image file to RGBA at its natural size, EXIF orientation applied (sRGB, 8 bits per channel): the
 * input `preprocessImage` takes, as a browser's canvas getImageData gives it.
 * Throws an ImageFileError naming the path for a missing file or anything that is not a readable image.
 */
export async function decodeImageRgba(path: string): Promise<RgbaImage> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ImageFileError(path, 'no such file');
  }
  if (!st.isFile()) throw new ImageFileError(path, 'is not a file');
  let data: Buffer;
  let info: OutputInfo;
  // The header first: a few hundred bytes can claim millions of pixels (a 967-byte PNG claiming 6,094,876x28
  // made predict take 4.77 GB). Nothing is decoded before its size is known and within bounds.
  let header: { width?: number; height?: number; format?: string };
  try {
    header = await sharp(path, { failOn: 'truncated', limitInputPixels: MAX_IMAGE_PIXELS }).metadata();
  } catch (err) {
    throw new ImageFileError(path, `not a readable image (PNG or JPEG expected): ${describeSharpError(err)}`);
  }
  const { width = 0, height = 0 } = header;
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ImageFileError(path, `its header says ${width}x${height} pixels, more than convkit decodes (${MAX_IMAGE_PIXELS / 1e6} megapixels)`);
  }
  try {
    // failOn 'warning': a file whose data ends before the pixels its header announces is an error, not an image
    // padded with grey (JPEGs with an edited height were classified before; libjpeg only warns "premature end of
    // data segment" there). Pillow refuses truncated images by default too.
    ({ data, info } = await sharp(path, { failOn: 'warning', limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate() // honour EXIF orientation
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }));
  } catch (err) {
    throw new ImageFileError(path, `not a readable image (PNG or JPEG expected): ${describeSharpError(err)}`);
  }
  if (info.channels !== 4 || data.length !== info.width * info.height * 4) {
    throw new ImageFileError(path, `decoded to ${info.channels} channels of ${info.width}x${info.height}, expected RGBA`);
  }
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/**
 * Decode one image file and preprocess it to float CHW in [0, 1] of the requested size and channel count: sharp
 * decodes (decodeImageRgba), then the browser-safe `preprocessImage` (src/data/preprocess.ts) composites alpha,
 * converts colour, fits and resizes, so the explorer page gets the same values from the same file.
 */
export async function preprocessImageFile(path: string, options: ImageDecodeOptions & { invert?: boolean }): Promise<Float32Array> {
  const size = sizeOf(options.size);
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new Error(`image channels must be 1 or 3, got ${String(channels)}`);
  const image = await decodeImageRgba(path);
  return preprocessImage(image, { channels, size, fit: options.fit ?? 'fill', background: options.background ?? 0, invert: options.invert ?? false });
}

/**
 * Decode one image file to uint8 CHW pixels of the requested size and channel count (preprocessImageFile,
 * rounded to the nearest gray level, for datasets stored as bytes).
 * Throws an ImageFileError naming the path for a missing file or anything that is not a readable image.
 */
export async function decodeImageFile(path: string, options: ImageDecodeOptions): Promise<Uint8Array> {
  const values = await preprocessImageFile(path, options);
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i]! * 255);
  return out;
}

/**
 * Load one image as a float tensor [1, C, H, W] with values in [0, 1] (for `convkit predict`; `invert` gives
 * 1 − v). A missing or non-image file is an ImageFileError naming the path.
 */
export async function loadImageFile(path: string, options: ImageDecodeOptions & { invert?: boolean }): Promise<Tensor> {
  const [h, w] = sizeOf(options.size);
  const channels = options.channels ?? 3;
  return new Tensor(await preprocessImageFile(path, options), [1, channels, h, w]);
}

/**
 * A dataset from a folder with one subfolder per class. Classes are the subfolder names in sorted
 * order (label = position); files are taken in sorted order; only .png/.jpg/.jpeg are read (other files
 * are ignored). A bad image is an error naming its path, or with `skipBad` a warning and a skip.
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<ImageDataset> {
  const root = resolve(dir);
  let entries: string[];
  try {
    if (!statSync(root).isDirectory()) throw new Error('not a folder');
    entries = readdirSync(root).sort();
  } catch {
    throw new ImageFileError(dir, 'no such folder (expected a folder with one subfolder of images per class)');
  }
  // stat follows symlinks: one whose target is gone (or unreadable) is refused by name, not a bare ENOENT.
  const isFolder = (e: string): boolean => {
    try {
      return statSync(join(root, e)).isDirectory();
    } catch (err) {
      throw new ImageFileError(join(dir, e), `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); a broken symlink?`);
    }
  };
  const classNames = entries.filter((e) => !e.startsWith('.') && isFolder(e));
  if (classNames.length === 0) throw new ImageFileError(dir, 'has no class subfolders (expected e.g. DIR/cat/*.png, DIR/dog/*.jpg)');
  const files: { path: string; label: number }[] = [];
  classNames.forEach((cls, label) => {
    for (const f of readdirSync(join(root, cls)).sort()) {
      if (!f.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())) files.push({ path: join(root, cls, f), label });
    }
  });
  if (files.length === 0) throw new ImageFileError(dir, `no PNG or JPEG files in the class folders (${classNames.join(', ')})`);
  // A class with no images would still be a label the model must output and can never learn (torchvision's
  // ImageFolder refuses it too).
  const empty = classNames.filter((_, label) => !files.some((f) => f.label === label));
  if (empty.length > 0) {
    throw new ImageFileError(dir, `class folder${empty.length > 1 ? 's' : ''} ${empty.map((c) => `'${c}'`).join(', ')} ${empty.length > 1 ? 'hold' : 'holds'} no PNG or JPEG files; remove ${empty.length > 1 ? 'them' : 'it'} or add images`);
  }

  const [h, w] = sizeOf(options.size);
  const channels = options.channels ?? 3;
  const per = channels * h * w;
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const decoded: (Uint8Array | null)[] = new Array(files.length).fill(null);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  let next = 0;
  let failure: Error | null = null;
  const worker = async (): Promise<void> => {
    while (next < files.length && !failure) {
      const k = next++;
      try {
        decoded[k] = await decodeImageFile(files[k]!.path, options);
      } catch (err) {
        if (options.skipBad && err instanceof ImageFileError) warn(`convkit: skipping ${err.message}`);
        else failure ??= err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  if (failure) throw failure;

  const kept = decoded.flatMap((d, k) => (d ? [k] : []));
  if (kept.length === 0) throw new ImageFileError(dir, 'none of the images could be read');
  const images = new Uint8Array(kept.length * per);
  const labels = new Int32Array(kept.length);
  kept.forEach((k, i) => {
    images.set(decoded[k]!, i * per);
    labels[i] = files[k]!.label;
  });
  return new ImageDataset({
    images, labels, channels, height: h, width: w, classNames,
    name: `image folder ${dir}`,
    source: { kind: 'image-folder', location: root },
  });
}
