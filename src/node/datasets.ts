/**
 * Fashion-MNIST and MNIST from disk, download, or the real subset shipped inside the package.
 *
 * Where a split's files come from, first match wins:
 *  1. `dataDir` (the CLI's `--data DIR`): must contain the files, else an error (an explicit path never falls through);
 *  2. the `CONVKIT_DATA` environment variable;
 *  3. Debian's `dataset-fashion-mnist` package: /usr/share/datasets/fashion-mnist/ (Fashion-MNIST only);
 *  4. the cache: `$XDG_CACHE_HOME/convkit/<name>` or `~/.cache/convkit/<name>`;
 *  5. the official download, checked by the .gz md5 and written atomically into the cache
 *     (off with `download: false` or `CONVKIT_OFFLINE=1`; a short timeout);
 *  6. Fashion-MNIST only: the embedded real subset (2,000 train / 1,000 test images with their real labels).
 *
 * In a folder, each file is found as `<name>.gz`, `<name>` (raw) or `<name with .idx>` (e.g.
 * `train-images.idx3-ubyte`), in the folder itself, in `<folder>/<dataset>`, or in torchvision's
 * `<folder>/FashionMNIST/raw` / `<folder>/MNIST/raw`.
 *
 * @example
 * const train = await loadFashionMnist({ split: 'train' });
 * console.log(train.length, train.source.kind); // 60000 'debian'
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BUILTIN_DATASETS, EMBEDDED_SUBSET, isBuiltinDatasetName,
  type BuiltinDatasetInfo, type BuiltinDatasetName, type IdxFileInfo, type Split,
} from '../data/catalog.js';
import { ImageDataset, type DatasetSource } from '../data/dataset.js';
import { checkSameCount, IdxFormatError, parseIdxImages, parseIdxLabels } from '../data/idx.js';
import { md5Hex, readIdxImagesFile, readIdxLabelsFile, readMaybeGzip } from './dataFiles.js';
import { downloadFile, DownloadError } from './dataDownload.js';

export type DatasetSourceKind = 'data-dir' | 'env' | 'debian' | 'cache' | 'download' | 'embedded-subset';

export interface DatasetSourceOptions {
  /** A folder holding the IDX files (the CLI's `--data DIR`). Takes precedence over everything. */
  dataDir?: string;
  /** Allow the official download (default: true, unless the environment has CONVKIT_OFFLINE=1). */
  download?: boolean;
  /** Use the embedded subset when nothing else is available (default true; Fashion-MNIST only). */
  allowSubset?: boolean;
  /** Override the cache folder for this dataset (default `$XDG_CACHE_HOME|~/.cache` + `/convkit/<name>`). */
  cacheDir?: string;
  /** Environment to read CONVKIT_DATA / CONVKIT_OFFLINE / XDG_CACHE_HOME from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Override the Debian folder (null: do not look there). Mostly for tests. */
  debianDir?: string | null;
  /** Override the download base URLs (each gets `<file>.gz` appended). Mostly for tests. */
  mirrors?: readonly string[];
  /**
   * Override the expected md5 of downloaded files, keyed by file name (`train-images-idx3-ubyte.gz`).
   * The official checksums are used otherwise. Mostly for tests against a local server.
   */
  checksums?: Readonly<Record<string, string>>;
  /** Download timeout per file in ms (default 15000). */
  timeoutMs?: number;
  /** Where warnings go (default console.warn). */
  onWarning?: (message: string) => void;
  /** Where progress notes go (e.g. "downloading ..."); default: nowhere. */
  onInfo?: (message: string) => void;
}

export interface LoadDatasetOptions extends DatasetSourceOptions {
  /** 'train' (default) or 'test'. */
  split?: Split;
  /** Check the decompressed content against the known md5 (Fashion-MNIST full files only; default true). */
  verifyContent?: boolean;
}

