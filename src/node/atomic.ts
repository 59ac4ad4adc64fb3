/**
 * Atomic file writes: write a temporary file in the same directory, fsync it, rename it over the target, then
 * fsync the directory. A reader (or a process killed at any instant) sees either the old file or the new one,
 * never a torn mix.
 *
 * @example
 * await writeFileAtomic('out/model.safetensors', bytes);
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

function tempPathFor(path: string): string {
  const rand = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  return join(dirname(path), `.${basename(path)}.${process.pid}.${rand}.tmp`);
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

/** fsync a directory so a rename inside it is durable (a no-op where directories cannot be opened, e.g. Windows). */
function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms and file systems do not support fsync on a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write `data` to `path` atomically (async). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(path);
  const bytes = toBytes(data);
  const handle = await open(tmp, 'w', 0o644);
  try {
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
      written += bytesWritten;
    }
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  fsyncDirSync(dirname(path));
}

/** Write `data` to `path` atomically (synchronous). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = tempPathFor(path);
  const bytes = toBytes(data);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  fsyncDirSync(dirname(path));
}
