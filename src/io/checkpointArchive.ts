/**
 * Checkpoints as in-memory files (browser-safe): what the explorer page downloads and uploads, and what the CLI
 * reads from a `.tar` of a checkpoint folder.
 *
 * The folder's `checkpoint.json` carries the size and SHA-256 of each tensor file, exactly as the Node writer
 * (src/node/checkpoint.ts) fills them in; the hashes are computed with Web Crypto (`crypto.subtle`), which both
 * browsers and Node (>= 19, as `globalThis.crypto`) provide, so one implementation serves both.
 */
import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  META_FILE,
  MODEL_FILE,
  OPTIMIZER_FILE,
  type Checkpoint,
  type JsonValue,
} from './checkpoint.js';
import { decodeTar, encodeTar, TarFormatError, type TarEntry } from './tar.js';

/** The three file names of a checkpoint folder, in the order they are written. */
export const CHECKPOINT_FILE_NAMES: readonly string[] = [MODEL_FILE, OPTIMIZER_FILE, META_FILE];

/** Lower-case hex SHA-256 of `bytes` (Web Crypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new CheckpointError('checkpoint: this runtime has no Web Crypto (crypto.subtle) to hash the tensor files; a page must be served over http://127.0.0.1, localhost or https');
  const digest = await subtle.digest('SHA-256', bytes.slice());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A checkpoint file by name inside its folder. */
export interface CheckpointFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * The files of a checkpoint folder: the tensor files, then `checkpoint.json` with `savedAt` and the `files` table
 * (bytes and SHA-256 of each tensor file), as src/node/checkpoint.ts writes them.
 */
export async function checkpointToFiles(ck: Checkpoint, savedAt: Date = new Date()): Promise<CheckpointFile[]> {
  const encoded = encodeCheckpoint(ck);
  const files: CheckpointFile[] = [{ name: MODEL_FILE, bytes: encoded[MODEL_FILE] }];
  const table: { [key: string]: JsonValue } = { [MODEL_FILE]: { bytes: encoded[MODEL_FILE].length, sha256: await sha256Hex(encoded[MODEL_FILE]) } };
  const optimizer = encoded[OPTIMIZER_FILE];
  if (optimizer) {
    files.push({ name: OPTIMIZER_FILE, bytes: optimizer });
    table[OPTIMIZER_FILE] = { bytes: optimizer.length, sha256: await sha256Hex(optimizer) };
  }
  const meta = { ...encoded.meta, savedAt: savedAt.toISOString(), files: table };
  files.push({ name: META_FILE, bytes: new TextEncoder().encode(JSON.stringify(meta, null, 1) + '\n') });
  return files;
}

/** A checkpoint folder as one ustar archive: `<folder>/model.safetensors`, ... (unpacks with `tar -xf`). */
export async function checkpointToTar(ck: Checkpoint, folder: string, savedAt: Date = new Date()): Promise<Uint8Array> {
  const files = await checkpointToFiles(ck, savedAt);
  return encodeTar(files.map((f) => ({ path: `${folder}/${f.name}`, bytes: f.bytes })), savedAt.getTime() / 1000);
}

/**
 * Which folder among `paths` ('/'-separated, e.g. from a dropped run folder or a tar) holds the checkpoint: the
 * one with `checkpoint.json`; in a run folder (best/ and last/) `best` first, then `last`, as
 * `convkit eval --checkpoint RUN` does; the shallowest first. Returns the folder ('' for the top) or null.
 */
export function findCheckpointFolder(paths: readonly string[]): string | null {
  const folders = paths
    .filter((p) => p === META_FILE || p.endsWith(`/${META_FILE}`))
    .map((p) => p.slice(0, Math.max(0, p.length - META_FILE.length - 1)));
  if (folders.length === 0) return null;
  const last = (f: string): string => f.split('/').pop() ?? '';
  const rank = (f: string): number => (last(f) === 'best' ? 0 : last(f) === 'last' ? 1 : 2);
  const depth = (f: string): number => (f === '' ? 0 : f.split('/').length);
  return [...folders].sort((a, b) => depth(a) - depth(b) || rank(a) - rank(b) || a.localeCompare(b))[0]!;
}

