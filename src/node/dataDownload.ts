/**
 * Downloading a file with an md5 check, written atomically: the bytes go to a temporary file in the
 * destination folder, are fsynced, checked, and only then renamed over the final name. An interrupted or
 * wrong download never leaves a partial file under the final name.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomicSync } from './atomic.js';

export interface DownloadOptions {
  /** Expected md5 (hex) of the downloaded bytes; a mismatch is an error and nothing is kept. */
  md5?: string;
  /** Give up after this many milliseconds (whole request). Default 20000. */
  timeoutMs?: number;
  /** Refuse bodies larger than this many bytes. Default 100 MB. */
  maxBytes?: number;
}

export class DownloadError extends Error {
  constructor(readonly url: string, readonly problem: string) {
    super(`download ${url}: ${problem}`);
    this.name = 'DownloadError';
  }
}

/** Fetch `url` into memory, with a timeout and an optional md5 check. */
export async function fetchBytes(url: string, options: DownloadOptions = {}): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? 20000;
  const maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new DownloadError(url, `request failed (${why})`);
  }
  if (!response.ok) {
    throw new DownloadError(url, `server answered ${response.status} ${response.statusText}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw new DownloadError(url, `file is ${declared} bytes, more than the limit of ${maxBytes}`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' || e.name === 'AbortError' ? `timed out after ${timeoutMs} ms` : e.message;
    throw new DownloadError(url, `transfer interrupted (${why})`);
  }
  if (Number.isFinite(declared) && bytes.length !== declared) {
    throw new DownloadError(url, `received ${bytes.length} bytes but the server announced ${declared}`);
  }
  if (options.md5) {
    const got = createHash('md5').update(bytes).digest('hex');
    if (got !== options.md5.toLowerCase()) {
      throw new DownloadError(url, `md5 mismatch: expected ${options.md5}, got ${got} (${bytes.length} bytes); the file was not saved`);
    }
  }
  return bytes;
}

/** Write bytes to `path` atomically (temp file, fsync, rename; see ./atomic.ts), creating the folder. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomicSync(path, bytes);
}

/** Download `url` to `path` (atomically, after the md5 check). */
export async function downloadFile(url: string, path: string, options: DownloadOptions = {}): Promise<void> {
  const bytes = await fetchBytes(url, options);
  writeFileAtomic(path, bytes);
}
