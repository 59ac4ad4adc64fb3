/**
 * Reading IDX files from disk (gzip or raw) with every problem reported against the file's path.
 * Node only: uses node:fs and node:zlib.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { constants, gunzipSync } from 'node:zlib';
import { checkGzipTrailer, IdxFormatError, idxTotalFromHeader, isGzip, MAX_IDX_BYTES, parseIdxImages, parseIdxLabels, type IdxImages } from '../data/idx.js';

/** md5 hex digest of some bytes. */
export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** Read a file and gunzip it if it starts with the gzip magic; damaged gzip is an error naming the path. */
export function readMaybeGzip(path: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new IdxFormatError(path, code === 'ENOENT' ? 'no such file' : `cannot be read (${(err as Error).message})`);
  }
  return gunzipNamed(raw, path);
}

/**
 * The total size an IDX file inside gzip bytes announces in its header, read by inflating only the first
 * compressed bytes (deflate expands at most ~1032:1, so 256 of them yield at most ~260 KB).
 */
function idxTotalOfGzip(bytes: Uint8Array, name: string, maxBytes: number): number {
  for (const take of [256, 4096, bytes.length]) {
    let prefix: Uint8Array;
    try {
      const out = gunzipSync(bytes.subarray(0, Math.min(take, bytes.length)), { finishFlush: constants.Z_SYNC_FLUSH });
      prefix = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      throw new IdxFormatError(name, `damaged gzip data (${(err as Error).message}); the file was probably cut short or corrupted - delete it and fetch it again`);
    }
    const total = idxTotalFromHeader(prefix, name, bytes.length, maxBytes);
    if (total !== null) return total;
    if (take >= bytes.length) break;
  }
  throw new IdxFormatError(name, 'truncated: the gzip stream ends inside the IDX header');
}

/**
 * Gunzip bytes if they are gzip (else return them unchanged); a damaged stream names `name`.
 * An IDX file inside is inflated only after its header is read and checked (size bound, gzip trailer), and never
 * past the size it announces, so a gzip bomb fails after its first bytes.
 */
export function gunzipNamed(bytes: Uint8Array, name: string, options: { maxBytes?: number } = {}): Uint8Array {
  if (!isGzip(bytes)) {
    if (name.endsWith('.gz') && bytes.length > 0) {
      throw new IdxFormatError(name, 'has a .gz name but is not gzip data (no 1f 8b magic); the download may be an HTML error page or a damaged file');
    }
    return bytes;
  }
  const total = idxTotalOfGzip(bytes, name, options.maxBytes ?? MAX_IDX_BYTES);
  checkGzipTrailer(bytes, total, name);
  try {
    const out = gunzipSync(bytes, { maxOutputLength: total + 1 });
    if (out.byteLength > total) throw new IdxFormatError(name, `more data than its header says: the header announces ${total} bytes in all`);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    if (err instanceof IdxFormatError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new IdxFormatError(name, `more data than its header says: the header announces ${total} bytes in all, the gzip stream holds more`);
    const msg = (err as Error).message;
    throw new IdxFormatError(name, `damaged gzip data (${msg}); the file was probably cut short or corrupted - delete it and fetch it again`);
  }
}

/** Read an IDX image file (gzip or raw). */
export function readIdxImagesFile(path: string): IdxImages {
  return parseIdxImages(readMaybeGzip(path), path);
}

/** Read an IDX label file (gzip or raw), checking labels are in [0, numClasses). */
export function readIdxLabelsFile(path: string, numClasses = 10): Int32Array {
  return parseIdxLabels(readMaybeGzip(path), path, numClasses);
}
