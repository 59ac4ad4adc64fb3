/**
 * Checkpoints on disk: a directory holding `model.safetensors`, `optimizer.safetensors` and `checkpoint.json`
 * (see src/io/checkpoint.ts for what each holds).
 *
 * Crash safety. A save never touches the existing directory until the new one is complete:
 *   1. every file is written atomically (temp file, fsync, rename) into a fresh sibling `.NAME.tmp-PID-RAND/`,
 *      `checkpoint.json` last, with the size and SHA-256 of the tensor files;
 *   2. the old `NAME/` is renamed to `.NAME.old`, the new one renamed to `NAME/`, the parent fsynced;
 *   3. `.NAME.old` is removed.
 * A process killed at any point leaves either the old checkpoint at `NAME/`, or (between the two renames of
 * step 2) the old one at `.NAME.old`, which `loadCheckpoint` falls back to. A half-written file is never read:
 * the JSON is the commit mark and its hashes catch a tensor file that does not belong to it.
 *
 * @example
 * await saveCheckpoint('runs/lenet/last', checkpoint);
 * const ck = await loadCheckpoint('runs/lenet/last');
 * net.loadStateDict(ck.modelState);
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { describeJsonValue } from '../io/safetensors.js';
import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  META_FILE,
  MODEL_FILE,
  OPTIMIZER_FILE,
  type Checkpoint,
  type CheckpointMeta,
  type JsonValue,
} from '../io/checkpoint.js';

export { CheckpointError } from '../io/checkpoint.js';
export type { Checkpoint, CheckpointMeta, EpochMetrics } from '../io/checkpoint.js';

/**
 * The largest checkpoint.json read (16 MiB): hundreds of times a real one (a few KB; 100,000 class names of 160
 * bytes would fit). Parsing is what costs: JSON.parse took 14 s for 51 MB of nested arrays.
 */
export const MAX_META_BYTES = 16 * 2 ** 20;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function siblings(dir: string): { parent: string; name: string; old: string } {
  const abs = resolve(dir);
  const parent = dirname(abs);
  const name = basename(abs);
  return { parent, name, old: join(parent, `.${name}.old`) };
}

/** Save a checkpoint into `dir` (created if needed), replacing what was there only once the new one is complete. */
export async function saveCheckpoint(dir: string, ck: Checkpoint, options: { extraFiles?: Readonly<Record<string, Uint8Array>> } = {}): Promise<void> {
  for (const name of Object.keys(options.extraFiles ?? {})) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name) || [META_FILE, MODEL_FILE, OPTIMIZER_FILE].includes(name)) throw new CheckpointError(`checkpoint: cannot store an extra file named ${JSON.stringify(name)}`);
  }
  // Encode first, synchronously: the model's live tensors are read before anything else can change them.
  const files = encodeCheckpoint(ck);
  const { parent, name, old } = siblings(dir);
  const target = resolve(dir);
  if (existsSync(target)) {
    const isDir = statSync(target).isDirectory();
    const entries = isDir ? readdirSync(target) : [];
    if (!isDir || (entries.length > 0 && !entries.includes(META_FILE))) {
      throw new CheckpointError(`checkpoint: refusing to replace ${dir}: it exists and is not a convkit checkpoint folder`);
    }
  }
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const fileTable: { [key: string]: JsonValue } = {};
    await writeFileAtomic(join(tmp, MODEL_FILE), files[MODEL_FILE]);
    fileTable[MODEL_FILE] = { bytes: files[MODEL_FILE].length, sha256: sha256(files[MODEL_FILE]) };
    const opt = files[OPTIMIZER_FILE];
    if (opt) {
      await writeFileAtomic(join(tmp, OPTIMIZER_FILE), opt);
      fileTable[OPTIMIZER_FILE] = { bytes: opt.length, sha256: sha256(opt) };
    }
    // Files the model needs besides its weights (an imported model's ONNX graph), in the same atomic folder.
    for (const [name, bytes] of Object.entries(options.extraFiles ?? {})) await writeFileAtomic(join(tmp, name), bytes);
    const meta = { ...files.meta, savedAt: new Date().toISOString(), files: fileTable };
    await writeFileAtomic(join(tmp, META_FILE), JSON.stringify(meta, null, 1) + '\n');
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const abs = resolve(dir);
  if (existsSync(abs)) {
    if (existsSync(old)) await rm(old, { recursive: true, force: true });
    await rename(abs, old);
  }
  await rename(tmp, abs);
  await fsyncDir(parent);
  await rm(old, { recursive: true, force: true });
  // Leftovers of saves that were killed before their swap.
  for (const entry of readdirSync(parent)) {
    if (entry.startsWith(`.${name}.tmp-`)) {
      const pid = Number(entry.slice(`.${name}.tmp-`.length).split('-')[0]);
      if (pid !== process.pid && !isAlive(pid)) await rm(join(parent, entry), { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const h = await open(dir, 'r');
    try { await h.sync(); } finally { await h.close(); }
  } catch {
    // Directories cannot be fsynced everywhere; the renames are still atomic.
  }
}

/** A `saveCheckpoint` for `fit()`: writes `<outDir>/last` and `<outDir>/best`. */
export function checkpointSaver(outDir: string, options: { extraFiles?: Readonly<Record<string, Uint8Array>> } = {}): (kind: 'last' | 'best', ck: Checkpoint) => Promise<void> {
  return (kind, ck) => saveCheckpoint(join(outDir, kind), ck, options);
}

/**
 * The folder that holds the checkpoint a user named: `path` itself, or for a run folder its `best/` then `last/`,
 * each recovered from its `.NAME.old` sibling when a save was interrupted between its two renames (the previous
 * checkpoint is complete there). Null when none holds one; a `.tar` or other file is not looked into.
 */
export function findCheckpointDir(path: string): { dir: string; recovered: boolean } | null {
  const abs = resolve(path);
  for (const candidate of [abs, join(abs, 'best'), join(abs, 'last')]) {
    if (existsSync(join(candidate, META_FILE))) return { dir: candidate, recovered: false };
    const { old } = siblings(candidate);
    if (existsSync(join(old, META_FILE))) return { dir: old, recovered: true };
    if (candidate === abs && existsSync(abs) && !statSync(abs).isDirectory()) return null;
  }
  return null;
}

/** Whether `dir` (or its crash-recovery sibling) holds a checkpoint. */
export function checkpointExists(dir: string): boolean {
  const { old } = siblings(dir);
  return existsSync(join(resolve(dir), META_FILE)) || existsSync(join(old, META_FILE));
}

async function readOrFail(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CheckpointError(`checkpoint: ${what} is missing: ${path}`);
    throw new CheckpointError(`checkpoint: cannot read ${path} (${code ?? (e as Error).message})`);
  }
}

/** Read just `checkpoint.json` (validated), e.g. to show what a checkpoint holds. */
export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  const ck = await loadCheckpoint(dir, { skipOptimizer: true });
  return ck.meta;
}

