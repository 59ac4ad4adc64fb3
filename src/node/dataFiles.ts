/**
 * Reading IDX files from disk (gzip or raw) with every problem reported against the file's path.
 * Node only: uses node:fs and node:zlib.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { IdxFormatError, isGzip, parseIdxImages, parseIdxLabels, type IdxImages } from '../data/idx.js';

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

/** Gunzip bytes if they are gzip (else return them unchanged); a damaged stream names `name`. */
export function gunzipNamed(bytes: Uint8Array, name: string): Uint8Array {
  if (!isGzip(bytes)) {
    if (name.endsWith('.gz') && bytes.length > 0) {
      throw new IdxFormatError(name, 'has a .gz name but is not gzip data (no 1f 8b magic); the download may be an HTML error page or a damaged file');
    }
    return bytes;
  }
  try {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
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
