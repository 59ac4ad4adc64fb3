/**
 * IDX files (the MNIST / Fashion-MNIST format): a 4-byte magic number `00 00 TT DD` (TT = element type,
 * DD = number of dimensions), DD big-endian uint32 sizes, then the elements in row-major order.
 * convkit reads and writes the unsigned-byte type (TT = 0x08): images are `00 00 08 03` [N, H, W],
 * labels are `00 00 08 01` [N].
 *
 * Everything here works on bytes that are already decompressed; the Node side (src/node/dataFiles.ts)
 * gunzips with node:zlib, the browser can use `gunzipBytes` below (DecompressionStream).
 * Every error names the file and says what is wrong, so a truncated download never turns into
 * a crash deep inside training.
 */

/** A problem with the contents of an IDX file (bad magic, wrong sizes, labels out of range...). */
export class IdxFormatError extends Error {
  constructor(readonly fileName: string, readonly problem: string) {
    super(`${fileName}: ${problem}`);
    this.name = 'IdxFormatError';
  }
}

/** A parsed unsigned-byte IDX array. */
export interface IdxArray {
  /** Sizes of each dimension, e.g. [60000, 28, 28] for images, [60000] for labels. */
  dims: number[];
  /** The elements, row-major (a view into the input bytes; copy it if you keep the input mutable). */
  data: Uint8Array;
}

const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** Whether the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

function hex(n: number, digits: number): string {
  return '0x' + n.toString(16).padStart(digits, '0');
}

/**
 * Parse an unsigned-byte IDX file from decompressed bytes.
 * `expectedDims` (optional) checks the number of dimensions (3 for images, 1 for labels).
 *
 * @example
 * const { dims, data } = parseIdx(bytes, 'train-labels-idx1-ubyte', 1); // dims = [60000]
 */
