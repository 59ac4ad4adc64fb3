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
 * Decompress gzip bytes in a browser (or any runtime with `DecompressionStream`).
 * Damaged data is reported with the file name. Bytes that are not gzip are returned unchanged.
 */
export async function gunzipBytes(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  if (typeof DecompressionStream === 'undefined') {
    throw new IdxFormatError(name, 'is gzip-compressed and this runtime has no DecompressionStream; decompress it first');
  }
  try {
    const stream = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (err) {
    throw new IdxFormatError(name, `damaged gzip data (${(err as Error).message}); the download was probably cut short - delete the file and fetch it again`);
  }
}
