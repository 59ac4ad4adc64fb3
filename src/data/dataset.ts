/**
 * An in-memory image-classification dataset: N images in NCHW layout plus one integer label each.
 *
 * Images are stored either as uint8 pixels (0..255, as read from IDX files; 4x smaller in memory) or as
 * float32 values already in [0, 1]. Whatever the storage, `copyImageTo` / the DataLoader hand out
 * float32 values in [0, 1] (uint8 is divided by 255), the same as torchvision's `ToTensor()`.
 */

/** Where a dataset's data came from (shown by the CLI so nobody mistakes a subset for the full set). */
export interface DatasetSource {
  /** e.g. 'data-dir', 'env', 'debian', 'cache', 'download', 'embedded-subset', 'image-folder', 'memory'. */
  kind: string;
  /** A folder, file or URL. */
  location: string;
  /** True when this is a reduced version of a larger dataset (the embedded subset). */
  isSubset?: boolean;
}

export interface ImageDatasetInit {
  /** [N, C, H, W] pixels: uint8 (0..255) or float32 (already scaled, usually [0, 1]). */
  images: Uint8Array | Float32Array;
  /** [N] class indices in [0, classNames.length). */
  labels: Int32Array;
  channels: number;
  height: number;
  width: number;
  classNames: readonly string[];
  /** A short human-readable name (e.g. `fashion-mnist/train`), used in messages. */
  name?: string;
  /** Provenance; defaults to { kind: 'memory', location: '' }. */
  source?: DatasetSource;
}

export class ImageDataset {
  readonly images: Uint8Array | Float32Array;
  readonly labels: Int32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly classNames: readonly string[];
  readonly name: string;
  readonly source: DatasetSource;