/**
 * Rebuild a checkpoint from its files by name. Checks what the Node loader checks: `checkpoint.json` parses and
 * validates, and each tensor file has the size and SHA-256 that `checkpoint.json` records. Errors
 * (`CheckpointError`) name the file (`where/model.safetensors`) and what is wrong.
 */
export async function checkpointFromFiles(files: ReadonlyMap<string, Uint8Array>, where: string, options: { skipOptimizer?: boolean } = {}): Promise<Checkpoint> {
  const at = (file: string): string => (where ? `${where}/${file}` : file);
  const metaBytes = files.get(META_FILE);
  if (!metaBytes) throw new CheckpointError(`checkpoint: ${at(META_FILE)} is missing (a checkpoint folder holds ${CHECKPOINT_FILE_NAMES.join(', ')})`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(metaBytes));
  } catch (e) {
    throw new CheckpointError(`checkpoint: ${at(META_FILE)} is not valid JSON (${(e as Error).message})`);
  }
  const table = (json as { files?: Record<string, { bytes?: number; sha256?: string }> } | null)?.files ?? {};
  const check = async (file: string, bytes: Uint8Array): Promise<void> => {
    const expected = table[file];
    if (!expected) return;
    if (expected.bytes !== undefined && expected.bytes !== bytes.length) {
      throw new CheckpointError(`checkpoint: ${at(file)} is ${bytes.length} bytes but ${META_FILE} says ${expected.bytes} (truncated or replaced)`);
    }
    if (expected.sha256 !== undefined && expected.sha256 !== (await sha256Hex(bytes))) {
      throw new CheckpointError(`checkpoint: ${at(file)} does not match the SHA-256 in ${META_FILE} (corrupt or from another save)`);
    }
  };
  const modelBytes = files.get(MODEL_FILE);
  if (!modelBytes) throw new CheckpointError(`checkpoint: ${at(MODEL_FILE)} is missing (it holds the weights)`);
  await check(MODEL_FILE, modelBytes);
  const hasOptimizer = (json as { optimizerState?: unknown } | null)?.optimizerState != null;
  let optimizerBytes: Uint8Array | null = null;
  if (hasOptimizer && !options.skipOptimizer) {
    optimizerBytes = files.get(OPTIMIZER_FILE) ?? null;
    if (!optimizerBytes) throw new CheckpointError(`checkpoint: ${at(OPTIMIZER_FILE)} is missing but ${META_FILE} has optimizer state`);
    await check(OPTIMIZER_FILE, optimizerBytes);
  }
  const jsonForDecode = (hasOptimizer && !optimizerBytes) && json && typeof json === 'object' ? { ...(json as object), optimizerState: null } : json;
  try {
    return decodeCheckpoint(jsonForDecode, modelBytes, optimizerBytes, where);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    // Safetensors errors already name the file; one error type for callers.
    throw new CheckpointError((e as Error).message);
  }
}

/** The checkpoint inside a tar archive (a checkpoint folder, or a run folder with best/ and last/). */
export async function checkpointFromTar(bytes: Uint8Array, name: string, options: { skipOptimizer?: boolean } = {}): Promise<{ checkpoint: Checkpoint; folder: string }> {
  let entries: TarEntry[];
  try {
    entries = decodeTar(bytes, name);
  } catch (e) {
    if (e instanceof TarFormatError) throw new CheckpointError(`checkpoint: ${e.message}`);
    throw e;
  }
  const folder = findCheckpointFolder(entries.map((e) => e.path));
  if (folder === null) {
    throw new CheckpointError(`checkpoint: ${name} holds no ${META_FILE} (found ${entries.slice(0, 5).map((e) => e.path).join(', ')}${entries.length > 5 ? ', ...' : ''})`);
  }
  const files = new Map<string, Uint8Array>();
  for (const e of entries) {
    const inFolder = folder === '' ? e.path : e.path.startsWith(folder + '/') ? e.path.slice(folder.length + 1) : null;
    if (inFolder !== null && !inFolder.includes('/')) files.set(inFolder, e.bytes);
  }
  const where = folder === '' ? name : `${name}:${folder}`;
  return { checkpoint: await checkpointFromFiles(files, where, options), folder };
}
