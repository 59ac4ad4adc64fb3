/**
 * A small, strict reader/writer of the safetensors format (browser-safe: bytes in, bytes out).
 *
 * Layout: 8-byte little-endian unsigned header length N, then N bytes of UTF-8 JSON, then raw little-endian data.
 * The JSON maps tensor names to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the start of
 * the data section) and may hold `__metadata__`, a string -> string map. Loading never executes anything.
 *
 * We write F32 only. We read F32 and convert F16/BF16/F64/I64/I32/I16/I8/U8/BOOL to float32, so PyTorch exports
 * (`num_batches_tracked` is I64, half-precision weights) load directly.
 *
 * Validation is strict: the header length must fit the file, the JSON must be an object of well-formed entries,
 * every dtype known, every shape product times the dtype size equal to the entry's byte length, and the data
 * regions must tile the data section exactly (contiguous, non-overlapping, no trailing bytes).
 *
 * @example
 * const bytes = encodeSafetensors({ 'fc.weight': { data: new Float32Array(6), shape: [2, 3] } }, { format: 'pt' });
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * tensors.get('fc.weight')!.shape; // [2, 3]
 */

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Upper bound on the JSON header (the reference implementation uses the same 100 MB limit). */
const MAX_HEADER_BYTES = 100_000_000;

/** A tensor to write: float32 data in row-major order and its shape. */
export interface SafetensorsInput {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** A tensor read back: always float32 data, plus the dtype it was stored as. */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  readonly data: Float32Array;
}

export interface SafetensorsFile {
  /** Tensors in file order (by data offset). */
  readonly tensors: Map<string, SafetensorsTensor>;
  readonly metadata: Record<string, string>;
}

/** A malformed safetensors file or an invalid tensor to write. The message names the file when known. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/**
 * A short, stack-safe rendering of a JSON value from a file for an error message: JSON.stringify recurses, so a
 * deeply nested value from a hostile file would overflow the stack inside the error path itself.
 */
export function describeJsonValue(value: unknown, maxLength = 60): string {
  let out = '';
  const stack: unknown[] = [value];
  let depth = 0;
  while (stack.length > 0 && out.length <= maxLength) {
    const v = stack.pop();
    if (v === CLOSE_ARRAY) { out += ']'; depth--; continue; }
    if (v === SEPARATOR) { out += ','; continue; }
    if (v === MORE) { out += ',...'; continue; }
    if (Array.isArray(v)) {
      if (depth >= 4) { out += '[...]'; continue; }
      out += '[';
      depth++;
      stack.push(CLOSE_ARRAY);
      if (v.length > 8) stack.push(MORE);
      for (let i = Math.min(v.length, 8) - 1; i >= 0; i--) {
        stack.push(v[i]);
        if (i > 0) stack.push(SEPARATOR);
      }
      continue;
    }
    if (v !== null && typeof v === 'object') { out += '{...}'; continue; }
    out += typeof v === 'string' ? JSON.stringify(v.slice(0, maxLength)) : String(v);
  }
  return out.length > maxLength ? out.slice(0, maxLength) + '...' : out;
}
const CLOSE_ARRAY = Symbol('close array');
const SEPARATOR = Symbol('separator');
const MORE = Symbol('more elements');

/** Most dimensions a tensor in a file may have (PyTorch allows 64; CNN tensors have at most 5). */
const MAX_RANK = 64;

function fail(fileName: string | undefined, message: string): never {
  throw new SafetensorsError(`safetensors${fileName ? ` ${fileName}` : ''}: ${message}`);
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encode float32 tensors (and optional string metadata) as safetensors bytes. */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsInput> | Map<string, SafetensorsInput>,
  metadata?: Record<string, string>,
  options: { fileName?: string } = {},
): Uint8Array {
  const file = options.fileName;
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(file, `metadata value for '${k}' must be a string, got ${typeof v}`);
    }
    header['__metadata__'] = { ...metadata };
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') fail(file, `'__metadata__' is reserved and cannot be a tensor name`);
    if (name.length === 0) fail(file, 'a tensor name must not be empty');
    if (!(t.data instanceof Float32Array)) fail(file, `tensor '${name}': data must be a Float32Array`);
    let numel = 1;
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 0) fail(file, `tensor '${name}': bad shape [${t.shape.join(', ')}]`);
      numel *= d;
    }
    if (numel !== t.data.length) {
      fail(file, `tensor '${name}': shape [${t.shape.join(', ')}] needs ${numel} values but data has ${t.data.length}`);
    }
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data section starts 8-byte aligned (as the reference writer does).
  let headerBytes = new TextEncoder().encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    headerBytes = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    if (littleEndian) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + i * 4, t.data[i]!, true);
    }
    pos += t.data.byteLength;
  }
  return out;
}

