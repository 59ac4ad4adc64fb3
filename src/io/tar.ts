/**
 * A minimal POSIX ustar reader and writer (browser-safe): enough to carry a checkpoint folder as one file.
 *
 * Why tar: a browser hands the user one download per file, and three downloads in a row are blocked or prompted
 * for by most browsers; a tar keeps the folder's three files together, needs no compression library (the
 * safetensors payload is float32 and barely compresses), and every system can unpack it (`tar -xf`).
 *
 * The writer emits regular files only (names up to 100 bytes, as ustar requires without the prefix field). The
 * reader accepts what GNU/BSD tar write for plain files: regular files ('0' or NUL), and skips directories,
 * pax headers ('x', 'g') and GNU long-name records ('L', applied to the next entry).
 */

const BLOCK = 512;

/** A file found in or written to a tar archive. */
export interface TarEntry {
  /** Path inside the archive, '/'-separated, e.g. `lenet5-epoch3/checkpoint.json`. */
  path: string;
  bytes: Uint8Array;
}

/** An archive that is not a readable tar file. */
export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function writeString(header: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > length) throw new TarFormatError(`tar: '${value}' does not fit a ${length}-byte header field`);
  header.set(bytes, offset);
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  // length - 1 octal digits and a NUL, as ustar writers do.
  writeString(header, offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
}

/** Bytes of a ustar archive holding `entries` as regular files (mode 0644, the given modification time). */
export function encodeTar(entries: readonly TarEntry[], modifiedSeconds = 0): Uint8Array {
  let total = 2 * BLOCK; // two zero blocks end the archive
  for (const e of entries) total += BLOCK + Math.ceil(e.bytes.length / BLOCK) * BLOCK;
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    if (encoder.encode(e.path).length > 100) throw new TarFormatError(`tar: the path '${e.path}' is longer than 100 bytes`);
    const header = out.subarray(at, at + BLOCK);
    writeString(header, 0, 100, e.path);
    writeOctal(header, 100, 8, 0o644);
    writeOctal(header, 108, 8, 0);
    writeOctal(header, 116, 8, 0);
    writeOctal(header, 124, 12, e.bytes.length);
    writeOctal(header, 136, 12, Math.max(0, Math.floor(modifiedSeconds)));
    header.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
    header[156] = 0x30; // '0': regular file
    writeString(header, 257, 6, 'ustar\0');
    writeString(header, 263, 2, '00');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += header[i]!;
    writeString(header, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    out.set(e.bytes, at + BLOCK);
    at += BLOCK + Math.ceil(e.bytes.length / BLOCK) * BLOCK;
  }
  return out;
}

function readString(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

function readOctal(block: Uint8Array, offset: number, length: number, what: string, name: string): number {
  const text = readString(block, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`${name}: not a tar archive (the ${what} field of an entry is '${text}')`);
  return parseInt(text, 8);
}

/** The regular files of a tar archive. `name` (the archive's file name) appears in error messages. */
export function decodeTar(bytes: Uint8Array, name = 'archive'): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | null = null;
  while (at + BLOCK <= bytes.length) {
    const header = bytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const stored = readOctal(header, 148, 8, 'checksum', name);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    if (sum !== stored) throw new TarFormatError(`${name}: not a tar archive, or damaged (header checksum mismatch at byte ${at})`);
    const size = readOctal(header, 124, 12, 'size', name);
    const type = String.fromCharCode(header[156]!);
    const prefix = readString(header, 257, 6) === 'ustar' ? readString(header, 345, 155) : '';
    const path = longName ?? (prefix ? `${prefix}/${readString(header, 0, 100)}` : readString(header, 0, 100));
    const start = at + BLOCK;
    if (start + size > bytes.length) throw new TarFormatError(`${name}: truncated (the entry '${path}' needs ${size} bytes, the archive ends first)`);
    const body = bytes.subarray(start, start + size);
    longName = null;
    if (type === 'L') longName = decoder.decode(body).replace(/\0+$/, '');
    else if (type === '0' || type === '\0') entries.push({ path: path.replace(/^\.\//, ''), bytes: body });
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (entries.length === 0) throw new TarFormatError(`${name}: no files inside (empty or not a tar archive)`);
  return entries;
}