/** Where one split resolves to. */
export interface ResolvedSplit {
  dataset: BuiltinDatasetName;
  split: Split;
  kind: DatasetSourceKind;
  /** The folder, or for a planned download the first URL. */
  location: string;
  imagesPath: string;
  labelsPath: string;
  /** Number of examples this source provides. */
  count: number;
}

/** A row of `describeDatasetSources()`. */
export interface DatasetSourceReport {
  dataset: BuiltinDatasetName;
  split: Split;
  /** The source that would be used now, or 'missing'. */
  kind: DatasetSourceKind | 'missing';
  location: string;
  count: number;
  note: string;
}

/** No file, no download, no subset: what was tried is in the message. */
export class DatasetNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetNotFoundError';
  }
}

/** Md5 of the decompressed official Fashion-MNIST files (the Debian package recompresses, so .gz md5s differ). */
const FASHION_CONTENT_MD5: Record<string, string> = {
  'train-images-idx3-ubyte': 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
  'train-labels-idx1-ubyte': '9018921c3c673c538a1fc5bad174d6f9',
  't10k-images-idx3-ubyte': '8181f5470baa50b63fa0f6fddb340f0a',
  't10k-labels-idx1-ubyte': '15d484375f8d13e6eb1aabb0c3f46965',
};

const TORCHVISION_FOLDER: Record<BuiltinDatasetName, string> = { 'fashion-mnist': 'FashionMNIST', mnist: 'MNIST' };

/** The folder of the embedded Fashion-MNIST subset (works from src/node via tsx and from dist/node). */
export function embeddedSubsetDir(): string {
  return fileURLToPath(new URL('../../data/fashion-mnist-subset/', import.meta.url));
}