/**
 * Load and validate a checkpoint directory. Errors (a `CheckpointError`) say which file is missing or corrupt.
 * If `dir` has no `checkpoint.json` but an interrupted save left the previous checkpoint in `.NAME.old`, that is
 * loaded instead.
 */
export async function loadCheckpoint(dir: string, options: { skipOptimizer?: boolean } = {}): Promise<Checkpoint> {
  let abs = resolve(dir);
  if (!existsSync(abs) || !existsSync(join(abs, META_FILE))) {
    const { old } = siblings(dir);
    if (existsSync(join(old, META_FILE))) abs = old;
    else if (!existsSync(abs)) throw new CheckpointError(`checkpoint: directory not found: ${dir}`);
    else if (!statSync(abs).isDirectory()) throw new CheckpointError(`checkpoint: ${dir} is not a directory (a checkpoint is a directory with ${META_FILE}, ${MODEL_FILE} and ${OPTIMIZER_FILE})`);
    else throw new CheckpointError(`checkpoint: ${META_FILE} is missing in ${dir} (not a checkpoint directory?)`);
  }
  const metaPath = join(abs, META_FILE);
  // Bounded before it is read: a 190 MB checkpoint.json took 1.1 GB and 13 s to parse, and the tensors are never in it.
  let metaSize = 0;
  try { metaSize = statSync(metaPath).size; } catch { /* readOrFail words it */ }
  if (metaSize > MAX_META_BYTES) {
    throw new CheckpointError(`checkpoint: ${metaPath} is ${metaSize} bytes, more than a ${META_FILE} may hold (${MAX_META_BYTES}; the tensors are in the .safetensors files): damaged or not a convkit checkpoint`);
  }
  const text = new TextDecoder().decode(await readOrFail(metaPath, META_FILE));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`checkpoint: ${metaPath} is not valid JSON (${(e as Error).message})`);
  }
  const fileTable = (json as { files?: Record<string, { bytes?: number; sha256?: string }> } | null)?.files ?? {};
  const check = (file: string, bytes: Uint8Array): void => {
    const expected = fileTable[file];
    if (!expected) return;
    if (expected.bytes !== undefined && expected.bytes !== bytes.length) {
      // describeJsonValue: a template string would join a 100,000-deep array recursively (stack overflow).
      throw new CheckpointError(`checkpoint: ${join(abs, file)} is ${bytes.length} bytes but ${META_FILE} says ${describeJsonValue(expected.bytes)} (truncated or replaced)`);
    }
    if (expected.sha256 !== undefined && expected.sha256 !== sha256(bytes)) {
      throw new CheckpointError(`checkpoint: ${join(abs, file)} does not match the SHA-256 in ${META_FILE} (corrupt or from another save)`);
    }
  };
  const modelBytes = await readOrFail(join(abs, MODEL_FILE), MODEL_FILE);
  check(MODEL_FILE, modelBytes);
  let optBytes: Uint8Array | null = null;
  const hasOptimizer = (json as { optimizerState?: unknown } | null)?.optimizerState != null;
  if (hasOptimizer && !options.skipOptimizer) {
    optBytes = await readOrFail(join(abs, OPTIMIZER_FILE), OPTIMIZER_FILE);
    check(OPTIMIZER_FILE, optBytes);
  }
  const jsonForDecode = options.skipOptimizer && json && typeof json === 'object' ? { ...(json as object), optimizerState: null } : json;
  try {
    return decodeCheckpoint(jsonForDecode, modelBytes, optBytes, abs);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    // Safetensors errors already name the file; wrap them so callers can catch one error type.
    throw new CheckpointError((e as Error).message);
  }
}