  constructor(init: ImageDatasetInit) {
    const { images, labels, channels, height, width, classNames } = init;
    this.name = init.name ?? 'dataset';
    this.source = init.source ?? { kind: 'memory', location: '' };
    for (const [k, v] of [['channels', channels], ['height', height], ['width', width]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`ImageDataset ${this.name}: ${k} must be a positive integer, got ${v}`);
    }
    const per = channels * height * width;
    if (images.length !== labels.length * per) {
      throw new Error(
        `ImageDataset ${this.name}: ${labels.length} labels of ${channels}x${height}x${width} images need ${labels.length * per} pixel values, got ${images.length}`,
      );
    }
    if (classNames.length === 0) throw new Error(`ImageDataset ${this.name}: classNames is empty`);
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]!;
      if (y < 0 || y >= classNames.length) {
        throw new Error(`ImageDataset ${this.name}: label ${y} at index ${i} is out of range for ${classNames.length} classes`);
      }
    }
    this.images = images;
    this.labels = labels;
    this.channels = channels;
    this.height = height;
    this.width = width;
    this.classNames = classNames;
  }

  /** Number of examples. */
  get length(): number {
    return this.labels.length;
  }
  get numClasses(): number {
    return this.classNames.length;
  }
  /** Values per image: C * H * W. */
  get imageSize(): number {
    return this.channels * this.height * this.width;
  }
  /** The per-example shape [C, H, W]. */
  get imageShape(): [number, number, number] {
    return [this.channels, this.height, this.width];
  }

  /** Write image `index` as float32 in [0, 1] into `out` starting at `offset`. */
  copyImageTo(index: number, out: Float32Array, offset = 0): void {
    this.checkIndex(index, 'copyImageTo');
    const per = this.imageSize;
    const start = index * per;
    const src = this.images;
    if (src instanceof Uint8Array) {
      const scale = 1 / 255;
      for (let i = 0; i < per; i++) out[offset + i] = src[start + i]! * scale;
    } else {
      out.set(src.subarray(start, start + per), offset);
    }
  }

  /** Image `index` as a new float32 array [C*H*W] in [0, 1]. */
  getImage(index: number): Float32Array {
    const out = new Float32Array(this.imageSize);
    this.copyImageTo(index, out, 0);
    return out;
  }

  /** A new dataset with the examples at `indices` (copied, in that order; repeats allowed). */
  subset(indices: ArrayLike<number>, name = `${this.name}[subset of ${indices.length}]`): ImageDataset {
    const per = this.imageSize;
    const images = this.images instanceof Uint8Array ? new Uint8Array(indices.length * per) : new Float32Array(indices.length * per);
    const labels = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      this.checkIndex(i, 'subset');
      if (images instanceof Uint8Array) images.set((this.images as Uint8Array).subarray(i * per, (i + 1) * per), k * per);
      else images.set((this.images as Float32Array).subarray(i * per, (i + 1) * per), k * per);
      labels[k] = this.labels[i]!;
    }
    return new ImageDataset({ images, labels, channels: this.channels, height: this.height, width: this.width, classNames: this.classNames, name, source: this.source });
  }

  /** The first `n` examples (or all, if there are fewer). */
  take(n: number): ImageDataset {
    const count = Math.min(n, this.length);
    return this.subset(Int32Array.from({ length: count }, (_, i) => i), `${this.name}[:${count}]`);
  }

  /** The same dataset with float32 images in [0, 1] (uint8 divided by 255; float data copied as is). */
  toFloat(): ImageDataset {
    const out = new Float32Array(this.images.length);
    if (this.images instanceof Uint8Array) {
      const scale = 1 / 255;
      for (let i = 0; i < out.length; i++) out[i] = this.images[i]! * scale;
    } else {
      out.set(this.images);
    }
    return new ImageDataset({ images: out, labels: this.labels.slice(), channels: this.channels, height: this.height, width: this.width, classNames: this.classNames, name: this.name, source: this.source });
  }

  /** How many examples each class has. */
  classCounts(): Int32Array {
    const counts = new Int32Array(this.numClasses);
    for (let i = 0; i < this.labels.length; i++) counts[this.labels[i]!]!++;
    return counts;
  }

  /**
   * Per-channel mean and standard deviation of the [0, 1]-scaled pixels (population std, like
   * the usual normalization constants, e.g. 0.2860 / 0.3530 for Fashion-MNIST train).
   */
  channelStats(): { mean: number[]; std: number[] } {
    const { channels: c } = this;
    const plane = this.height * this.width;
    const scale = this.images instanceof Uint8Array ? 1 / 255 : 1;
    const sum = new Float64Array(c);
    const sumSq = new Float64Array(c);
    for (let n = 0; n < this.length; n++) {
      for (let ch = 0; ch < c; ch++) {
        const base = (n * c + ch) * plane;
        let s = 0;
        let s2 = 0;
        for (let i = 0; i < plane; i++) {
          const v = this.images[base + i]! * scale;
          s += v;
          s2 += v * v;
        }
        sum[ch]! += s;
        sumSq[ch]! += s2;
      }
    }
    const count = this.length * plane;
    const mean = Array.from(sum, (s) => s / count);
    const std = Array.from(sumSq, (s2, ch) => Math.sqrt(Math.max(0, s2 / count - mean[ch]! ** 2)));
    return { mean, std };
  }

  /** Throws, naming the dataset and `what` asked, unless index is one of its examples. */
  checkIndex(index: number, what: string): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new Error(`ImageDataset ${this.name}.${what}: index ${index} out of range [0, ${this.length})`);
    }
  }
}

/**
 * Split a dataset at random into parts of the given sizes (like `torch.utils.data.random_split`).
 * Sizes may be counts that add up to the dataset length, or fractions that add up to 1 (the remainder of
 * rounding goes to the parts in order). The split is reproducible for a seeded generator.
 *
 * @example
 * const [train, val] = randomSplit(folder, [0.8, 0.2], new Generator(0));
 */
export function randomSplit(dataset: ImageDataset, sizes: readonly number[], generator: { permutation(n: number): Int32Array }): ImageDataset[] {
  const n = dataset.length;
  let counts: number[];
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.length === 0 || sizes.some((s) => !(s >= 0))) throw new Error(`randomSplit: sizes must be non-negative, got [${sizes.join(', ')}]`);
  if (sizes.every((s) => Number.isInteger(s)) && total === n) {
    counts = [...sizes];
  } else if (Math.abs(total - 1) < 1e-9) {
    counts = sizes.map((f) => Math.floor(f * n));
    let left = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; left > 0; i = (i + 1) % counts.length, left--) counts[i]!++;
  } else {
    throw new Error(`randomSplit: sizes [${sizes.join(', ')}] must be counts summing to ${n} or fractions summing to 1`);
  }
  const perm = generator.permutation(n);
  const parts: ImageDataset[] = [];
  let start = 0;
  counts.forEach((c, k) => {
    parts.push(dataset.subset(perm.subarray(start, start + c), `${dataset.name}[split ${k}]`));
    start += c;
  });
  return parts;
}