/** The cache folder for a dataset: `$XDG_CACHE_HOME/convkit/<name>` or `~/.cache/convkit/<name>`. */
export function datasetCacheDir(name: BuiltinDatasetName, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.length > 0 ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache');
  return join(base, 'convkit', name);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function fileNameVariants(file: IdxFileInfo): string[] {
  const dotted = file.baseName.replace(/-idx(\d)-ubyte$/, '.idx$1-ubyte');
  return [`${file.baseName}.gz`, file.baseName, `${dotted}.gz`, dotted];
}

/** Find a split's image and label files under `root` (see the module comment for the layouts tried). */
export function findSplitFiles(root: string, info: BuiltinDatasetInfo, split: Split): { dir: string; imagesPath: string; labelsPath: string } | null {
  const dirs = [root, join(root, info.name), join(root, TORCHVISION_FOLDER[info.name], 'raw')];
  const { images, labels } = info.splits[split];
  for (const dir of dirs) {
    const imagesPath = fileNameVariants(images).map((f) => join(dir, f)).find(isFile);
    const labelsPath = fileNameVariants(labels).map((f) => join(dir, f)).find(isFile);
    if (imagesPath && labelsPath) return { dir, imagesPath, labelsPath };
  }
  return null;
}

function getInfo(name: string): BuiltinDatasetInfo {
  if (!isBuiltinDatasetName(name)) {
    throw new DatasetNotFoundError(`unknown dataset '${name}' (built in: ${Object.keys(BUILTIN_DATASETS).join(', ')}; or give a folder of images)`);
  }
  return BUILTIN_DATASETS[name];
}

function downloadAllowed(options: DatasetSourceOptions): boolean {
  const env = options.env ?? process.env;
  if (options.download !== undefined) return options.download;
  return !(env.CONVKIT_OFFLINE && env.CONVKIT_OFFLINE !== '0' && env.CONVKIT_OFFLINE.toLowerCase() !== 'false');
}

/**
 * The first local source of a split (data dir, env, Debian, cache), or null.
 * An explicit `dataDir` without the files is an error naming what was looked for.
 */
export function resolveLocalSplit(name: BuiltinDatasetName, split: Split, options: DatasetSourceOptions = {}): ResolvedSplit | null {
  const info = getInfo(name);
  const env = options.env ?? process.env;
  const count = info.splits[split].count;
  const make = (kind: DatasetSourceKind, found: { dir: string; imagesPath: string; labelsPath: string }): ResolvedSplit => ({
    dataset: name, split, kind, location: found.dir, imagesPath: found.imagesPath, labelsPath: found.labelsPath, count,
  });
  if (options.dataDir !== undefined) {
    const dir = resolve(options.dataDir);
    if (!existsSync(dir)) throw new DatasetNotFoundError(`--data ${options.dataDir}: no such folder`);
    const found = findSplitFiles(dir, info, split);
    if (!found) {
      const { images, labels } = info.splits[split];
      throw new DatasetNotFoundError(
        `--data ${options.dataDir}: no ${info.title} ${split} files there (looked for ${images.baseName}[.gz] and ${labels.baseName}[.gz] in ${dir}, ${join(dir, info.name)} and ${join(dir, TORCHVISION_FOLDER[name], 'raw')})`,
      );
    }
    return make('data-dir', found);
  }
  const envDir = env.CONVKIT_DATA;
  if (envDir) {
    const found = findSplitFiles(resolve(envDir), info, split);
    if (found) return make('env', found);
  }
  const debianDir = options.debianDir === undefined ? info.debianDir : options.debianDir;
  if (debianDir) {
    const found = findSplitFiles(debianDir, info, split);
    if (found) return make('debian', found);
  }
  const cacheDir = options.cacheDir ?? datasetCacheDir(name, env);
  const found = findSplitFiles(cacheDir, info, split);
  if (found) return make('cache', found);
  return null;
}

function embeddedSplit(split: Split): ResolvedSplit {
  const dir = embeddedSubsetDir();
  const found = findSplitFiles(dir, BUILTIN_DATASETS['fashion-mnist'], split);
  if (!found) throw new DatasetNotFoundError(`the embedded Fashion-MNIST subset is missing from the package (${dir}); reinstall convkit`);
  return { dataset: 'fashion-mnist', split, kind: 'embedded-subset', location: dir, imagesPath: found.imagesPath, labelsPath: found.labelsPath, count: EMBEDDED_SUBSET[split] };
}

/**
 * Download a split's two files into the cache (md5-checked, atomic), trying each mirror in turn.
 * Returns the resolved cache source, or throws a DownloadError describing the last failure.
 */
export async function downloadSplit(name: BuiltinDatasetName, split: Split, options: DatasetSourceOptions = {}): Promise<ResolvedSplit> {
  const info = getInfo(name);
  const env = options.env ?? process.env;
  const cacheDir = options.cacheDir ?? datasetCacheDir(name, env);
  const mirrors = options.mirrors ?? info.mirrors;
  const { images, labels } = info.splits[split];
  for (const file of [images, labels]) {
    const dest = join(cacheDir, `${file.baseName}.gz`);
    if (isFile(dest)) continue;
    let lastError: Error | null = null;
    for (const mirror of mirrors) {
      const url = new URL(`${file.baseName}.gz`, mirror.endsWith('/') ? mirror : mirror + '/').href;
      options.onInfo?.(`downloading ${url} -> ${dest}`);
      try {
        const md5 = options.checksums?.[`${file.baseName}.gz`] ?? file.gzMd5;
        await downloadFile(url, dest, { md5, timeoutMs: options.timeoutMs ?? 15000 });
        lastError = null;
        break;
      } catch (err) {
        lastError = err as Error;
      }
    }
    if (lastError) throw lastError;
  }
  const found = findSplitFiles(cacheDir, info, split);
  if (!found) throw new DownloadError(mirrors[0] ?? '', `downloaded files not found in ${cacheDir}`);
  return { dataset: name, split, kind: 'download', location: found.dir, imagesPath: found.imagesPath, labelsPath: found.labelsPath, count: info.splits[split].count };
}

/** Resolve where a split comes from, downloading if needed and allowed (see the module comment for the order). */
export async function resolveSplit(name: BuiltinDatasetName, split: Split, options: DatasetSourceOptions = {}): Promise<ResolvedSplit> {
  const info = getInfo(name);
  const local = resolveLocalSplit(name, split, options);
  if (local) return local;
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const tried: string[] = [];
  if (downloadAllowed(options)) {
    try {
      return await downloadSplit(name, split, options);
    } catch (err) {
      tried.push(`download failed: ${(err as Error).message}`);
    }
  } else {
    tried.push('downloads are off (download: false or CONVKIT_OFFLINE=1)');
  }
  if (name === 'fashion-mnist' && (options.allowSubset ?? true)) {
    warn(
      `convkit: full ${info.title} ${split} set not found (${tried.join('; ')}); using the embedded real subset ` +
        `(${EMBEDDED_SUBSET[split]} images). Install it with 'apt-get install dataset-fashion-mnist', set CONVKIT_DATA, or pass --data DIR.`,
    );
    return embeddedSplit(split);
  }
  const env = options.env ?? process.env;
  throw new DatasetNotFoundError(
    `${info.title} ${split} files not found: looked in ${env.CONVKIT_DATA ? `CONVKIT_DATA=${env.CONVKIT_DATA}, ` : ''}` +
      `${info.debianDir ? info.debianDir + ', ' : ''}the cache ${options.cacheDir ?? datasetCacheDir(name, env)}; ${tried.join('; ')}. ` +
      `Put ${info.splits[split].images.baseName}.gz and ${info.splits[split].labels.baseName}.gz in a folder and pass --data DIR (or set CONVKIT_DATA).`,
  );
}

/** Load the files of a resolved split into an ImageDataset (validating everything). */
export function loadResolvedSplit(resolved: ResolvedSplit, options: { verifyContent?: boolean; onWarning?: (message: string) => void } = {}): ImageDataset {
  const info = BUILTIN_DATASETS[resolved.dataset];
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const imageBytes = readMaybeGzip(resolved.imagesPath);
  const labelBytes = readMaybeGzip(resolved.labelsPath);
  const images = parseIdxImages(imageBytes, resolved.imagesPath);
  const labels = parseIdxLabels(labelBytes, resolved.labelsPath, info.classNames.length);
  checkSameCount(images, resolved.imagesPath, labels, resolved.labelsPath);
  if (images.height !== info.height || images.width !== info.width) {
    throw new IdxFormatError(resolved.imagesPath, `images are ${images.height}x${images.width}, expected ${info.height}x${info.width} for ${info.title}`);
  }
  if (images.count !== resolved.count) {
    throw new IdxFormatError(
      resolved.imagesPath,
      `wrong count: ${images.count} images, expected ${resolved.count} for the ${info.title} ${resolved.split} ${resolved.kind === 'embedded-subset' ? 'subset' : 'set'}`,
    );
  }
  if (resolved.dataset === 'fashion-mnist' && resolved.kind !== 'embedded-subset' && (options.verifyContent ?? true)) {
    const s = info.splits[resolved.split];
    for (const [file, bytes, path] of [[s.images, imageBytes, resolved.imagesPath], [s.labels, labelBytes, resolved.labelsPath]] as const) {
      const want = FASHION_CONTENT_MD5[file.baseName];
      const got = md5Hex(bytes);
      if (want && got !== want) warn(`convkit: ${path}: content md5 ${got} differs from the official Fashion-MNIST file (${want}); using it anyway`);
    }
  }
  const source: DatasetSource = { kind: resolved.kind, location: resolved.location, isSubset: resolved.kind === 'embedded-subset' };
  return new ImageDataset({
    images: images.pixels.slice(), // own copy, detached from the decompression buffer
    labels,
    channels: 1,
    height: images.height,
    width: images.width,
    classNames: info.classNames,
    name: `${resolved.dataset}/${resolved.split}${resolved.kind === 'embedded-subset' ? ' (embedded subset)' : ''}`,
    source,
  });
}

export { readIdxImagesFile, readIdxLabelsFile };

/** Load a built-in dataset split by name ('fashion-mnist' or 'mnist'). */
export async function loadBuiltinDataset(name: string, options: LoadDatasetOptions = {}): Promise<ImageDataset> {
  const info = getInfo(name);
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new DatasetNotFoundError(`${info.title}: split must be 'train' or 'test', got '${String(split)}'`);
  const resolved = await resolveSplit(info.name, split, options);
  return loadResolvedSplit(resolved, options);
}

/**
 * Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; MIT): 28x28 grayscale, 10 classes, 60k train / 10k test,
 * or the embedded 2k/1k real subset when the full files are not available.
 */
export function loadFashionMnist(options: LoadDatasetOptions = {}): Promise<ImageDataset> {
  return loadBuiltinDataset('fashion-mnist', options);
}

/** MNIST digits: 28x28 grayscale, 10 classes, 60k train / 10k test. No embedded fallback. */
export function loadMnist(options: LoadDatasetOptions = {}): Promise<ImageDataset> {
  return loadBuiltinDataset('mnist', options);
}

/** The embedded real Fashion-MNIST subset (2,000 train / 1,000 test), regardless of other sources. */
export function loadEmbeddedFashionMnist(split: Split = 'train'): ImageDataset {
  return loadResolvedSplit(embeddedSplit(split));
}

/**
 * Which source each built-in dataset and split resolves to right now, without touching the network
 * (for `convkit datasets`). A split that would be downloaded is reported as 'download' with its URL.
 */
export function describeDatasetSources(options: DatasetSourceOptions = {}): DatasetSourceReport[] {
  const rows: DatasetSourceReport[] = [];
  for (const info of Object.values(BUILTIN_DATASETS)) {
    for (const split of ['train', 'test'] as const) {
      const base = { dataset: info.name, split };
      let local: ResolvedSplit | null;
      try {
        local = resolveLocalSplit(info.name, split, options);
      } catch (err) {
        rows.push({ ...base, kind: 'missing', location: options.dataDir ?? '', count: 0, note: (err as Error).message });
        continue;
      }
      if (local) {
        rows.push({ ...base, kind: local.kind, location: local.location, count: local.count, note: 'full dataset' });
      } else if (downloadAllowed(options)) {
        const mirror = (options.mirrors ?? info.mirrors)[0] ?? '';
        const cache = options.cacheDir ?? datasetCacheDir(info.name, options.env ?? process.env);
        rows.push({
          ...base, kind: 'download', location: mirror, count: info.splits[split].count,
          note: `would download on first use into ${cache}${info.name === 'fashion-mnist' ? ' (embedded subset if that fails)' : ''}`,
        });
      } else if (info.name === 'fashion-mnist' && (options.allowSubset ?? true)) {
        rows.push({ ...base, kind: 'embedded-subset', location: embeddedSubsetDir(), count: EMBEDDED_SUBSET[split], note: 'real subset shipped in the package (downloads are off)' });
      } else {
        rows.push({ ...base, kind: 'missing', location: '', count: 0, note: 'no files found and downloads are off; use --data DIR or CONVKIT_DATA' });
      }
    }
  }
  return rows;
}

/** `describeDatasetSources()` as a plain-text table (one line per dataset and split). */
export function formatDatasetSources(rows: readonly DatasetSourceReport[] = describeDatasetSources()): string {
  const header = ['dataset', 'split', 'source', 'images', 'location'];
  const body = rows.map((r) => [r.dataset, r.split, r.kind, r.count ? String(r.count) : '-', r.location || '-']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const notes = rows.filter((r) => r.kind === 'missing' || r.kind === 'download' || r.kind === 'embedded-subset').map((r) => `  ${r.dataset}/${r.split}: ${r.note}`);
  return [line(header), ...body.map(line), ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}
