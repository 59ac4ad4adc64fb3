/**
 * DataLoader: batches of an `ImageDataset` as float32 NCHW tensors plus Int32Array labels, with a seeded
 * shuffle, drop-last, an optional batch transform, and an optional reusable batch buffer.
 *
 * Reproducibility: each pass (`for ... of loader`) draws one permutation from the loader's generator at its
 * start, and the transform draws from the same generator. Saving `loader.getState()` between epochs and
 * restoring it with `setState` makes the following epochs identical to an uninterrupted run.
 *
 * @example
 * const loader = new DataLoader(train, { batchSize: 64, shuffle: true, generator: new Generator(0) });
 * for (const { x, y } of loader) {            // x: Tensor [64, 1, 28, 28], y: Int32Array(64)
 *   const loss = F.crossEntropy(net.forward(x), y);
 * }
 */
import { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, Generator, type GeneratorState } from '../tensor/random.js';
import { getBackend } from '../backend/registry.js';
import type { ImageDataset } from './dataset.js';
import { isPixelwise, type BatchTransform, type ImageBatch } from './transforms.js';

export interface DataLoaderOptions {
  batchSize: number;
  /** Visit the examples in a new random order each pass (default false). */
  shuffle?: boolean;
  /** Skip the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Source of the shuffle order and of the transform's random draws (default: the global generator). */
  generator?: Generator;
  /** Applied to each batch (float32 in [0, 1] before it runs). */
  transform?: BatchTransform;
  /**
   * Fill the same buffer for every batch instead of allocating a new one (once, in the backend's persistent memory,
   * `allocState`, so the wasm kernels read it in place). Faster and allocation-free,
   * but a batch's `x` is overwritten by the next batch: copy it if you keep it.
   */
  reuseBuffer?: boolean;
}

export interface Batch {
  /** Images [B, C, H, W] float32. */
  x: Tensor;
  /** Labels [B]. */
  y: Int32Array;
  /** The dataset indices of this batch's examples. */
  indices: Int32Array;
}

/** What `getState` returns: enough to continue the sequence of epochs exactly. */
export interface DataLoaderState {
  /** Completed passes (epochs started, strictly). */
  epoch: number;
  generator: GeneratorState;
}

export class DataLoader implements Iterable<Batch> {
  readonly dataset: ImageDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator;
  readonly transform: BatchTransform | undefined;
  readonly reuseBuffer: boolean;
  /** Number of passes started so far. */
  epoch = 0;
  private buffer: Float32Array | null = null;
  /** uint8 images with a pixelwise transform: 256 transformed values per channel (made on the first batch). */
  private pixelTable: Float32Array | null = null;

  constructor(dataset: ImageDataset, options: DataLoaderOptions) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    if (dataset.length === 0) throw new Error(`DataLoader: dataset ${dataset.name} is empty`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.generator = options.generator ?? defaultGenerator;
    this.transform = options.transform;
    this.reuseBuffer = options.reuseBuffer ?? false;
  }

  /** Number of batches in one pass. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Number of examples one pass visits. */
  get numExamples(): number {
    return this.dropLast ? this.length * this.batchSize : this.dataset.length;
  }

  getState(): DataLoaderState {
    return { epoch: this.epoch, generator: this.generator.getState() };
  }

  setState(state: DataLoaderState): void {
    if (!state || !Number.isInteger(state.epoch) || state.epoch < 0) throw new Error('DataLoader.setState: expected { epoch, generator }');
    this.generator.setState(state.generator);
    this.epoch = state.epoch;
  }

  /** The visiting order of the next pass (draws from the generator when shuffling). */
  private nextOrder(): Int32Array {
    const n = this.dataset.length;
    if (this.shuffle) return this.generator.permutation(n);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return order;
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const order = this.nextOrder();
    this.epoch++;
    const count = this.length;
    for (let b = 0; b < count; b++) {
      const start = b * this.batchSize;
      const indices = order.slice(start, Math.min(start + this.batchSize, order.length));
      yield this.makeBatch(indices);
    }
  }

  /** The pixel table of a pixelwise transform over uint8 images, or null (then: copy, then transform). */
  private tableOfPixels(): Float32Array | null {
    const t = this.transform, ds = this.dataset;
    if (this.pixelTable || !isPixelwise(t) || !(ds.images instanceof Uint8Array)) return this.pixelTable;
    // (a transform made for another channel count keeps the plain path, which reports the mismatch)
    if (t.pixelChannels !== 1 && t.pixelChannels !== ds.channels) return null;
    const table = new Float32Array(ds.channels * 256);
    // the value copyImageTo stores for pixel u (float32 of u / 255), then the transform's map of it
    for (let c = 0; c < ds.channels; c++) for (let u = 0; u < 256; u++) table[c * 256 + u] = t.pixelMap(c, Math.fround(u * (1 / 255)));
    return (this.pixelTable = table);
  }

  /** Assemble the batch of the given dataset indices (also handy for evaluation of a chosen set). */
  makeBatch(indices: Int32Array): Batch {
    const ds = this.dataset;
    const per = ds.imageSize;
    const size = indices.length * per;
    let data: Float32Array;
    if (this.reuseBuffer) {
      if (!this.buffer || this.buffer.length < size) this.buffer = getBackend().allocState(this.batchSize * per);
      data = this.buffer.length === size ? this.buffer : this.buffer.subarray(0, size);
    } else {
      data = getBackend().alloc(size);
    }
    const y = new Int32Array(indices.length);
    const table = this.tableOfPixels();
    if (table) {
      // copy and transform in one pass: each pixel through its channel's table (the same bits as the two passes)
      const src = ds.images as Uint8Array, plane = ds.height * ds.width;
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]!;
        ds.checkIndex(i, 'makeBatch');
        for (let c = 0; c < ds.channels; c++) {
          const from = i * per + c * plane, to = k * per + c * plane, t = c * 256;
          for (let p = 0; p < plane; p++) data[to + p] = table[t + src[from + p]!]!;
        }
        y[k] = ds.labels[i]!;
      }
      return { x: new Tensor(data, [indices.length, ds.channels, ds.height, ds.width]), y, indices };
    }
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      ds.copyImageTo(i, data, k * per);
      y[k] = ds.labels[i]!;
    }
    let batch: ImageBatch = { data, n: indices.length, c: ds.channels, h: ds.height, w: ds.width };
    if (this.transform) batch = this.transform(batch, this.generator);
    return { x: new Tensor(batch.data, [batch.n, batch.c, batch.h, batch.w]), y, indices };
  }
}