interface RawEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Decode and validate safetensors bytes. Every tensor comes back as float32. A NaN or infinite value in a
 * floating-point tensor is an error naming the tensor (a diverged run's weights are no model), unless
 * `allowNonFinite` is set.
 */
export function decodeSafetensors(bytes: Uint8Array, options: { fileName?: string; allowNonFinite?: boolean } = {}): SafetensorsFile {
  const file = options.fileName;
  if (bytes.length < 8) fail(file, `file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLenBig = view.getBigUint64(0, true);
  if (headerLenBig > BigInt(MAX_HEADER_BYTES)) fail(file, `header length ${headerLenBig} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(headerLenBig);
  if (8 + headerLen > bytes.length) {
    fail(file, `header length ${headerLen} runs past the end of the file (${bytes.length} bytes, at most ${bytes.length - 8} available)`);
  }
  if (headerLen < 2) fail(file, `header length ${headerLen} is too small for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    fail(file, 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(file, `header does not start with '{' (got ${JSON.stringify(text.slice(0, 16))})`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(file, 'header must be a JSON object');

  const metadata: Record<string, string> = {};
  const entries: RawEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(file, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(file, `__metadata__ value for '${k}' must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(file, name, value));
  }

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of sorted) {
    if (e.begin < expected) fail(file, `tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (which ends at ${expected})`);
    if (e.begin > expected) fail(file, `tensor '${e.name}' data_offsets start at ${e.begin}, leaving a gap after byte ${expected}`);
    if (e.end > dataLen) fail(file, `tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] run past the data section (${dataLen} bytes): file truncated?`);
    expected = e.end;
  }
  if (expected !== dataLen) fail(file, `data section is ${dataLen} bytes but the tensors cover ${expected} (trailing or missing bytes)`);

  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of sorted) {
    const data = toFloat32(bytes, dataStart + e.begin, e);
    if (!options.allowNonFinite) {
      let bad = 0, first = -1;
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i]!)) { bad++; if (first < 0) first = i; }
      }
      if (bad > 0) fail(file, `tensor '${e.name}' holds ${bad} non-finite value(s) (the first, ${data[first]}, at flat index ${first}); a diverged run's weights cannot be used (pass allowNonFinite to read them anyway)`);
    }
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

function parseEntry(file: string | undefined, name: string, value: unknown): RawEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(file, `tensor '${name}': entry must be an object with dtype, shape and data_offsets`);
  const v = value as Record<string, unknown>;
  const dtype = v['dtype'];
  if (typeof dtype !== 'string') fail(file, `tensor '${name}': missing dtype`);
  // An own property only: `'__proto__' in DTYPE_BYTES` is true for every object.
  if (!Object.hasOwn(DTYPE_BYTES, dtype)) fail(file, `tensor '${name}': unsupported dtype ${describeJsonValue(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  const shape = v['shape'];
  if (!Array.isArray(shape)) fail(file, `tensor '${name}': missing shape`);
  if (shape.length > MAX_RANK) fail(file, `tensor '${name}': shape has ${shape.length} dimensions (at most ${MAX_RANK})`);
  let numel = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) fail(file, `tensor '${name}': bad shape ${describeJsonValue(shape)}: every dimension must be a non-negative integer`);
    numel *= d;
  }
  const offsets = v['data_offsets'];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    fail(file, `tensor '${name}': data_offsets must be two non-negative integers, got ${describeJsonValue(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(file, `tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
  const size = DTYPE_BYTES[dtype as SafetensorsDtype];
  if (numel * size !== end - begin) {
    fail(file, `tensor '${name}': shape ${describeJsonValue(shape)} of ${dtype} needs ${numel * size} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

function toFloat32(bytes: Uint8Array, start: number, e: RawEntry): Float32Array {
  const n = (e.end - e.begin) / DTYPE_BYTES[e.dtype];
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, e.end - e.begin);
  switch (e.dtype) {
    case 'F32':
      if (littleEndian) new Uint8Array(out.buffer).set(bytes.subarray(start, start + n * 4));
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
      break;
  }
  return out;
}

/** IEEE 754 binary16 -> number (exact: every half is a float32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