export function parseIdx(bytes: Uint8Array, name: string, expectedDims?: number): IdxArray {
  if (isGzip(bytes)) {
    throw new IdxFormatError(name, 'is gzip-compressed (starts with 1f 8b); decompress it first (gunzipBytes in the browser, readIdxFile in Node)');
  }
  if (bytes.length < 4) {
    throw new IdxFormatError(name, `is ${bytes.length} bytes long, too short for the 4-byte IDX magic number (file truncated or empty?)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const typeCode = bytes[2]!;
  const ndim = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxFormatError(name, `bad magic number ${hex(magic, 8)}: an IDX file starts with two zero bytes (expected ${hex(0x800 + (expectedDims ?? 3), 8)}); this is not an IDX file`);
  }
  if (typeCode !== 0x08) {
    const typeName = IDX_TYPE_NAMES[typeCode];
    throw new IdxFormatError(
      name,
      `bad magic number ${hex(magic, 8)}: element type ${hex(typeCode, 2)}` +
        (typeName ? ` (${typeName}) is not supported` : ' is not a valid IDX type') +
        '; convkit reads unsigned-byte IDX files (type 0x08)',
    );
  }
  if (ndim === 0) throw new IdxFormatError(name, `bad magic number ${hex(magic, 8)}: 0 dimensions`);
  if (expectedDims !== undefined && ndim !== expectedDims) {
    throw new IdxFormatError(
      name,
      `bad magic number ${hex(magic, 8)}: ${ndim} dimension(s), expected ${expectedDims} (${hex(0x800 + expectedDims, 8)}, ${expectedDims === 1 ? 'labels' : expectedDims === 3 ? 'images' : 'array'})`,
    );
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new IdxFormatError(name, `truncated header: ${ndim} dimensions need ${headerBytes} header bytes, the file has ${bytes.length}`);
  }
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const expectedLength = headerBytes + count;
  if (bytes.length < expectedLength) {
    throw new IdxFormatError(
      name,
      `truncated: the header says [${dims.join(', ')}] = ${count} bytes of data, but only ${bytes.length - headerBytes} follow the header (file is ${bytes.length} bytes, expected ${expectedLength})`,
    );
  }
  if (bytes.length > expectedLength) {
    throw new IdxFormatError(
      name,
      `${bytes.length - expectedLength} trailing bytes after the data: the header says [${dims.join(', ')}] (${expectedLength} bytes in all) but the file is ${bytes.length} bytes (wrong count in the header, or two files joined?)`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes, expectedLength) };
}

/** Images from an IDX file: N grayscale images of height × width, uint8 pixels. */
export interface IdxImages {
  count: number;
  height: number;
  width: number;
  /** [count, height, width] uint8 pixels, row-major. */
  pixels: Uint8Array;
}

/** Parse an IDX image file (magic 0x00000803). */
export function parseIdxImages(bytes: Uint8Array, name: string): IdxImages {
  const { dims, data } = parseIdx(bytes, name, 3);
  const [count, height, width] = dims as [number, number, number];
  if (height === 0 || width === 0) throw new IdxFormatError(name, `images of size ${height}x${width} are empty`);
  return { count, height, width, pixels: data };
}

/**
 * Parse an IDX label file (magic 0x00000801) and check every label is in [0, numClasses).
 * Returns the labels as Int32Array (the type the loss functions take).
 */
export function parseIdxLabels(bytes: Uint8Array, name: string, numClasses = 10): Int32Array {
  const { dims, data } = parseIdx(bytes, name, 1);
  const labels = new Int32Array(dims[0]!);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v >= numClasses) {
      throw new IdxFormatError(name, `label ${v} at index ${i} is out of range: expected 0..${numClasses - 1} for ${numClasses} classes`);
    }
    labels[i] = v;
  }
  return labels;
}

/** Check that an image file and a label file describe the same number of examples. */
export function checkSameCount(images: IdxImages, imagesName: string, labels: Int32Array, labelsName: string): void {
  if (images.count !== labels.length) {
    throw new IdxFormatError(
      imagesName,
      `wrong count: ${images.count} images but ${labelsName} has ${labels.length} labels (the two files must come from the same split)`,
    );
  }
}

/**
 * Encode an unsigned-byte IDX file (the inverse of `parseIdx`).
 *
 * @example
 * const bytes = encodeIdx([2, 28, 28], pixels); // magic 0x00000803
 */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length === 0 || dims.length > 255) throw new Error(`encodeIdx: need 1..255 dimensions, got ${dims.length}`);
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new Error(`encodeIdx: bad dimension ${d} in [${dims.join(', ')}]`);
    count *= d;
  }
  if (data.length !== count) throw new Error(`encodeIdx: dims [${dims.join(', ')}] need ${count} bytes, got ${data.length}`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + count);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x800 + dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, header);
  return out;
}

/**
 * The largest IDX file convkit inflates (header + data), 1 GiB: EMNIST's largest split is 0.55 GB, Fashion-MNIST's
 * training images 47 MB. A header claiming more is refused before anything is inflated.
 */
export const MAX_IDX_BYTES = 2 ** 30;

/**
 * Deflate cannot compress better than about 1032:1, so a gzip member of `compressed` bytes holds at most this
 * many bytes (plus slack for the gzip header and trailer).
 */
function maxInflatedSize(compressed: number): number {
  return compressed * 1032 + 1024;
}

/**
 * The total size (header + data) an IDX file's header announces, checked against what a gzip stream of
 * `compressedSize` bytes can hold and against `maxBytes`; null when `prefix` is too short to hold the header yet.
 * Lets a reader bound the inflation of a gzip file by its own header: a 4 MB "gzip bomb" that inflates to
 * gigabytes is refused after its first bytes, not after filling the memory.
 */
export function idxTotalFromHeader(prefix: Uint8Array, name: string, compressedSize: number, maxBytes = MAX_IDX_BYTES): number | null {
  if (prefix.length < 4) return null;
  if (prefix[0] !== 0 || prefix[1] !== 0) return parseIdxHeaderProblem(prefix, name);
  const ndim = prefix[3]!;
  const headerBytes = 4 + 4 * ndim;
  if (prefix.length < headerBytes) return null;
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const dims: number[] = [];
  let total = headerBytes;
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  total += count;
  if (total > maxBytes) {
    throw new IdxFormatError(name, `the header says [${dims.join(', ')}] = ${count} bytes of data, more than convkit reads from one IDX file (${maxBytes} bytes); the file is damaged or not what it claims`);
  }
  if (total > maxInflatedSize(compressedSize)) {
    throw new IdxFormatError(name, `damaged gzip data: the header says [${dims.join(', ')}] = ${count} bytes of data, more than ${compressedSize} bytes of gzip can hold; the file was cut short - delete it and fetch it again`);
  }
  return total;
}

/** A prefix that is not an IDX header: let parseIdx word the error (bad magic). */
function parseIdxHeaderProblem(prefix: Uint8Array, name: string): never {
  parseIdx(prefix, name);
  throw new IdxFormatError(name, 'is not an IDX file');
}

/** The gzip trailer's ISIZE: the uncompressed size modulo 2^32 (RFC 1952), or null for a too-short stream. */
export function gzipDeclaredSize(bytes: Uint8Array): number | null {
  if (bytes.length < 18) return null;
  const n = bytes.length;
  return (bytes[n - 4]! | (bytes[n - 3]! << 8) | (bytes[n - 2]! << 16) | (bytes[n - 1]! << 24)) >>> 0;
}

/** Refuse a gzip IDX file whose trailer disagrees with the size its own header announces (damaged or a bomb). */
export function checkGzipTrailer(bytes: Uint8Array, total: number, name: string): void {
  const declared = gzipDeclaredSize(bytes);
  if (declared !== null && declared !== total % 2 ** 32) {
    throw new IdxFormatError(name, `damaged gzip data: the IDX header announces ${total} bytes but the gzip trailer says the stream inflates to ${declared} (mod 2^32); the file was cut short, corrupted or two files joined - delete it and fetch it again`);
  }
}

/**
 * Decompress gzip bytes in a browser (or any runtime with `DecompressionStream`).
 * Damaged data is reported with the file name. Bytes that are not gzip are returned unchanged.
 * With `idx: true` (an IDX file inside), the inflation is bounded by the IDX header: its announced size is
 * checked (against `maxBytes` and the gzip trailer) from the first inflated bytes, and inflation stops one byte
 * past it, so no gzip bomb can fill the memory.
 */
export async function gunzipBytes(bytes: Uint8Array, name: string, options: { idx?: boolean; maxBytes?: number } = {}): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  if (typeof DecompressionStream === 'undefined') {
    throw new IdxFormatError(name, 'is gzip-compressed and this runtime has no DecompressionStream; decompress it first');
  }
  const maxBytes = options.maxBytes ?? MAX_IDX_BYTES;
  const chunks: Uint8Array[] = [];
  let length = 0;
  let total: number | null = null;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  try {
    reader = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
      if (options.idx && total === null && length >= 4) {
        const prefix = concatChunks(chunks, length);
        total = idxTotalFromHeader(prefix, name, bytes.length, maxBytes);
        if (total !== null) checkGzipTrailer(bytes, total, name);
      }
      const limit = total !== null ? total : maxBytes;
      if (length > limit) {
        throw new IdxFormatError(name, total !== null
          ? `more data than its header says: the header announces ${total} bytes in all, the gzip stream holds more`
          : `inflates to more than ${maxBytes} bytes`);
      }
    }
  } catch (err) {
    await reader?.cancel().catch(() => undefined);
    if (err instanceof IdxFormatError) throw err;
    throw new IdxFormatError(name, `damaged gzip data (${(err as Error).message}); the download was probably cut short - delete the file and fetch it again`);
  }
  return concatChunks(chunks, length);
}

function concatChunks(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
